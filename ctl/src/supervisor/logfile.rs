//! docker's `json-file` log: one `{"log":…,"stream":…,"time":…}` object per
//! line, lines split at newlines (a line longer than 16 KiB is written in
//! pieces without the newline, as docker's partial messages), rotated by
//! size (`max-size`, default 10m here, and `max-file`, default 3).
//! Writes block: a container that writes faster than the disk is slowed,
//! never loses a line.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

/// docker's buffer size for one log message.
const MAX_LINE: usize = 16 * 1024;

#[derive(Debug, thiserror::Error)]
pub(crate) enum LogOptError {
    #[error("--log-opt {key}={value:?}: {why}")]
    Bad { key: String, value: String, why: &'static str },
    #[error("--log-opt {0}: unknown log opt for json-file")]
    Unknown(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rotation {
    /// Bytes; 0 means never rotate.
    pub max_size: u64,
    pub max_files: u32,
}

impl Rotation {
    /// From `--log-opt` values (docker's names), with berthctl's defaults
    /// of 10m and 3 files (docker's default is unbounded).
    pub(crate) fn from_opts(opts: &std::collections::BTreeMap<String, String>) -> Result<Rotation, LogOptError> {
        let mut r = Rotation { max_size: 10 * 1024 * 1024, max_files: 3 };
        for (k, v) in opts {
            match k.as_str() {
                "max-size" => {
                    r.max_size = parse_size(v).ok_or_else(|| LogOptError::Bad {
                        key: k.clone(),
                        value: v.clone(),
                        why: "not a size",
                    })?
                }
                "max-file" => {
                    r.max_files = v.parse().ok().filter(|n| *n >= 1).ok_or_else(|| LogOptError::Bad {
                        key: k.clone(),
                        value: v.clone(),
                        why: "must be a number of at least 1",
                    })?
                }
                "compress" | "labels" | "env" | "tag" => {}
                _ => return Err(LogOptError::Unknown(k.clone())),
            }
        }
        Ok(r)
    }
}

/// docker's units.RAMInBytes: 10m, 1g, 512k, plain bytes; -1 for none.
pub(crate) fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim().to_ascii_lowercase();
    if s == "-1" {
        return Some(0);
    }
    let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &s[digits.len()..];
    let n: f64 = digits.parse().ok()?;
    let mult: f64 = match unit {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" | "tib" => 1024.0_f64.powi(4),
        _ => return None,
    };
    (n >= 0.0).then_some((n * mult) as u64)
}

#[derive(Serialize)]
struct Entry<'a> {
    log: &'a str,
    stream: &'a str,
    time: &'a str,
}

pub(crate) struct LogWriter {
    path: PathBuf,
    file: File,
    size: u64,
    rotation: Rotation,
    /// Unfinished line per stream (0 stdout, 1 stderr).
    pending: [Vec<u8>; 2],
}

impl LogWriter {
    pub(crate) fn open(path: &Path, rotation: Rotation) -> io::Result<LogWriter> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        Ok(LogWriter { path: path.to_path_buf(), file, size, rotation, pending: [Vec::new(), Vec::new()] })
    }

    /// Add output of `stream` (1 stdout, 2 stderr): every complete line is
    /// written, the rest kept for the next call.
    pub(crate) fn write(&mut self, stream: u8, data: &[u8]) -> io::Result<()> {
        let slot = usize::from(stream == 2);
        self.pending[slot].extend_from_slice(data);
        loop {
            let pending = &self.pending[slot];
            let cut = match pending.iter().position(|&b| b == b'\n') {
                Some(i) if i < MAX_LINE => i + 1,
                _ if pending.len() >= MAX_LINE => MAX_LINE,
                _ => break,
            };
            let line: Vec<u8> = self.pending[slot].drain(..cut).collect();
            self.emit(stream, &line)?;
        }
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
        let time = crate::container::now_rfc3339();
        let text = String::from_utf8_lossy(line);
        let entry = Entry { log: &text, stream: if stream == 2 { "stderr" } else { "stdout" }, time: &time };
        let mut json = serde_json::to_vec(&entry).map_err(io::Error::other)?;
        json.push(b'\n');
        if self.rotation.max_size > 0 && self.size > 0 && self.size + json.len() as u64 > self.rotation.max_size {
            self.rotate()?;
        }
        self.file.write_all(&json)?;
        self.size += json.len() as u64;
        Ok(())
    }

    /// `x.log` → `x.log.1` → … → `x.log.<max-file - 1>`; the oldest goes.
    fn rotate(&mut self) -> io::Result<()> {
        let n = self.rotation.max_files;
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

/// The name of the i-th rotated file (docker's `<id>-json.log.<i>`).
pub(crate) fn rotated(path: &Path, i: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{i}"));
    PathBuf::from(s)
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
        let mut w = LogWriter::open(&path, Rotation { max_size: 0, max_files: 1 }).unwrap();
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
        let mut w = LogWriter::open(&path, Rotation { max_size: 0, max_files: 1 }).unwrap();
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
        let mut w = LogWriter::open(&path, Rotation { max_size: 200, max_files: 3 }).unwrap();
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
    fn sizes_as_docker() {
        assert_eq!(parse_size("10m"), Some(10 << 20));
        assert_eq!(parse_size("512k"), Some(512 << 10));
        assert_eq!(parse_size("100"), Some(100));
        assert_eq!(parse_size("1.5g"), Some(3 << 29));
        assert_eq!(parse_size("x"), None);
    }
}
