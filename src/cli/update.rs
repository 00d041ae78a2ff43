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
    #[arg(long = "blkio-weight")]
    pub blkio_weight: Option<u16>,
    #[arg(long = "cpu-period")]
    pub cpu_period: Option<u64>,
    #[arg(long = "cpu-quota")]
    pub cpu_quota: Option<i64>,
    #[arg(long = "cpu-share")]
    pub cpu_share: Option<u64>,
    #[arg(long = "cpu-rt-period")]
    pub cpu_rt_period: Option<u64>,
    #[arg(long = "cpu-rt-runtime")]
    pub cpu_rt_runtime: Option<i64>,
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    #[arg(long = "cpuset-mems")]
    pub cpuset_mems: Option<String>,
    /// Memory limit (bytes, or with a k/m/g suffix)
    #[arg(long)]
    pub memory: Option<String>,
    #[arg(long = "memory-reservation")]
    pub memory_reservation: Option<String>,
    /// Memory plus swap limit (-1 for unlimited)
    #[arg(long = "memory-swap")]
    pub memory_swap: Option<String>,
    #[arg(long = "pids-limit")]
    pub pids_limit: Option<i64>,
    /// Accepted for runc compatibility; kernel memory limits are ignored
    #[arg(long = "kernel-memory", hide = true)]
    pub kernel_memory: Option<String>,
    #[arg(long = "kernel-memory-tcp", hide = true)]
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

fn set(v: &mut Value, section: &str, key: &str, value: Value) {
    v[section][key] = value;
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
            serde_json::from_str(&text).with_context(|| format!("parse resources {}", p.display()))?
        }
        None => json!({}),
    };
    if let Some(w) = args.blkio_weight {
        set(&mut patch, "blockIO", "weight", json!(w));
    }
    if let Some(v) = args.cpu_period {
        set(&mut patch, "cpu", "period", json!(v));
    }
    if let Some(v) = args.cpu_quota {
        set(&mut patch, "cpu", "quota", json!(v));
    }
    if let Some(v) = args.cpu_share {
        set(&mut patch, "cpu", "shares", json!(v));
    }
    if let Some(v) = args.cpu_rt_period {
        set(&mut patch, "cpu", "realtimePeriod", json!(v));
    }
    if let Some(v) = args.cpu_rt_runtime {
        set(&mut patch, "cpu", "realtimeRuntime", json!(v));
    }
    if let Some(v) = &args.cpuset_cpus {
        set(&mut patch, "cpu", "cpus", json!(v));
    }
    if let Some(v) = &args.cpuset_mems {
        set(&mut patch, "cpu", "mems", json!(v));
    }
    if let Some(v) = &args.memory {
        set(&mut patch, "memory", "limit", json!(parse_bytes(v)?));
    }
    if let Some(v) = &args.memory_reservation {
        set(&mut patch, "memory", "reservation", json!(parse_bytes(v)?));
    }
    if let Some(v) = &args.memory_swap {
        set(&mut patch, "memory", "swap", json!(parse_bytes(v)?));
    }
    if let Some(v) = args.pids_limit {
        set(&mut patch, "pids", "limit", json!(v));
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
}
