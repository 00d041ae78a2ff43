//! Small container commands: `top`, `port`, `attach`.

use crate::config::Config;
use crate::container::store::Store;
use crate::container::{Layout, lifecycle};
use crate::supervisor::client::{self, AttachEnd, AttachOpts};

#[derive(Debug, clap::Args)]
pub(crate) struct TopArgs {
    pub container: String,
    /// Options for ps (default -ef)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct PortArgs {
    pub container: String,
    /// PRIVATE_PORT[/PROTO]
    pub port: Option<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct AttachArgs {
    /// Do not attach STDIN
    #[arg(long = "no-stdin")]
    pub no_stdin: bool,
    /// Proxy all received signals to the process
    #[arg(long = "sig-proxy", default_value_t = true, action = clap::ArgAction::Set)]
    pub sig_proxy: bool,
    pub container: String,
}

/// `top`: the host's `ps` with the given options, rows kept for the
/// container's processes (docker's ContainerTop does the same).
pub(crate) fn top(config: &Config, a: &TopArgs) -> anyhow::Result<i32> {
    let mut store = Store::open(&config.data_root)?;
    let c = lifecycle::lookup(config, &mut store, &a.container)?;
    if !c.state.running {
        anyhow::bail!("Container {} is not running", c.id);
    }
    let pids = lifecycle::runtime_for(config, &c)?.pids(&c.id)?;
    let args = if a.ps_args.is_empty() { vec!["-ef".to_string()] } else { a.ps_args.clone() };
    let out = std::process::Command::new("ps").args(&args).output().map_err(|e| anyhow::anyhow!("run ps: {e}"))?;
    if !out.status.success() {
        anyhow::bail!("ps: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let pid_col = header
        .split_whitespace()
        .position(|h| h == "PID")
        .ok_or_else(|| anyhow::anyhow!("Couldn't find PID field in ps output"))?;
    let titles: Vec<String> = header.split_whitespace().map(str::to_string).collect();
    let mut rows = vec![titles.clone()];
    for l in lines {
        if l.split_whitespace().nth(pid_col).and_then(|p| p.parse::<i32>().ok()).is_some_and(|p| pids.contains(&p)) {
            rows.push(ps_fields(l, titles.len()));
        }
    }
    print!("{}", tabulate(&rows));
    Ok(0)
}

/// A `ps` line as docker's parsePSOutput splits it: one field per title, the
/// last (the command) keeping its spaces.
fn ps_fields(line: &str, titles: usize) -> Vec<String> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let split = titles.saturating_sub(1).min(fields.len());
    let mut out: Vec<String> = fields[..split].iter().map(|f| f.to_string()).collect();
    out.push(fields[split..].join(" "));
    out
}

/// docker's client prints `top` through a tabwriter (minimum width 20,
/// padding 3): every column but the last at least 20 wide.
fn tabulate(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols.saturating_sub(1))
        .map(|j| rows.iter().filter_map(|r| r.get(j)).map(|c| c.chars().count() + 3).max().unwrap_or(0).max(20))
        .collect();
    let mut out = String::new();
    for r in rows {
        for (j, cell) in r.iter().enumerate() {
            match widths.get(j) {
                Some(w) if j + 1 < r.len() => out.push_str(&format!("{cell:<w$}")),
                _ => out.push_str(cell),
            }
        }
        out.push('\n');
    }
    out
}

/// `port`: published ports, `80/tcp -> 0.0.0.0:8080`, or the host side of one.
pub(crate) fn port(config: &Config, a: &PortArgs) -> anyhow::Result<i32> {
    let store = Store::open(&config.data_root)?;
    let c = store.lookup(&a.container)?;
    let lines = crate::network::port_lines(config, &c.id, a.port.as_deref())?;
    if lines.is_empty()
        && let Some(p) = &a.port
    {
        let p = if p.contains('/') { p.clone() } else { format!("{p}/tcp") };
        anyhow::bail!("No public port '{p}' published for {}", c.name);
    }
    for line in lines {
        println!("{line}");
    }
    Ok(0)
}

/// `attach`: to the live stdio of a running container.
pub(crate) fn attach(config: &Config, a: &AttachArgs) -> anyhow::Result<i32> {
    let mut store = Store::open(&config.data_root)?;
    let c = lifecycle::lookup(config, &mut store, &a.container)?;
    if !c.state.running {
        anyhow::bail!("You cannot attach to a stopped container, start it first");
    }
    if c.state.paused {
        anyhow::bail!("You cannot attach to a paused container, unpause it first");
    }
    let rt = lifecycle::runtime_for(config, &c)?;
    let opts = AttachOpts {
        stdin: !a.no_stdin && c.config.open_stdin,
        stdout: true,
        stderr: true,
        tty: c.config.tty,
        proxy: a.sig_proxy.then(|| (rt, c.id.clone())),
        exit_hook: None,
    };
    let sock = client::connect(&Layout::new(config, &c.id).attach_socket(), &opts)
        .map_err(|e| anyhow::anyhow!("attach to {}: {e}", c.id))?;
    store.log(&c.event("attach"));
    match client::pump(sock, &opts)? {
        AttachEnd::Exited(code) => Ok(code),
        AttachEnd::Detached => Ok(0),
        AttachEnd::Lost => Ok(lifecycle::reload(config, &mut store, &c.id)?.state.exit_code),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_is_tabulated_as_dockers() {
        let titles = ps_fields("UID PID CMD", 3);
        let row = ps_fields("root 42 sleep 300", 3);
        assert_eq!(row, ["root", "42", "sleep 300"]);
        let text = tabulate(&[titles, row]);
        assert_eq!(
            text,
            format!(
                "UID{}PID{}CMD\nroot{}42{}sleep 300\n",
                " ".repeat(17),
                " ".repeat(17),
                " ".repeat(16),
                " ".repeat(18)
            )
        );
    }
}
