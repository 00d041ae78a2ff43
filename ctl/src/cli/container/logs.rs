//! `logs` (`-f --tail -n --since --until -t`): read the container's
//! json-file log, rotated files oldest first, and with `-f` keep reading as
//! the supervisor appends, until the container stops.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::config::Config;
use crate::container::store::Store;
use crate::container::{Layout, is_alive, lifecycle};
use crate::format::time::parse_timestamp;
use crate::supervisor::logfile;

#[derive(Debug, clap::Args)]
pub(crate) struct LogsArgs {
    /// Follow log output
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Number of lines to show from the end of the logs
    #[arg(short = 'n', long, default_value = "all")]
    pub tail: String,
    /// Show logs since timestamp or relative (e.g. 42m for 42 minutes)
    #[arg(long)]
    pub since: Option<String>,
    /// Show logs before a timestamp or relative (e.g. 42m for 42 minutes)
    #[arg(long)]
    pub until: Option<String>,
    /// Show timestamps
    #[arg(short = 't', long)]
    pub timestamps: bool,
    /// Show extra details provided to logs
    #[arg(long)]
    pub details: bool,
    pub container: String,
}

#[derive(Deserialize)]
struct Entry {
    log: String,
    stream: String,
    time: String,
}

struct Filter {
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    timestamps: bool,
}

impl Filter {
    fn print(&self, line: &str) {
        let Ok(e) = serde_json::from_str::<Entry>(line) else { return };
        let t = DateTime::parse_from_rfc3339(&e.time).ok().map(|t| t.with_timezone(&Utc));
        if let (Some(s), Some(t)) = (self.since, t)
            && t < s
        {
            return;
        }
        if let (Some(u), Some(t)) = (self.until, t)
            && t > u
        {
            return;
        }
        let text = if self.timestamps { format!("{} {}", e.time, e.log) } else { e.log };
        // A closed stdout (`| head`) ends the output quietly.
        let _ = if e.stream == "stderr" {
            std::io::stderr().lock().write_all(text.as_bytes())
        } else {
            std::io::stdout().lock().write_all(text.as_bytes())
        };
    }
}

/// Every line of the log, rotated files oldest first.
fn all_lines(path: &Path) -> Vec<String> {
    let mut files: Vec<_> = (1..100).map(|i| logfile::rotated(path, i)).take_while(|p| p.exists()).collect();
    files.reverse();
    files.push(path.to_path_buf());
    let mut out = Vec::new();
    for f in files {
        if let Ok(file) = File::open(&f) {
            out.extend(BufReader::new(file).lines().map_while(Result::ok));
        }
    }
    out
}

pub(crate) fn run(config: &Config, a: &LogsArgs) -> anyhow::Result<i32> {
    let mut store = Store::open(&config.data_root)?;
    let c = store.lookup(&a.container)?;
    if c.host_config.log_config.kind == "none" {
        anyhow::bail!("configured logging driver does not support reading");
    }
    let now = Utc::now();
    let filter = Filter {
        since: a.since.as_deref().map(|s| parse_timestamp(s, now)).transpose()?,
        until: a.until.as_deref().map(|s| parse_timestamp(s, now)).transpose()?,
        timestamps: a.timestamps,
    };
    let path = Layout::new(config, &c.id).log_file();
    let lines = all_lines(&path);
    let skip = match a.tail.as_str() {
        "all" => 0,
        n => lines
            .len()
            .saturating_sub(n.parse::<usize>().map_err(|_| anyhow::anyhow!("invalid value for \"tail\": {n:?}"))?),
    };
    for l in &lines[skip..] {
        filter.print(l);
    }
    let _ = std::io::stdout().flush();
    if !a.follow {
        return Ok(0);
    }
    follow(config, &mut store, &c.id, &path, &filter)
}

/// Keep printing what is appended, across rotations, until the container
/// is down and its supervisor gone.
fn follow(config: &Config, store: &mut Store, id: &str, path: &Path, filter: &Filter) -> anyhow::Result<i32> {
    let mut file = File::open(path).ok();
    let mut ino = file.as_ref().and_then(|f| f.metadata().ok()).map(|m| m.ino());
    if let Some(f) = file.as_mut() {
        f.seek(SeekFrom::End(0))?;
    }
    let mut pending = String::new();
    let mut last_pass = false;
    loop {
        let mut progressed = false;
        if let Some(f) = file.as_mut() {
            let mut reader = BufReader::new(&mut *f);
            loop {
                let mut line = String::new();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        progressed = true;
                        pending.push_str(&line);
                        if pending.ends_with('\n') {
                            filter.print(pending.trim_end_matches('\n'));
                            pending.clear();
                        }
                    }
                }
            }
            let _ = std::io::stdout().flush();
        }
        // Rotated: the name now points at a new file.
        let now_ino = std::fs::metadata(path).ok().map(|m| m.ino());
        if now_ino.is_some() && now_ino != ino {
            file = File::open(path).ok();
            ino = now_ino;
            continue;
        }
        if !progressed {
            if last_pass {
                return Ok(0);
            }
            let c = lifecycle::reload(config, store, id)?;
            // Down: read once more, for lines written just before the exit was recorded.
            last_pass = !lifecycle::is_active(&c) && c.supervisor.as_ref().is_none_or(|s| !is_alive(s));
            if !last_pass {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}
