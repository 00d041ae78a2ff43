//! A small blocking D-Bus client: just what the systemd driver calls (method
//! calls with strings, booleans, u32/u64 and byte arrays, and `a(sv)` property
//! lists; replies of `o`, `s` or `v`). One unix socket, no threads, no async
//! runtime — so a process that used it may still clone, and the runtime binary
//! stays small (youki wrote its own client for the same reasons:
//! crates/libcgroups/src/systemd/dbus_native).
//!
//! Wire format: the D-Bus specification, "Message Protocol". We send
//! little-endian messages and accept only little-endian replies (the bus daemon
//! answers in its own byte order, little-endian on every host berth builds for).

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The system bus socket when `DBUS_SYSTEM_BUS_ADDRESS` does not name one.
const SYSTEM_BUS: &str = "/run/dbus/system_bus_socket";
/// A reply slower than this is an error, not a hang.
const TIMEOUT: Duration = Duration::from_secs(25);

const METHOD_CALL: u8 = 1;
const METHOD_RETURN: u8 = 2;
const ERROR: u8 = 3;

#[derive(Debug, thiserror::Error)]
pub enum DbusError {
    #[error("connect to {path:?}")]
    Connect {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("talk to the bus")]
    Io(#[from] std::io::Error),
    #[error("authenticate: the bus answered {0:?}")]
    Auth(String),
    /// The callee's error reply: its name (`org.freedesktop.systemd1.NoSuchUnit`)
    /// and message.
    #[error("{name}: {message}")]
    Method { name: String, message: String },
    #[error("malformed message: {0}")]
    Protocol(&'static str),
}

/// A value in a variant (`v`), as systemd's unit properties take them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Str(String),
    Bool(bool),
    U64(u64),
    U32s(Vec<u32>),
    Bytes(Vec<u8>),
}

impl Value {
    fn signature(&self) -> &'static str {
        match self {
            Value::Str(_) => "s",
            Value::Bool(_) => "b",
            Value::U64(_) => "t",
            Value::U32s(_) => "au",
            Value::Bytes(_) => "ay",
        }
    }
}

/// A method argument.
pub enum Arg<'a> {
    Str(&'a str),
    Bool(bool),
    /// `a(sv)`: unit properties.
    Props(&'a [(&'a str, Value)]),
    /// `a(sa(sv))`: auxiliary units (always empty here).
    NoAux,
}

impl Arg<'_> {
    fn signature(&self) -> &'static str {
        match self {
            Arg::Str(_) => "s",
            Arg::Bool(_) => "b",
            Arg::Props(_) => "a(sv)",
            Arg::NoAux => "a(sa(sv))",
        }
    }
}

/// Marshalling into a buffer whose offset 0 is 8-aligned.
#[derive(Default)]
struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn pad(&mut self, align: usize) {
        while !self.buf.len().is_multiple_of(align) {
            self.buf.push(0);
        }
    }

    fn u32(&mut self, v: u32) {
        self.pad(4);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    fn u64(&mut self, v: u64) {
        self.pad(8);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }

    fn sig(&mut self, s: &str) {
        self.buf.push(s.len() as u8);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }

    /// An array: its byte length, padding to the element alignment (not
    /// counted), then the elements.
    fn array(&mut self, elem_align: usize, body: impl FnOnce(&mut Writer)) {
        self.pad(4);
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
        self.pad(elem_align);
        let start = self.buf.len();
        body(self);
        let len = (self.buf.len() - start) as u32;
        self.buf[at..at + 4].copy_from_slice(&len.to_le_bytes());
    }

    fn value(&mut self, v: &Value) {
        match v {
            Value::Str(s) => self.str(s),
            Value::Bool(b) => self.u32(*b as u32),
            Value::U64(n) => self.u64(*n),
            Value::U32s(list) => self.array(4, |w| list.iter().for_each(|n| w.u32(*n))),
            Value::Bytes(b) => self.array(1, |w| w.buf.extend_from_slice(b)),
        }
    }

    fn arg(&mut self, a: &Arg<'_>) {
        match a {
            Arg::Str(s) => self.str(s),
            Arg::Bool(b) => self.u32(*b as u32),
            Arg::Props(props) => self.array(8, |w| {
                for (name, v) in props.iter() {
                    w.pad(8);
                    w.str(name);
                    w.sig(v.signature());
                    w.value(v);
                }
            }),
            Arg::NoAux => self.array(8, |_| {}),
        }
    }
}

/// Unmarshalling from a message, with offsets relative to its 8-aligned start.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn align(&mut self, n: usize) {
        self.pos = self.pos.div_ceil(n) * n;
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DbusError> {
        let s = self.buf.get(self.pos..self.pos + n).ok_or(DbusError::Protocol("truncated"))?;
        self.pos += n;
        Ok(s)
    }

    fn u32(&mut self) -> Result<u32, DbusError> {
        self.align(4);
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn str(&mut self) -> Result<String, DbusError> {
        let len = self.u32()? as usize;
        let s = String::from_utf8_lossy(self.take(len)?).into_owned();
        self.take(1)?;
        Ok(s)
    }

    fn sig(&mut self) -> Result<String, DbusError> {
        let len = self.take(1)?[0] as usize;
        let s = String::from_utf8_lossy(self.take(len)?).into_owned();
        self.take(1)?;
        Ok(s)
    }

    /// A single value of a basic type or string, as text (numbers too).
    fn basic(&mut self, sig: &str) -> Result<String, DbusError> {
        match sig {
            "s" | "o" => self.str(),
            "g" => self.sig(),
            "u" | "b" => Ok(self.u32()?.to_string()),
            _ => Err(DbusError::Protocol("unexpected type in a reply")),
        }
    }
}

