//! runc's command-line grammar, by hand: urfave/cli v1 (1.22) over Go's `flag`
//! package, which is what containerd's shim, conmon and docker speak to us.
//!
//! - A flag is `-name` or `--name`, its value `--name value` or `--name=value`; a
//!   boolean takes no separate value, only `--name=true|false` (Go's ParseBool).
//! - Parsing stops at the first argument that is not a flag (`-` is not one) and
//!   after `--`; a value flag takes the next argument whatever it looks like
//!   (`update --memory -1`).
//! - Before that, a command's known flags written after its positionals are moved
//!   in front of them (urfave's `reorderArgs`), except for `exec` and `ps`, whose
//!   trailing arguments belong to the process.
//! - A flag's short and long name given together is an error ("Cannot use two
//!   forms of the same flag"); a repeated value flag keeps its last value, a list
//!   flag every value.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

/// How a flag takes its value, and which Go `flag.Value` checks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `BoolFlag`: no separate value.
    Bool,
    /// `StringFlag`: the last value wins.
    Str,
    /// `IntFlag`: Go's `strconv.ParseInt(s, 0, 64)`.
    Int,
    /// `DurationFlag`: Go's `time.ParseDuration`.
    Duration,
    /// `StringSliceFlag`: every value, in order.
    StrList,
    /// `IntSliceFlag`: every value, in order.
    IntList,
}

/// One flag: its names as runc lists them (long first), and its kind.
#[derive(Debug)]
pub(crate) struct Flag {
    pub names: &'static [&'static str],
    pub kind: Kind,
}

pub(crate) const fn flag(names: &'static [&'static str], kind: Kind) -> Flag {
    Flag { names, kind }
}

/// urfave's `--help, -h`, which every command and the app have.
pub(crate) const HELP: Flag = flag(&["help", "h"], Kind::Bool);

