//! `berth events [--stats] [--interval 5s] <id>`.
use std::io::Write;
use std::time::Duration;

use anyhow::Context;

use super::Global;
use super::args::{Flag, Kind, Matches, flag};

use crate::container::{self, Event};

#[derive(Debug)]
pub struct Args {
    /// Print the container's stats once and exit
    pub stats: bool,
    /// Interval between stats events (e.g. 5s, 500ms, 1m)
    pub interval: String,
    pub id: String,
}

pub(crate) const FLAGS: &[Flag] = &[flag(&["interval"], Kind::Duration), flag(&["stats"], Kind::Bool)];

impl Args {
    pub(crate) fn parse(m: &Matches) -> Result<Args, String> {
        Ok(Args {
            stats: m.bool("stats"),
            interval: m.string("interval")?.unwrap_or_else(|| "5s".into()),
            id: m.arg(0)?.unwrap_or_default(),
        })
    }
}

/// Go-style durations as runc takes them: `5s`, `500ms`, `1m30s`, `2h`.
pub fn parse_duration(s: &str) -> anyhow::Result<Duration> {
    let mut total = Duration::ZERO;
    let mut rest = s.trim();
    if rest.is_empty() {
        anyhow::bail!("invalid duration {s:?}");
    }
    while !rest.is_empty() {
        let n_end = rest.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(rest.len());
        let n: f64 = rest[..n_end].parse().with_context(|| format!("invalid duration {s:?}"))?;
        rest = &rest[n_end..];
        let u_end = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let secs = match &rest[..u_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            u => anyhow::bail!("invalid duration {s:?}: unknown unit {u:?}"),
        };
        total += Duration::from_secs_f64(n * secs);
        rest = &rest[u_end..];
    }
    Ok(total)
}

pub fn run(g: &Global, args: Args) -> anyhow::Result<i32> {
    // Checked before --stats too, as runc does.
    let interval = parse_duration(&args.interval)?;
    if interval.is_zero() {
        anyhow::bail!("duration interval must be greater than 0");
    }
    if args.stats {
        let s = container::stats(&g.root, &args.id)?;
        println!("{}", serde_json::to_string(&Event { typ: "stats", id: &args.id, data: Some(s) })?);
        return Ok(0);
    }
    container::stream(&g.root, &args.id, interval, |line| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    })?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_go() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("").is_err());
    }
}