/// A reply: the text of its first argument (`o`, `s`, or a `v` holding one).
#[derive(Debug)]
pub struct Reply {
    pub first: Option<String>,
}

/// A connection to one bus, authenticated and registered (Hello).
pub struct Bus {
    stream: BufReader<UnixStream>,
    serial: u32,
}

impl Bus {
    /// The system bus.
    pub fn system() -> Result<Bus, DbusError> {
        let from_env = std::env::var("DBUS_SYSTEM_BUS_ADDRESS").ok();
        let path = from_env.as_deref().and_then(|a| a.strip_prefix("unix:path=")).unwrap_or(SYSTEM_BUS);
        Bus::connect(Path::new(path.split(',').next().unwrap_or(path)))
    }

    /// The bus listening on the unix socket `path`.
    pub fn connect(path: &Path) -> Result<Bus, DbusError> {
        let stream =
            UnixStream::connect(path).map_err(|source| DbusError::Connect { path: path.to_path_buf(), source })?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        let mut bus = Bus { stream: BufReader::new(stream), serial: 0 };
        bus.authenticate()?;
        bus.call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello", &[])?;
        Ok(bus)
    }

    /// SASL EXTERNAL with our uid, the only mechanism the system bus offers.
    fn authenticate(&mut self) -> Result<(), DbusError> {
        let uid = nix::unistd::Uid::effective().as_raw().to_string();
        let hex: String = uid.bytes().map(|b| format!("{b:02x}")).collect();
        self.stream.get_mut().write_all(format!("\0AUTH EXTERNAL {hex}\r\n").as_bytes())?;
        let mut line = String::new();
        self.stream.read_line(&mut line)?;
        if !line.starts_with("OK ") {
            return Err(DbusError::Auth(line.trim_end().to_string()));
        }
        self.stream.get_mut().write_all(b"BEGIN\r\n")?;
        Ok(())
    }

    /// Call `member` and wait for its reply; an error reply is `DbusError::Method`.
    pub fn call(
        &mut self,
        dest: &str,
        path: &str,
        interface: &str,
        member: &str,
        args: &[Arg<'_>],
    ) -> Result<Reply, DbusError> {
        self.serial += 1;
        let serial = self.serial;
        let msg = encode(serial, dest, path, interface, member, args);
        self.stream.get_mut().write_all(&msg)?;
        loop {
            let (kind, reply_to, error_name, sig, body) = self.read_message()?;
            // Signals and others' replies (none are expected) are skipped.
            if reply_to != Some(serial) {
                continue;
            }
            let mut r = Reader { buf: &body, pos: 0 };
            let first = match sig.chars().next() {
                None => None,
                Some('v') => {
                    let inner = r.sig()?;
                    Some(r.basic(&inner)?)
                }
                Some(c) => Some(r.basic(&c.to_string())?),
            };
            return match kind {
                METHOD_RETURN => Ok(Reply { first }),
                ERROR => {
                    Err(DbusError::Method { name: error_name.unwrap_or_default(), message: first.unwrap_or_default() })
                }
                _ => Err(DbusError::Protocol("a reply that is neither a return nor an error")),
            };
        }
    }

    /// One message: (type, reply serial, error name, body signature, body).
    #[allow(clippy::type_complexity)]
    fn read_message(&mut self) -> Result<(u8, Option<u32>, Option<String>, String, Vec<u8>), DbusError> {
        let mut fixed = [0u8; 16];
        self.stream.read_exact(&mut fixed)?;
        if fixed[0] != b'l' {
            return Err(DbusError::Protocol("big-endian message"));
        }
        let body_len = u32::from_le_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]) as usize;
        let fields_len = u32::from_le_bytes([fixed[12], fixed[13], fixed[14], fixed[15]]) as usize;
        if body_len > 1 << 26 || fields_len > 1 << 26 {
            return Err(DbusError::Protocol("message too long"));
        }
        let mut rest = vec![0u8; fields_len.div_ceil(8) * 8 + body_len];
        self.stream.read_exact(&mut rest)?;
        let mut header = fixed.to_vec();
        header.extend_from_slice(&rest[..fields_len]);
        let (mut reply_to, mut error_name, mut sig) = (None, None, String::new());
        let mut r = Reader { buf: &header, pos: 16 };
        while r.pos < header.len() {
            r.align(8);
            let code = r.take(1)?[0];
            let vsig = r.sig()?;
            let v = r.basic(&vsig)?;
            match code {
                4 => error_name = Some(v),
                5 => reply_to = v.parse().ok(),
                8 => sig = v,
                _ => {}
            }
        }
        let body = rest[fields_len.div_ceil(8) * 8..].to_vec();
        Ok((fixed[1], reply_to, error_name, sig, body))
    }
}

