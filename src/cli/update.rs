//! `berth update`: runc's flags or `-r resources.json` (`-` for stdin).
use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::Global;
use super::args::{Flag, Kind, Matches, flag};

#[derive(Debug)]
pub struct Args {
    /// Path to a linux.resources JSON document, or - for stdin
    pub resources: Option<PathBuf>,
    pub blkio_weight: Option<u16>,
    pub cpu_period: Option<u64>,
    pub cpu_quota: Option<i64>,
    pub cpu_share: Option<u64>,
    pub cpu_rt_period: Option<u64>,
    pub cpu_rt_runtime: Option<i64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    /// Memory limit (bytes, or with a k/m/g suffix)
    pub memory: Option<String>,
    pub memory_reservation: Option<String>,
    /// Memory plus swap limit (-1 for unlimited)
    pub memory_swap: Option<String>,
    pub pids_limit: Option<i64>,
    /// Accepted for runc compatibility; kernel memory limits are ignored
    pub kernel_memory: Option<String>,
    pub kernel_memory_tcp: Option<String>,
    /// Intel RDT schemas: berth has no RDT support, so given, they are refused
    /// with runc's message for a host without it
    pub l3_cache_schema: Option<String>,
    pub mem_bw_schema: Option<String>,
    pub id: String,
}

pub(crate) const FLAGS: &[Flag] = &[
    flag(&["resources", "r"], Kind::Str),
    flag(&["blkio-weight"], Kind::Int),
    flag(&["cpu-period"], Kind::Str),
    flag(&["cpu-quota"], Kind::Str),
    flag(&["cpu-share"], Kind::Str),
    flag(&["cpu-rt-period"], Kind::Str),
    flag(&["cpu-rt-runtime"], Kind::Str),
    flag(&["cpuset-cpus"], Kind::Str),
    flag(&["cpuset-mems"], Kind::Str),
    flag(&["kernel-memory"], Kind::Str),
    flag(&["kernel-memory-tcp"], Kind::Str),
    flag(&["memory"], Kind::Str),
    flag(&["memory-reservation"], Kind::Str),
    flag(&["memory-swap"], Kind::Str),
    flag(&["pids-limit"], Kind::Int),
    flag(&["l3-cache-schema"], Kind::Str),
    flag(&["mem-bw-schema"], Kind::Str),
];

impl Args {
    pub(crate) fn parse(m: &Matches) -> Result<Args, String> {
        Ok(Args {
            resources: m.path("resources"),
            blkio_weight: m.number("blkio-weight")?,
            cpu_period: m.number("cpu-period")?,
            cpu_quota: m.number("cpu-quota")?,
            cpu_share: m.number("cpu-share")?,
            cpu_rt_period: m.number("cpu-rt-period")?,
            cpu_rt_runtime: m.number("cpu-rt-runtime")?,
            cpuset_cpus: m.string("cpuset-cpus")?,
            cpuset_mems: m.string("cpuset-mems")?,
            memory: m.string("memory")?,
            memory_reservation: m.string("memory-reservation")?,
            memory_swap: m.string("memory-swap")?,
            pids_limit: m.number("pids-limit")?,
            kernel_memory: m.string("kernel-memory")?,
            kernel_memory_tcp: m.string("kernel-memory-tcp")?,
            l3_cache_schema: m.string("l3-cache-schema")?,
            mem_bw_schema: m.string("mem-bw-schema")?,
            id: m.arg(0)?.unwrap_or_default(),
        })
    }
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
    if args.l3_cache_schema.is_some() {
        bail!("Intel RDT/CAT: l3 cache schema is not enabled");
    }
    if args.mem_bw_schema.is_some() {
        bail!("Intel RDT/MBA: memory bandwidth schema is not enabled");
    }
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
