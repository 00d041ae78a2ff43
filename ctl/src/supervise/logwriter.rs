//! docker's `json-file` log: one `{"log":…,"stream":…,"time":…}` object per
//! line, lines split at newlines (a line longer than 16 KiB is written in
//! pieces without the newline, as docker's partial messages), rotated by
//! size (`max-size`, `max-file`; berthctl parses the options and passes the
//! numbers). Writes block: a container that writes faster than the disk is
//! slowed, never loses a line. The JSON is written by hand (the escaping
//! serde_json does) so the supervisor carries no serializer.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// docker's buffer size for one log message.
const MAX_LINE: usize = 16 * 1024;

pub(crate) struct LogWriter {
    path: PathBuf,
    file: File,
    size: u64,
    /// Bytes; 0 means never rotate.
    max_size: u64,
    max_files: u32,
    /// Unfinished line per stream (0 stdout, 1 stderr).
    pending: [Vec<u8>; 2],
    /// The line being encoded, reused.
    json: Vec<u8>,
}

impl LogWriter {
    pub(crate) fn open(path: &Path, max_size: u64, max_files: u32) -> io::Result<LogWriter> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        Ok(LogWriter {
            path: path.to_path_buf(),
            file,
            size,
            max_size,
            max_files,
            pending: [Vec::new(), Vec::new()],
            json: Vec::new(),
        })
    }

    /// Add output of `stream` (1 stdout, 2 stderr): every complete line is
    /// written, the rest kept for the next call.
    pub(crate) fn write(&mut self, stream: u8, data: &[u8]) -> io::Result<()> {
        let slot = usize::from(stream == 2);
        self.pending[slot].extend_from_slice(data);
        let mut start = 0;
        loop {
            let rest = &self.pending[slot][start..];
            let cut = match rest.iter().position(|&b| b == b'\n') {
                Some(i) if i < MAX_LINE => i + 1,
                _ if rest.len() >= MAX_LINE => MAX_LINE,
                _ => break,
            };
            let line = std::mem::take(&mut self.pending[slot]);
            let res = self.emit(stream, &line[start..start + cut]);
            self.pending[slot] = line;
            res?;
            start += cut;
        }
        self.pending[slot].drain(..start);
        Ok(())
    }

    /// Write what is left of unfinished lines (at exit), without a newline.
    pub(crate) fn flush_partial(&mut self) -> io::Result<()> {
        for stream in [1u8, 2] {
            let slot = usize::from(stream == 2);
            if !self.pending[slot].is_empty() {
                let line = std::mem::take(&mut self.pending[slot]);
                self.emit(stream, &line)?;
            }
        }
        Ok(())
    }

    fn emit(&mut self, stream: u8, line: &[u8]) -> io::Result<()> {
        let mut json = std::mem::take(&mut self.json);
        json.clear();
        json.extend_from_slice(b"{\"log\":\"");
        escape_into(&mut json, &String::from_utf8_lossy(line));
        json.extend_from_slice(if stream == 2 { b"\",\"stream\":\"stderr\"" } else { b"\",\"stream\":\"stdout\"" });
        json.extend_from_slice(b",\"time\":\"");
        json.extend_from_slice(now_rfc3339().as_bytes());
        json.extend_from_slice(b"\"}\n");
        let res = self.append(&json);
        self.json = json;
        res
    }

    fn append(&mut self, json: &[u8]) -> io::Result<()> {
        if self.max_size > 0 && self.size > 0 && self.size + json.len() as u64 > self.max_size {
            self.rotate()?;
        }
        self.file.write_all(json)?;
        self.size += json.len() as u64;
        Ok(())
    }

    /// `x.log` → `x.log.1` → … → `x.log.<max-file - 1>`; the oldest goes.
    fn rotate(&mut self) -> io::Result<()> {
        let n = self.max_files;
        if n > 1 {
            for i in (1..n - 1).rev() {
                let from = rotated(&self.path, i);
                if from.exists() {
                    std::fs::rename(&from, rotated(&self.path, i + 1))?;
                }
            }
            std::fs::rename(&self.path, rotated(&self.path, 1))?;
            self.file = OpenOptions::new().create(true).append(true).open(&self.path)?;
        } else {
            self.file.set_len(0)?;
        }
        self.size = 0;
        Ok(())
    }
}