/// A method call message, little-endian, flags 0.
fn encode(serial: u32, dest: &str, path: &str, interface: &str, member: &str, args: &[Arg<'_>]) -> Vec<u8> {
    let mut body = Writer::default();
    for a in args {
        body.arg(a);
    }
    let signature: String = args.iter().map(Arg::signature).collect();
    let mut m = Writer::default();
    m.buf.extend_from_slice(&[b'l', METHOD_CALL, 0, 1]);
    m.u32(body.buf.len() as u32);
    m.u32(serial);
    m.array(8, |w| {
        let mut field = |code: u8, sig: &str, value: &str| {
            w.pad(8);
            w.buf.push(code);
            w.sig(sig);
            if sig == "g" { w.sig(value) } else { w.str(value) }
        };
        field(1, "o", path);
        field(2, "s", interface);
        field(3, "s", member);
        field(6, "s", dest);
        if !signature.is_empty() {
            field(8, "g", &signature);
        }
    });
    m.pad(8);
    m.buf.extend_from_slice(&body.buf);
    m.buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_is_marshalled_as_the_specification_says() {
        let props = [("Delegate", Value::Bool(true)), ("PIDs", Value::U32s(vec![7]))];
        let m = encode(3, "d", "/p", "i", "M", &[Arg::Str("u"), Arg::Props(&props)]);
        // Fixed header: little-endian, method call, no flags, version 1, body
        // length, serial 3.
        assert_eq!(&m[..4], &[b'l', 1, 0, 1]);
        assert_eq!(u32::from_le_bytes(m[8..12].try_into().unwrap()), 3);
        let body_len = u32::from_le_bytes(m[4..8].try_into().unwrap()) as usize;
        let body = &m[m.len() - body_len..];
        assert_eq!((m.len() - body_len) % 8, 0, "the body starts 8-aligned");
        // "u": length 1, 'u', NUL; pad to 4; the array's length; pad to 8; the
        // first struct: "Delegate", signature "b", true.
        assert_eq!(&body[..6], &[1, 0, 0, 0, b'u', 0]);
        let array_len = u32::from_le_bytes(body[8..12].try_into().unwrap()) as usize;
        assert_eq!(&body[16..20], &8u32.to_le_bytes());
        assert_eq!(&body[20..29], b"Delegate\0");
        assert_eq!(&body[29..32], &[1, b'b', 0]);
        assert_eq!(&body[32..36], &1u32.to_le_bytes());
        assert_eq!(16 + array_len, body.len(), "array length counts from the first element");
        let text = String::from_utf8_lossy(&m);
        assert!(text.contains("sa(sv)"), "signature field");
    }

    #[test]
    fn a_variant_holding_a_string_is_read() {
        // Properties.Get's reply body: signature "s", then the string "active".
        let mut body = vec![1, b's', 0, 0];
        body.extend_from_slice(&6u32.to_le_bytes());
        body.extend_from_slice(b"active\0");
        let mut r = Reader { buf: &body, pos: 0 };
        let inner = r.sig().unwrap();
        assert_eq!(r.basic(&inner).unwrap(), "active");
    }

    /// A private dbus-daemon (Debian's `dbus` package) answers our calls: the
    /// framing, authentication, Hello, replies and error replies, end to end.
    #[test]
    fn calls_and_errors_against_a_real_bus_daemon() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("bus");
        let config = dir.path().join("bus.conf");
        std::fs::write(
            &config,
            format!(
                "<busconfig><type>session</type><listen>unix:path={}</listen><auth>EXTERNAL</auth>\
                 <policy context=\"default\"><allow send_destination=\"*\" eavesdrop=\"true\"/>\
                 <allow eavesdrop=\"true\"/><allow own=\"*\"/></policy></busconfig>",
                socket.display()
            ),
        )
        .unwrap();
        let mut daemon = std::process::Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .arg("--nofork")
            .spawn()
            .expect("dbus-daemon (apt-get install dbus)");
        for _ in 0..500 {
            if socket.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let result = (|| -> Result<(), DbusError> {
            let mut bus = Bus::connect(&socket)?;
            let (d, p, i) = ("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus");
            let id = bus.call(d, p, i, "GetId", &[])?.first.unwrap_or_default();
            assert_eq!(id.len(), 32, "{id:?}");
            let owner = bus.call(d, p, i, "GetNameOwner", &[Arg::Str("org.freedesktop.DBus")])?;
            assert_eq!(owner.first.as_deref(), Some("org.freedesktop.DBus"));
            match bus.call(d, p, i, "GetNameOwner", &[Arg::Str("org.example.Nobody")]) {
                Err(DbusError::Method { name, .. }) => assert_eq!(name, "org.freedesktop.DBus.Error.NameHasNoOwner"),
                other => panic!("expected an error reply, got {other:?}"),
            }
            Ok(())
        })();
        let _ = daemon.kill();
        let _ = daemon.wait();
        result.unwrap();
    }
}
