//! `berth ps <id> [ps options]`: the host's `ps` output limited to the container's
//! processes (runc runs `ps` with the given options, default `-ef`, and keeps the
//! rows whose PID column is in the cgroup), or `--format json`: the pids.
use std::process::Command;

use anyhow::{Context, bail};

use super::Global;
use super::args::{Flag, Kind, Matches, flag};

#[derive(Debug)]
pub struct Args {
    pub format: String,
    pub id: String,
    /// Options passed to ps (default -ef)
    pub ps_args: Vec<String>,
}

pub(crate) const FLAGS: &[Flag] = &[flag(&["format", "f"], Kind::Str)];

impl Args {
    pub(crate) fn parse(m: &Matches) -> Result<Args, String> {
        Ok(Args {
            format: m.string("format")?.unwrap_or_else(|| "table".into()),
            id: m.arg(0)?.unwrap_or_default(),
            ps_args: m.args_from(1)?,
        })
    }
}

pub fn run(g: &Global, args: Args) -> anyhow::Result<i32> {
    let pids = crate::container::pids(&g.root, &args.id)?;
    match args.format.as_str() {
        "json" => {
            let raw: Vec<i32> = pids.iter().map(|p| p.as_raw()).collect();
            println!("{}", serde_json::to_string(&raw)?);
            return Ok(0);
        }
        "table" => {}
        other => bail!("invalid format option {other:?}"),
    }
    let ps_args = if args.ps_args.is_empty() { vec!["-ef".to_string()] } else { args.ps_args.clone() };
    let out = Command::new("ps").args(&ps_args).output().context("run ps")?;
    if !out.status.success() {
        bail!("ps {}: {}", ps_args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let pid_col = header.split_whitespace().position(|h| h == "PID").context("ps output has no PID column")?;
    println!("{header}");
    for line in lines {
        let pid: Option<i32> = line.split_whitespace().nth(pid_col).and_then(|p| p.parse().ok());
        if pid.is_some_and(|p| pids.iter().any(|q| q.as_raw() == p)) {
            println!("{line}");
        }
    }
    Ok(0)
}
