//! `berth update`: runc's flags or `-r resources.json` (`-` for stdin).
use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::Global;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Path to a linux.resources JSON document, or - for stdin
    #[arg(short, long)]
    pub resources: Option<PathBuf>,
    #[arg(long = "blkio-weight", allow_negative_numbers = true)]
    pub blkio_weight: Option<u16>,
    #[arg(long = "cpu-period", allow_negative_numbers = true)]
    pub cpu_period: Option<u64>,
    #[arg(long = "cpu-quota", allow_negative_numbers = true)]
    pub cpu_quota: Option<i64>,
    #[arg(long = "cpu-share", allow_negative_numbers = true)]
    pub cpu_share: Option<u64>,
    #[arg(long = "cpu-rt-period", allow_negative_numbers = true)]
    pub cpu_rt_period: Option<u64>,
    #[arg(long = "cpu-rt-runtime", allow_negative_numbers = true)]
    pub cpu_rt_runtime: Option<i64>,
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    #[arg(long = "cpuset-mems")]
    pub cpuset_mems: Option<String>,
    /// Memory limit (bytes, or with a k/m/g suffix)
    #[arg(long, allow_negative_numbers = true)]
    pub memory: Option<String>,
    #[arg(long = "memory-reservation", allow_negative_numbers = true)]
    pub memory_reservation: Option<String>,
    /// Memory plus swap limit (-1 for unlimited)
    #[arg(long = "memory-swap", allow_negative_numbers = true)]
    pub memory_swap: Option<String>,
    #[arg(long = "pids-limit", allow_negative_numbers = true)]
    pub pids_limit: Option<i64>,
    /// Accepted for runc compatibility; kernel memory limits are ignored
    #[arg(long = "kernel-memory", hide = true, allow_negative_numbers = true)]
    pub kernel_memory: Option<String>,
    #[arg(long = "kernel-memory-tcp", hide = true, allow_negative_numbers = true)]
    pub kernel_memory_tcp: Option<String>,
    pub id: String,
}

/// docker's RAMInBytes: a number with an optional b/k/m/g/t/p suffix (binary
/// units), or -1.
pub fn parse_bytes(s: &str) -> anyhow::Result<i64> {
    let t = s.trim().to_ascii_lowercase();
    if t == "-1" {
        return Ok(-1);
    }
    let t = t.strip_suffix('b').filter(|r| !r.is_empty()).unwrap_or(&t);
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1i64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('t') => (&t[..t.len() - 1], 1 << 40),
        Some('p') => (&t[..t.len() - 1], 1 << 50),
        _ => (t, 1),
    };
    let n: f64 = num.parse().with_context(|| format!("invalid size {s:?}"))?;
    if n < 0.0 {
        bail!("invalid size {s:?}");
    }
    Ok((n * mult as f64) as i64)
}

/// Set `section.key` in the resources document, as the flag `flag` asks. A
/// document (or section) that is not an object cannot take it: an error naming
/// both, not a panic.
fn set(v: &mut Value, flag: &str, section: &str, key: &str, value: Value) -> anyhow::Result<()> {
    let Some(doc) = v.as_object_mut() else {
        bail!("{flag}: the resources document is not a JSON object");
    };
    let sect = doc.entry(section).or_insert_with(|| json!({}));
    if sect.is_null() {
        *sect = json!({});
    }
    let Some(sect) = sect.as_object_mut() else {
        bail!("{flag}: {section} in the resources document is not a JSON object");
    };
    sect.insert(key.to_string(), value);
    Ok(())
}

pub fn run(g: &Global, args: Args) -> anyhow::Result<i32> {
    let mut patch = match &args.resources {
        Some(p) => {
            let mut text = String::new();
            if p.as_os_str() == "-" {
                std::io::stdin()
                    .take(crate::spec::MAX_CONFIG_BYTES)
                    .read_to_string(&mut text)
                    .context("read resources from stdin")?;
            } else {
                text = crate::spec::read_document(p).with_context(|| format!("read {}", p.display()))?;
            }
            let doc: Value = serde_json::from_str(&text).with_context(|| format!("parse resources {}", p.display()))?;
            if !doc.is_object() {
                bail!("resources {}: not a JSON object", p.display());
            }
            doc
        }
        None => json!({}),
    };
    if let Some(w) = args.blkio_weight {
        set(&mut patch, "--blkio-weight", "blockIO", "weight", json!(w))?;
    }
    if let Some(v) = args.cpu_period {
        set(&mut patch, "--cpu-period", "cpu", "period", json!(v))?;
    }
    if let Some(v) = args.cpu_quota {
        set(&mut patch, "--cpu-quota", "cpu", "quota", json!(v))?;
    }
    if let Some(v) = args.cpu_share {
        set(&mut patch, "--cpu-share", "cpu", "shares", json!(v))?;
    }
    if let Some(v) = args.cpu_rt_period {
        set(&mut patch, "--cpu-rt-period", "cpu", "realtimePeriod", json!(v))?;
    }
    if let Some(v) = args.cpu_rt_runtime {
        set(&mut patch, "--cpu-rt-runtime", "cpu", "realtimeRuntime", json!(v))?;
    }
    if let Some(v) = &args.cpuset_cpus {
        set(&mut patch, "--cpuset-cpus", "cpu", "cpus", json!(v))?;
    }
    if let Some(v) = &args.cpuset_mems {
        set(&mut patch, "--cpuset-mems", "cpu", "mems", json!(v))?;
    }
    if let Some(v) = &args.memory {
        set(&mut patch, "--memory", "memory", "limit", json!(parse_bytes(v)?))?;
    }
    if let Some(v) = &args.memory_reservation {
        set(&mut patch, "--memory-reservation", "memory", "reservation", json!(parse_bytes(v)?))?;
    }
    if let Some(v) = &args.memory_swap {
        set(&mut patch, "--memory-swap", "memory", "swap", json!(parse_bytes(v)?))?;
    }
    if let Some(v) = args.pids_limit {
        set(&mut patch, "--pids-limit", "pids", "limit", json!(v))?;
    }
    crate::container::update(&g.root, &args.id, &patch)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_like_docker() {
        assert_eq!(parse_bytes("1024").unwrap(), 1024);
        assert_eq!(parse_bytes("64m").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("1G").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("512kb").unwrap(), 512 << 10);
        assert_eq!(parse_bytes("-1").unwrap(), -1);
        assert!(parse_bytes("lots").is_err());
    }

    #[test]
    fn flags_over_a_non_object_section_are_an_error_naming_the_flag() {
        let mut doc = json!({"memory": 5});
        let e = set(&mut doc, "--memory", "memory", "limit", json!(1)).unwrap_err().to_string();
        assert!(e.contains("--memory") && e.contains("memory"), "{e}");
        let mut doc = json!([1, 2]);
        let e = set(&mut doc, "--pids-limit", "pids", "limit", json!(1)).unwrap_err().to_string();
        assert!(e.contains("--pids-limit") && e.contains("not a JSON object"), "{e}");
    }

    #[test]
    fn flags_fill_missing_and_null_sections_and_keep_the_rest() {
        let mut doc = json!({"cpu": null, "memory": {"swap": 7}});
        set(&mut doc, "--cpu-share", "cpu", "shares", json!(512)).unwrap();
        set(&mut doc, "--memory", "memory", "limit", json!(9)).unwrap();
        set(&mut doc, "--pids-limit", "pids", "limit", json!(3)).unwrap();
        assert_eq!(doc, json!({"cpu": {"shares": 512}, "memory": {"swap": 7, "limit": 9}, "pids": {"limit": 3}}));
    }
}
