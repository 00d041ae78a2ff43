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
    pub cpu_period: Option<String>,
    pub cpu_quota: Option<String>,
    pub cpu_share: Option<String>,
    pub cpu_rt_period: Option<String>,
    pub cpu_rt_runtime: Option<String>,
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
            cpu_period: m.string("cpu-period")?,
            cpu_quota: m.string("cpu-quota")?,
            cpu_share: m.string("cpu-share")?,
            cpu_rt_period: m.string("cpu-rt-period")?,
            cpu_rt_runtime: m.string("cpu-rt-runtime")?,
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

/// go-units' RAMInBytes as runc 1.1 vendors it: `^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$`
/// (binary units), or -1 for unlimited.
pub fn parse_bytes(s: &str) -> anyhow::Result<i64> {
    if s == "-1" {
        return Ok(-1);
    }
    let invalid = || anyhow::anyhow!("invalid size: '{s}'");
    let num_end = s.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.len());
    let num = &s[..num_end];
    let well_formed = num.split('.').all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
    if !well_formed {
        return Err(invalid());
    }
    let mut rest = s[num_end..].strip_prefix(' ').unwrap_or(&s[num_end..]);
    let mut shift = 0;
    if let Some(i) = rest.chars().next().and_then(|c| "kmgtp".find(c.to_ascii_lowercase())) {
        shift = 10 * (i as u32 + 1);
        rest = &rest[1..];
    }
    let rest = rest.strip_prefix(['i', 'I']).unwrap_or(rest);
    let rest = rest.strip_prefix(['b', 'B']).unwrap_or(rest);
    if !rest.is_empty() {
        return Err(invalid());
    }
    // "1.2.3" passes the pattern and fails here, with strconv's words as in runc.
    let n: f64 = num.parse().map_err(|_| anyhow::anyhow!("strconv.ParseFloat: parsing {num:?}: invalid syntax"))?;
    Ok((n * (1u64 << shift) as f64) as i64)
}

pub fn run(g: &Global, args: Args) -> anyhow::Result<i32> {
    // runc looks the container up before it reads a value or the document:
    // `update --memory abc nosuch` says the container does not exist.
    crate::container::load_state(&g.root, &args.id, "update")?;
    let patch = match &args.resources {
        // runc reads either the document or the flags, never both.
        Some(p) => read_resources(p)?,
        None => flag_resources(&args)?,
    };
    if args.l3_cache_schema.is_some() {
        bail!("Intel RDT/CAT: l3 cache schema is not enabled");
    }
    if args.mem_bw_schema.is_some() {
        bail!("Intel RDT/MBA: memory bandwidth schema is not enabled");
    }
    crate::container::update(&g.root, &args.id, &patch)?;
    Ok(0)
}

/// The `-r` document (`-`: stdin), which must be a JSON object.
fn read_resources(p: &std::path::Path) -> anyhow::Result<Value> {
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
    Ok(doc)
}

/// A value runc parses with Go's strconv, with its error's words.
fn go_number<T: std::str::FromStr>(flag: &str, v: &str, func: &str) -> anyhow::Result<T> {
    v.parse().map_err(|_| anyhow::anyhow!("invalid value for {flag}: strconv.{func}: parsing {v:?}: invalid syntax"))
}

/// A size flag (`-1`: unlimited), with runc's "invalid value for …".
fn size(flag: &str, v: &str) -> anyhow::Result<i64> {
    parse_bytes(v).map_err(|e| anyhow::anyhow!("invalid value for {flag}: {e}"))
}

