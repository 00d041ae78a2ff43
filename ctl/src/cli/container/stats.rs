//! `stats` (`--no-stream`, `--format`, `-a`): CPU %, memory usage and
//! limit, network and block I/O and pids from the cgroup files, two
//! samples a second apart for the CPU figure, as docker.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use crate::config::Config;
use crate::container::lifecycle;
use crate::container::record::Container;
use crate::container::stats::{self, Sample};
use crate::container::store::Store;
use crate::format::units::{bytes_size, human_size};

#[derive(Debug, clap::Args)]
pub(crate) struct StatsArgs {
    /// Show all containers (default shows just running)
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Disable streaming stats and only pull the first result
    #[arg(long = "no-stream")]
    pub no_stream: bool,
    /// Do not truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Format output using a custom template
    #[arg(long)]
    pub format: Option<String>,
    pub containers: Vec<String>,
}

const TABLE: &str =
    "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";
const HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Container", "CONTAINER"),
    ("Name", "NAME"),
    ("CPUPerc", "CPU %"),
    ("MemUsage", "MEM USAGE / LIMIT"),
    ("MemPerc", "MEM %"),
    ("NetIO", "NET I/O"),
    ("BlockIO", "BLOCK I/O"),
    ("PIDs", "PIDS"),
];

fn row(c: &Container, name_given: &str, s: &Sample, cpu: f64, trunc: bool) -> serde_json::Value {
    let mem_perc = if s.mem_limit > 0 { s.mem_usage as f64 / s.mem_limit as f64 * 100.0 } else { 0.0 };
    json!({
        "ID": if trunc { c.short_id().to_string() } else { c.id.clone() },
        "Container": name_given,
        "Name": c.name,
        "CPUPerc": format!("{cpu:.2}%"),
        "MemUsage": format!("{} / {}", bytes_size(s.mem_usage), bytes_size(s.mem_limit)),
        "MemPerc": format!("{mem_perc:.2}%"),
        "NetIO": format!("{} / {}", human_size(s.net_rx), human_size(s.net_tx)),
        "BlockIO": format!("{} / {}", human_size(s.block_read), human_size(s.block_write)),
        "PIDs": s.pids.to_string(),
    })
}

fn online_cpus() -> u64 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u64)
}

/// The containers to show, with the name each was asked for by.
fn targets(config: &Config, store: &mut Store, a: &StatsArgs) -> anyhow::Result<Vec<(Container, String)>> {
    if a.containers.is_empty() {
        let mut out = Vec::new();
        for c in store.list()? {
            let c = lifecycle::refresh(config, store, c)?;
            if a.all || c.state.running {
                let n = c.name.clone();
                out.push((c, n));
            }
        }
        return Ok(out);
    }
    a.containers.iter().map(|n| Ok((lifecycle::lookup(config, store, n)?, n.clone()))).collect()
}

pub(crate) fn run(config: &Config, a: &StatsArgs) -> anyhow::Result<i32> {
    let mut store = Store::open(&config.data_root)?;
    let (proc_root, sys_root) = (Path::new("/proc"), Path::new("/sys/fs/cgroup"));
    loop {
        let list = targets(config, &mut store, a)?;
        let take = |c: &Container| {
            if c.state.running {
                (stats::sample(proc_root, sys_root, c.state.pid), stats::system_cpu_ns(proc_root))
            } else {
                (Sample::default(), 0)
            }
        };
        let before: Vec<_> = list.iter().map(|(c, _)| take(c)).collect();
        std::thread::sleep(Duration::from_secs(1));
        let mut rows = Vec::new();
        for ((c, given), (b, bsys)) in list.iter().zip(before) {
            let (s, sys) = take(c);
            let cpu = stats::cpu_percent((b.cpu_ns, bsys), (s.cpu_ns, sys), online_cpus());
            rows.push(row(c, given, &s, cpu, !a.no_trunc));
        }
        let mut out = std::io::stdout().lock();
        if !a.no_stream {
            // docker redraws in place: clear the screen, home the cursor.
            use std::io::Write;
            let _ = out.write_all(b"\x1b[2J\x1b[H");
        }
        crate::format::print_list(&mut out, a.format.as_deref(), TABLE, HEADERS, &rows)?;
        if a.no_stream {
            return Ok(0);
        }
    }
}
