//! docker's `json-file` log options: `--log-opt max-size` (default 10m
//! here) and `max-file` (default 3), parsed and checked by berthctl, and the
//! rotated files' names `logs` reads. The supervisor writes the file
//! (`ctl/src/supervise/logwriter.rs`).

use std::path::{Path, PathBuf};

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

/// The name of the i-th rotated file (docker's `<id>-json.log.<i>`).
pub(crate) fn rotated(path: &Path, i: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{i}"));
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_docker() {
        assert_eq!(parse_size("10m"), Some(10 << 20));
        assert_eq!(parse_size("512k"), Some(512 << 10));
        assert_eq!(parse_size("100"), Some(100));
        assert_eq!(parse_size("1.5g"), Some(3 << 29));
        assert_eq!(parse_size("x"), None);
    }
}