/// The name of the i-th rotated file (docker's `<id>-json.log.<i>`; berthctl's
/// `logs` reads them by the same rule, `supervisor::logfile::rotated`).
fn rotated(path: &Path, i: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{i}"));
    PathBuf::from(s)
}

/// A JSON string's contents, escaped as serde_json does: quote, backslash,
/// the short escapes for \b \t \n \f \r, `\u00xx` for other control bytes.
pub(crate) fn escape_into(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for &b in s.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            0..0x20 => {
                out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]])
            }
            _ => out.push(b),
        }
    }
}

/// The current time as docker writes it (RFC 3339, nanoseconds, UTC).
pub(crate) fn now_rfc3339() -> String {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    format_rfc3339(d.as_secs(), d.subsec_nanos())
}

fn format_rfc3339(secs: u64, nanos: u32) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z", rem / 3600, rem / 60 % 60, rem % 60)
}

/// Days since 1970-01-01 to (year, month, day): Howard Hinnant's
/// `civil_from_days` (proleptic Gregorian calendar).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(path: &Path) -> Vec<serde_json::Value> {
        std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    #[test]
    fn lines_are_split_and_partials_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        let mut w = LogWriter::open(&path, 0, 1).unwrap();
        w.write(1, b"hel").unwrap();
        w.write(1, b"lo\nwor").unwrap();
        w.write(2, b"oops\n").unwrap();
        w.flush_partial().unwrap();
        let e = entries(&path);
        assert_eq!(e.len(), 3);
        assert_eq!((e[0]["log"].as_str(), e[0]["stream"].as_str()), (Some("hello\n"), Some("stdout")));
        assert_eq!((e[1]["log"].as_str(), e[1]["stream"].as_str()), (Some("oops\n"), Some("stderr")));
        assert_eq!(e[2]["log"], "wor");
        assert!(e[0]["time"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn long_lines_are_written_in_pieces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        let mut w = LogWriter::open(&path, 0, 1).unwrap();
        let line = vec![b'x'; MAX_LINE + 10];
        w.write(1, &line).unwrap();
        w.write(1, b"\n").unwrap();
        let e = entries(&path);
        assert_eq!(e[0]["log"].as_str().unwrap().len(), MAX_LINE);
        assert_eq!(e[1]["log"].as_str().unwrap(), format!("{}\n", "x".repeat(10)));
    }

    #[test]
    fn rotation_keeps_max_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        let mut w = LogWriter::open(&path, 200, 3).unwrap();
        for i in 0..40 {
            w.write(1, format!("line {i}\n").as_bytes()).unwrap();
        }
        assert!(rotated(&path, 1).exists() && rotated(&path, 2).exists());
        assert!(!rotated(&path, 3).exists());
        for p in [path.clone(), rotated(&path, 1), rotated(&path, 2)] {
            assert!(std::fs::metadata(&p).unwrap().len() <= 200);
        }
        let last = entries(&path);
        assert_eq!(last.last().unwrap()["log"], "line 39\n");
    }

    #[test]
    fn escaping_matches_serde_json() {
        let s = "q\" b\\ \u{1} \u{8}\u{c}\r\n\t é \u{7f} \u{1f}";
        let mut out = Vec::new();
        escape_into(&mut out, s);
        let theirs = serde_json::to_string(s).unwrap();
        assert_eq!(format!("\"{}\"", String::from_utf8(out).unwrap()), theirs);
    }

    #[test]
    fn time_is_rfc3339_utc() {
        assert_eq!(format_rfc3339(0, 5), "1970-01-01T00:00:00.000000005Z");
        // 2024-02-29T12:34:56Z (a leap day).
        assert_eq!(format_rfc3339(1_709_210_096, 123_456_789), "2024-02-29T12:34:56.123456789Z");
        assert_eq!(format_rfc3339(4_102_444_799, 0), "2099-12-31T23:59:59.000000000Z");
    }
}