/// The flags a command was given, and what is left after them.
#[derive(Debug)]
pub(crate) struct Matches {
    flags: &'static [Flag],
    /// Per flag (by index into `flags`): the values given, in order.
    values: Vec<Vec<OsString>>,
    /// Per flag: a bit per name that was used.
    used: Vec<u8>,
    help: bool,
    /// The positional arguments.
    pub rest: Vec<OsString>,
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Go's `strconv.ParseBool`, which urfave/cli uses for `--flag=VALUE`.
pub(crate) fn go_bool(s: &[u8]) -> Option<bool> {
    match s {
        b"1" | b"t" | b"T" | b"true" | b"TRUE" | b"True" => Some(true),
        b"0" | b"f" | b"F" | b"false" | b"FALSE" | b"False" => Some(false),
        _ => None,
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)`: an optional sign, then decimal, `0x`
/// hex, `0o`/`0` octal or `0b` binary, `_` allowed between digits after a base
/// prefix. `Err(true)` when out of range, `Err(false)` when not a number.
pub(crate) fn go_int(s: &str) -> Result<i64, bool> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d.to_string(), true)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d.to_string(), true)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d.to_string(), true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string(), true)
    } else {
        (10, lower.clone(), false)
    };
    let digits = if prefixed { digits.replace('_', "") } else { digits };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(false);
    }
    let magnitude = u64::from_str_radix(&digits, radix).map_err(|_| true)?;
    if neg { 0i64.checked_sub_unsigned(magnitude).ok_or(true) } else { i64::try_from(magnitude).map_err(|_| true) }
}

/// Go's `flag.Value.Set` for each kind: the error text Go's flag package puts
/// after "invalid value %q for flag -%s: ".
fn check(kind: Kind, value: &OsStr) -> Result<(), String> {
    let s = value.to_str();
    match kind {
        Kind::Bool | Kind::Str | Kind::StrList => Ok(()),
        // Go 1.19's flag package reduces strconv's error to these two words.
        Kind::Int => match s.map(go_int) {
            Some(Ok(_)) => Ok(()),
            Some(Err(true)) => Err("value out of range".into()),
            _ => Err("parse error".into()),
        },
        Kind::Duration => match s.map(super::events::parse_duration) {
            Some(Ok(_)) => Ok(()),
            _ => Err("parse error".into()),
        },
        // urfave's IntSlice returns strconv's own error.
        Kind::IntList => match s.map(go_int) {
            Some(Ok(_)) => Ok(()),
            Some(Err(true)) => {
                Err(format!("strconv.ParseInt: parsing {:?}: value out of range", lossy(value.as_bytes())))
            }
            _ => Err(format!("strconv.ParseInt: parsing {:?}: invalid syntax", lossy(value.as_bytes()))),
        },
    }
}

/// urfave's `argIsFlag`: `arg` names one of `flags` (or help).
fn names_a_flag(flags: &[Flag], arg: &[u8]) -> bool {
    if arg == b"-" || arg == b"--" || !arg.starts_with(b"-") {
        return false;
    }
    let arg = arg.strip_prefix(b"--").unwrap_or(arg);
    let arg = arg.strip_prefix(b"-").unwrap_or(arg);
    let name = arg.split(|&b| b == b'=').next().unwrap_or_default();
    flags.iter().chain([&HELP]).any(|f| f.names.iter().any(|n| n.as_bytes() == name))
}

/// urfave's `reorderArgs` (1.22.5): the command's flags, each with the argument
/// after it when that may be its value, moved in front of everything else; a
/// `--` that is no flag's value ends the reordering and goes first of the rest.
pub(crate) fn reorder(flags: &[Flag], args: Vec<OsString>) -> Vec<OsString> {
    let (mut front, mut rest) = (Vec::new(), Vec::new());
    let mut may_be_value = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let b = arg.as_bytes();
        if may_be_value && !names_a_flag(flags, b) {
            may_be_value = false;
            front.push(arg);
        } else if b == b"--" {
            rest.insert(0, arg);
            rest.extend(args.by_ref());
        } else if names_a_flag(flags, b) {
            may_be_value = !b.contains(&b'=');
            front.push(arg);
        } else {
            rest.push(arg);
        }
    }
    front.extend(rest);
    front
}

impl Matches {
    fn new(flags: &'static [Flag]) -> Matches {
        Matches {
            flags,
            values: vec![Vec::new(); flags.len()],
            used: vec![0; flags.len()],
            help: false,
            rest: Vec::new(),
        }
    }

    /// The flag called `name`: (index or `None` for help, name index).
    fn lookup(&self, name: &[u8]) -> Option<(Option<usize>, usize)> {
        if let Some(n) = HELP.names.iter().position(|n| n.as_bytes() == name) {
            return Some((None, n));
        }
        self.flags
            .iter()
            .enumerate()
            .find_map(|(i, f)| f.names.iter().position(|n| n.as_bytes() == name).map(|n| (Some(i), n)))
    }

    /// Go's `FlagSet.Parse` over `args`, then urfave's `normalizeFlags`. The
    /// error is Go's message.
    pub(crate) fn parse(flags: &'static [Flag], args: &[OsString]) -> Result<Matches, String> {
        let mut m = Matches::new(flags);
        let mut help_used = 0u8;
        let mut i = 0;
        while let Some(arg) = args.get(i) {
            let s = arg.as_bytes();
            if s.len() < 2 || s[0] != b'-' {
                break;
            }
            i += 1;
            if s == b"--" {
                break;
            }
            let body = if s[1] == b'-' { &s[2..] } else { &s[1..] };
            if body.is_empty() || body[0] == b'-' || body[0] == b'=' {
                return Err(format!("bad flag syntax: {}", lossy(s)));
            }
            let (name, inline) = match body[1..].iter().position(|&b| b == b'=') {
                Some(p) => (&body[..=p], Some(&body[p + 2..])),
                None => (body, None),
            };
            let Some((index, n)) = m.lookup(name) else {
                return Err(format!("flag provided but not defined: -{}", lossy(name)));
            };
            let kind = index.map_or(Kind::Bool, |i| flags[i].kind);
            let value = if kind == Kind::Bool {
                let v = match inline {
                    None => true,
                    Some(v) => go_bool(v).ok_or_else(|| {
                        format!("invalid boolean value {:?} for -{}: parse error", lossy(v), lossy(name))
                    })?,
                };
                OsString::from(if v { "true" } else { "false" })
            } else {
                let v = match inline {
                    Some(v) => OsStr::from_bytes(v).to_owned(),
                    None => {
                        let next = args.get(i).ok_or_else(|| format!("flag needs an argument: -{}", lossy(name)))?;
                        i += 1;
                        next.clone()
                    }
                };
                check(kind, &v)
                    .map_err(|e| format!("invalid value {:?} for flag -{}: {e}", lossy(v.as_bytes()), lossy(name)))?;
                v
            };
            match index {
                Some(i) => {
                    m.used[i] |= 1 << n;
                    m.values[i].push(value);
                }
                None => {
                    help_used |= 1 << n;
                    m.help = value == "true";
                }
            }
        }
        m.rest = args[i..].to_vec();
        for (f, used) in flags.iter().chain([&HELP]).zip(m.used.iter().copied().chain([help_used])) {
            two_forms(f, used)?;
        }
        Ok(m)
    }

    /// `-h`/`--help` was given (and not `=false`).
    pub(crate) fn help(&self) -> bool {
        self.help
    }

    fn index(&self, name: &str) -> usize {
        // Every caller names a flag of its own table: a typo is a bug caught by
        // the unit tests of each command's parser.
        self.flags.iter().position(|f| f.names[0] == name).unwrap_or_else(|| panic!("no flag {name}"))
    }

    /// A boolean flag's value (false when absent).
    pub(crate) fn bool(&self, name: &str) -> bool {
        self.values[self.index(name)].last().is_some_and(|v| v == "true")
    }

    /// A value flag's last value.
    pub(crate) fn os(&self, name: &str) -> Option<OsString> {
        self.values[self.index(name)].last().cloned()
    }

    /// A value flag's last value, which must be UTF-8.
    pub(crate) fn string(&self, name: &str) -> Result<Option<String>, String> {
        self.os(name).map(|v| utf8(name, v)).transpose()
    }

    /// A path flag's last value.
    pub(crate) fn path(&self, name: &str) -> Option<std::path::PathBuf> {
        self.os(name).map(Into::into)
    }

    /// The `i`th positional (the arity was checked), which must be UTF-8; an
    /// absent optional one is `None`.
    pub(crate) fn arg(&self, i: usize) -> Result<Option<String>, String> {
        self.rest.get(i).map(|v| v.clone().into_string().map_err(|v| not_utf8(v.as_bytes()))).transpose()
    }

    /// The positionals from the `i`th on, each UTF-8.
    pub(crate) fn args_from(&self, i: usize) -> Result<Vec<String>, String> {
        self.rest.iter().skip(i).map(|v| v.clone().into_string().map_err(|v| not_utf8(v.as_bytes()))).collect()
    }

    /// Every value of a list flag, each UTF-8.
    pub(crate) fn strings(&self, name: &str) -> Result<Vec<String>, String> {
        self.values[self.index(name)].iter().map(|v| utf8(name, v.clone())).collect()
    }

    /// A numeric flag's last value, converted to the type the command uses.
    pub(crate) fn number<T: TryFrom<i64>>(&self, name: &str) -> Result<Option<T>, String> {
        self.string(name)?.map(|s| number(name, &s)).transpose()
    }

    /// Every value of an integer list flag.
    pub(crate) fn numbers<T: TryFrom<i64>>(&self, name: &str) -> Result<Vec<T>, String> {
        self.strings(name)?.iter().map(|s| number(name, s)).collect()
    }
}

fn not_utf8(v: &[u8]) -> String {
    format!("argument {:?} is not valid UTF-8", lossy(v))
}

fn utf8(name: &str, v: OsString) -> Result<String, String> {
    v.into_string().map_err(|v| format!("invalid value {:?} for flag -{name}: not UTF-8", lossy(v.as_bytes())))
}

fn number<T: TryFrom<i64>>(name: &str, s: &str) -> Result<T, String> {
    let n = go_int(s).map_err(|range| {
        format!("invalid value {s:?} for flag -{name}: {}", if range { "value out of range" } else { "parse error" })
    })?;
    T::try_from(n).map_err(|_| format!("invalid value {s:?} for flag -{name}: value out of range"))
}

/// urfave's `normalizeFlags`: two names of one flag both used.
fn two_forms(f: &Flag, used: u8) -> Result<(), String> {
    let mut first: Option<&str> = None;
    for (n, name) in f.names.iter().enumerate() {
        if used & (1 << n) != 0 {
            if let Some(first) = first {
                return Err(format!("Cannot use two forms of the same flag: {name} {first}"));
            }
            first = Some(name);
        }
    }
    Ok(())
}

/// How many positionals a command takes (runc's `checkArgs`).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Arity {
    Exactly(usize),
    AtLeast(usize),
    Between(usize, usize),
    Any,
}

impl Arity {
    /// runc's message for a wrong count, without its "runc: " prefix.
    pub(crate) fn check(self, command: &str, n: usize) -> Result<(), String> {
        let (min, max) = match self {
            Arity::Exactly(k) if n != k => return Err(format!("{command:?} requires exactly {k} argument(s)")),
            Arity::AtLeast(k) => (k, usize::MAX),
            Arity::Between(lo, hi) => (lo, hi),
            _ => return Ok(()),
        };
        if n < min {
            return Err(format!("{command:?} requires a minimum of {min} argument(s)"));
        }
        if n > max {
            return Err(format!("{command:?} requires a maximum of {max} argument(s)"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLAGS: &[Flag] = &[
        flag(&["force", "f"], Kind::Bool),
        flag(&["bundle", "b"], Kind::Str),
        flag(&["env", "e"], Kind::StrList),
        flag(&["pids-limit"], Kind::Int),
        flag(&["additional-gids", "g"], Kind::IntList),
        flag(&["interval"], Kind::Duration),
    ];

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    fn parse(args: &[&str]) -> Result<Matches, String> {
        Matches::parse(FLAGS, &reorder(FLAGS, os(args)))
    }

    #[test]
    fn long_short_single_dash_and_equals_forms_all_set_a_flag() {
        for args in [&["--bundle", "x"][..], &["-bundle", "x"], &["--bundle=x"], &["-b", "x"], &["-b=x"]] {
            assert_eq!(parse(args).unwrap().string("bundle").unwrap().as_deref(), Some("x"), "{args:?}");
        }
        assert_eq!(parse(&["--bundle", "x", "--bundle=y"]).unwrap().string("bundle").unwrap().as_deref(), Some("y"));
        assert_eq!(parse(&["--bundle="]).unwrap().string("bundle").unwrap().as_deref(), Some(""));
    }

    #[test]
    fn booleans_take_go_bool_values_only_after_equals() {
        assert!(parse(&["--force"]).unwrap().bool("force"));
        assert!(parse(&["-f=true"]).unwrap().bool("force"));
        assert!(parse(&["-force=T"]).unwrap().bool("force"));
        assert!(!parse(&["--force=false"]).unwrap().bool("force"));
        assert!(!parse(&["--force=0", "id"]).unwrap().bool("force"));
        assert!(!parse(&[]).unwrap().bool("force"));
        // A separate word is a positional, not the flag's value.
        assert_eq!(parse(&["--force", "false"]).unwrap().rest, os(&["false"]));
        assert_eq!(parse(&["--force=maybe"]).unwrap_err(), r#"invalid boolean value "maybe" for -force: parse error"#);
        assert_eq!(parse(&["--force="]).unwrap_err(), r#"invalid boolean value "" for -force: parse error"#);
    }

    #[test]
    fn values_may_look_like_flags_and_numbers_may_be_negative() {
        let m = parse(&["--pids-limit", "-1", "id"]).unwrap();
        assert_eq!(m.number::<i64>("pids-limit").unwrap(), Some(-1));
        assert_eq!(m.rest, os(&["id"]));
        assert_eq!(parse(&["--bundle", "--force"]).unwrap().string("bundle").unwrap().as_deref(), Some("--force"));
        assert_eq!(parse(&["--pids-limit", "0x10"]).unwrap().number::<i64>("pids-limit").unwrap(), Some(16));
        assert_eq!(
            parse(&["--pids-limit", "x"]).unwrap_err(),
            r#"invalid value "x" for flag -pids-limit: parse error"#
        );
        assert_eq!(
            parse(&["--pids-limit", "99999999999999999999"]).unwrap_err(),
            r#"invalid value "99999999999999999999" for flag -pids-limit: value out of range"#
        );
        assert_eq!(
            parse(&["-g", "1", "-g", "x"]).unwrap_err(),
            r#"invalid value "x" for flag -g: strconv.ParseInt: parsing "x": invalid syntax"#
        );
        assert_eq!(parse(&["--interval", "1"]).unwrap_err(), r#"invalid value "1" for flag -interval: parse error"#);
        assert!(parse(&["--interval", "1s"]).is_ok());
    }

    #[test]
    fn go_ints_parse_as_strconv_with_base_0() {
        assert_eq!(go_int("10"), Ok(10));
        assert_eq!(go_int("-0x1f"), Ok(-31));
        assert_eq!(go_int("010"), Ok(8));
        assert_eq!(go_int("0b11"), Ok(3));
        assert_eq!(go_int("0"), Ok(0));
        assert_eq!(go_int("-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(go_int("9223372036854775808"), Err(true));
        assert_eq!(go_int(""), Err(false));
        assert_eq!(go_int("1e3"), Err(false));
    }

    #[test]
    fn list_flags_keep_every_value_but_not_two_forms() {
        let m = parse(&["--env", "A=1", "--env", "B=2", "id"]).unwrap();
        assert_eq!(m.strings("env").unwrap(), ["A=1", "B=2"]);
        assert_eq!(parse(&["-g", "1", "-g", "2"]).unwrap().numbers::<u32>("additional-gids").unwrap(), [1, 2]);
        assert_eq!(parse(&["-e", "A", "--env", "B"]).unwrap_err(), "Cannot use two forms of the same flag: e env");
        assert_eq!(parse(&["-f", "--force", "id"]).unwrap_err(), "Cannot use two forms of the same flag: f force");
        assert_eq!(parse(&["-h", "--help"]).unwrap_err(), "Cannot use two forms of the same flag: h help");
    }

    #[test]
    fn unknown_missing_and_malformed_flags_have_gos_messages() {
        assert_eq!(parse(&["--bogus", "id"]).unwrap_err(), "flag provided but not defined: -bogus");
        assert_eq!(parse(&["-x=1"]).unwrap_err(), "flag provided but not defined: -x");
        assert_eq!(parse(&["-b"]).unwrap_err(), "flag needs an argument: -b");
        assert_eq!(parse(&["---force"]).unwrap_err(), "bad flag syntax: ---force");
        assert_eq!(parse(&["-=x"]).unwrap_err(), "bad flag syntax: -=x");
    }

    #[test]
    fn parsing_stops_at_the_first_positional_and_after_a_double_dash() {
        let m = Matches::parse(FLAGS, &os(&["-f", "id", "--bundle", "x"])).unwrap();
        assert_eq!(m.rest, os(&["id", "--bundle", "x"]));
        let m = Matches::parse(FLAGS, &os(&["-f", "--", "-b", "x"])).unwrap();
        assert_eq!(m.rest, os(&["-b", "x"]));
        assert_eq!(Matches::parse(FLAGS, &os(&["-", "-f"])).unwrap().rest, os(&["-", "-f"]));
        // An unknown flag after a positional is a positional.
        assert_eq!(parse(&["id", "--bogus"]).unwrap().rest, os(&["id", "--bogus"]));
    }

    #[test]
    fn known_flags_after_positionals_are_moved_in_front_as_urfave_does() {
        assert_eq!(reorder(FLAGS, os(&["id", "--force"])), os(&["--force", "id"]));
        assert_eq!(reorder(FLAGS, os(&["id", "9", "-b", "x"])), os(&["-b", "x", "id", "9"]));
        assert!(parse(&["id", "--force"]).unwrap().bool("force"));
        let m = parse(&["id", "--pids-limit", "-1"]).unwrap();
        assert_eq!((m.number::<i64>("pids-limit").unwrap(), m.rest.clone()), (Some(-1), os(&["id"])));
        // After `--` nothing moves; a `--` right after a flag is that flag's value.
        assert_eq!(reorder(FLAGS, os(&["id", "--", "--force"])), os(&["--", "id", "--force"]));
        assert_eq!(parse(&["id", "--", "--force"]).unwrap().rest, os(&["id", "--force"]));
        assert_eq!(reorder(FLAGS, os(&["id", "--force", "--"])), os(&["--force", "--", "id"]));
        assert!(parse(&["id", "--force", "--"]).unwrap().bool("force"));
        assert!(parse(&["id", "-h"]).unwrap().help());
        assert!(!parse(&["id", "--help=false"]).unwrap().help());
    }

    #[test]
    fn arity_messages_are_runcs() {
        assert_eq!(Arity::Exactly(1).check("state", 2).unwrap_err(), r#""state" requires exactly 1 argument(s)"#);
        assert_eq!(Arity::Between(1, 2).check("kill", 0).unwrap_err(), r#""kill" requires a minimum of 1 argument(s)"#);
        assert_eq!(Arity::Between(1, 2).check("kill", 3).unwrap_err(), r#""kill" requires a maximum of 2 argument(s)"#);
        assert_eq!(Arity::AtLeast(1).check("exec", 0).unwrap_err(), r#""exec" requires a minimum of 1 argument(s)"#);
        assert!(Arity::AtLeast(1).check("exec", 5).is_ok());
        assert!(Arity::Any.check("help", 3).is_ok());
    }
}