/// The resources document runc's flags make.
fn flag_resources(args: &Args) -> anyhow::Result<Value> {
    let mut patch = json!({});
    if let Some(w) = args.blkio_weight {
        patch["blockIO"]["weight"] = json!(w);
    }
    for (flag, value, key) in [
        ("cpu-period", &args.cpu_period, "period"),
        ("cpu-rt-period", &args.cpu_rt_period, "realtimePeriod"),
        ("cpu-share", &args.cpu_share, "shares"),
    ] {
        if let Some(v) = value {
            let n: u64 = go_number(flag, v, "ParseUint")?;
            patch["cpu"][key] = json!(n);
        }
    }
    for (flag, value, key) in
        [("cpu-quota", &args.cpu_quota, "quota"), ("cpu-rt-runtime", &args.cpu_rt_runtime, "realtimeRuntime")]
    {
        if let Some(v) = value {
            let n: i64 = go_number(flag, v, "ParseInt")?;
            patch["cpu"][key] = json!(n);
        }
    }
    if let Some(v) = &args.cpuset_cpus {
        patch["cpu"]["cpus"] = json!(v);
    }
    if let Some(v) = &args.cpuset_mems {
        patch["cpu"]["mems"] = json!(v);
    }
    for (flag, value, key) in [
        ("memory", &args.memory, "limit"),
        ("memory-swap", &args.memory_swap, "swap"),
        ("memory-reservation", &args.memory_reservation, "reservation"),
    ] {
        if let Some(v) = value {
            patch["memory"][key] = json!(size(flag, v)?);
        }
    }
    if let Some(v) = args.pids_limit {
        patch["pids"]["limit"] = json!(v);
    }
    if args.kernel_memory.is_some() || args.kernel_memory_tcp.is_some() {
        tracing::warn!("Kernel memory settings are ignored and will be removed");
    }
    Ok(patch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_like_go_units() {
        assert_eq!(parse_bytes("1024").unwrap(), 1024);
        assert_eq!(parse_bytes("64m").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("1G").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("512kb").unwrap(), 512 << 10);
        assert_eq!(parse_bytes("2 MiB").unwrap(), 2 << 20);
        assert_eq!(parse_bytes("1.5k").unwrap(), 1536);
        assert_eq!(parse_bytes("-1").unwrap(), -1);
        for bad in ["lots", "1e3", "-5m", "", "m", "64mm", "inf", "1. k"] {
            assert_eq!(parse_bytes(bad).unwrap_err().to_string(), format!("invalid size: '{bad}'"), "{bad}");
        }
        let e = parse_bytes("1.2.3").unwrap_err().to_string();
        assert_eq!(e, r#"strconv.ParseFloat: parsing "1.2.3": invalid syntax"#);
    }

    fn args(f: impl FnOnce(&mut Args)) -> Args {
        let mut a = Args {
            resources: None,
            blkio_weight: None,
            cpu_period: None,
            cpu_quota: None,
            cpu_share: None,
            cpu_rt_period: None,
            cpu_rt_runtime: None,
            cpuset_cpus: None,
            cpuset_mems: None,
            memory: None,
            memory_reservation: None,
            memory_swap: None,
            pids_limit: None,
            kernel_memory: None,
            kernel_memory_tcp: None,
            l3_cache_schema: None,
            mem_bw_schema: None,
            id: "c".into(),
        };
        f(&mut a);
        a
    }

    #[test]
    fn flags_make_runcs_resources_document() {
        let a = args(|a| {
            a.cpu_share = Some("512".into());
            a.cpu_quota = Some("-1".into());
            a.memory = Some("64m".into());
            a.memory_swap = Some("-1".into());
            a.pids_limit = Some(3);
        });
        let doc = flag_resources(&a).unwrap();
        let want = json!({"cpu": {"shares": 512, "quota": -1}, "memory": {"limit": 64 << 20, "swap": -1}, "pids": {"limit": 3}});
        assert_eq!(doc, want);
    }

    #[test]
    fn bad_values_are_named_in_runcs_words() {
        let e = flag_resources(&args(|a| a.cpu_period = Some("x".into()))).unwrap_err().to_string();
        assert_eq!(e, r#"invalid value for cpu-period: strconv.ParseUint: parsing "x": invalid syntax"#);
        let e = flag_resources(&args(|a| a.cpu_rt_runtime = Some("1.5".into()))).unwrap_err().to_string();
        assert_eq!(e, r#"invalid value for cpu-rt-runtime: strconv.ParseInt: parsing "1.5": invalid syntax"#);
        let e = flag_resources(&args(|a| a.memory_reservation = Some("-5m".into()))).unwrap_err().to_string();
        assert_eq!(e, "invalid value for memory-reservation: invalid size: '-5m'");
    }
}
