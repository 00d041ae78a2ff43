//! `events` (and `system events`): docker's real-time events, read from the
//! store's journal (`crate::events`). Without `--since`/`--until` only new
//! events are shown; `--since` replays the journal from then; `--until`
//! stops there (at once when it is past). Following polls the journal
//! every 100 ms by sequence number, which is one indexed read.

use std::io::Write;
use std::time::Duration;

use chrono::Utc;

use crate::config::Config;
use crate::db::Db;
use crate::events::{self, Event, filter::Filter, message};
use crate::format::{Mode, Parsed};

/// How often a follower looks for new rows.
const POLL: Duration = Duration::from_millis(100);

#[derive(Debug, clap::Args)]
pub(crate) struct EventsArgs {
    /// Filter output based on conditions provided
    #[arg(short = 'f', long = "filter")]
    pub filter: Vec<String>,
    /// Format output using a custom template
    #[arg(long)]
    pub format: Option<String>,
    /// Show all events created since timestamp
    #[arg(long)]
    pub since: Option<String>,
    /// Stream events until this timestamp
    #[arg(long)]
    pub until: Option<String>,
}

/// docker's exit status for a `--format` that does not parse.
const EXIT_BAD_FORMAT: i32 = 64;

/// What `--format` asked for: the message's JSON, or a template over its
/// Go fields.
enum Output {
    Line,
    Json,
    Template(Parsed),
}

/// The `--format` template, checked on an empty message as docker does.
fn template(format: Option<&str>) -> anyhow::Result<Output> {
    let source = match format {
        None | Some("") => return Ok(Output::Line),
        Some("json") => return Ok(Output::Json),
        Some(f) if f.trim() == "{{json .}}" => return Ok(Output::Json),
        Some(f) => f,
    };
    let empty = message::template_fields(&Event { time_nano: 0, ..Event::new("", "", "") });
    let parsed = Parsed::new(source, Mode::Message).and_then(|p| p.render(&empty).map(|_| p));
    match parsed {
        Ok(p) => Ok(Output::Template(p)),
        Err(e) => {
            eprintln!("Error parsing format: {e}");
            Err(super::ExitStatus(EXIT_BAD_FORMAT).into())
        }
    }
}

fn nanos(value: Option<&str>) -> anyhow::Result<Option<i64>> {
    let Some(v) = value.filter(|v| !v.is_empty()) else { return Ok(None) };
    let t = crate::format::time::parse_timestamp(v, Utc::now())?;
    Ok(Some(t.timestamp_nanos_opt().unwrap_or(i64::MAX)))
}

pub(crate) fn run(config: &Config, a: &EventsArgs) -> anyhow::Result<i32> {
    let filter = Filter::parse(&a.filter)?;
    let template = template(a.format.as_deref())?;
    let (since, until) = (nanos(a.since.as_deref())?, nanos(a.until.as_deref())?);
    if let (Some(s), Some(u)) = (since, until)
        && s > u
    {
        anyhow::bail!(
            "`since` time ({}) cannot be after `until` time ({})",
            a.since.as_deref().unwrap_or(""),
            a.until.as_deref().unwrap_or("")
        );
    }
    let db = Db::open(&config.data_root.join("berth.db"))?;
    let mut out = std::io::stdout().lock();
    let mut cursor = 0;
    let show = |e: &Event, out: &mut std::io::StdoutLock<'_>| -> anyhow::Result<bool> {
        if !filter.include(e) || since.is_some_and(|s| e.time_nano < s) || until.is_some_and(|u| e.time_nano > u) {
            return Ok(true);
        }
        let text = match &template {
            Output::Line => message::line(e),
            Output::Json => crate::format::json_text(&message::to_json(e)),
            Output::Template(t) => t.render(&message::template_fields(e))?,
        };
        // A closed pipe (`events | head`) ends the command quietly.
        Ok(writeln!(out, "{text}").and_then(|()| out.flush()).is_ok())
    };
    if since.is_some() || until.is_some() {
        for (seq, e) in events::read_after(&db, 0)? {
            cursor = seq;
            if !show(&e, &mut out)? {
                return Ok(0);
            }
        }
    } else {
        cursor = events::last_seq(&db)?;
    }
    loop {
        let now = Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX);
        for (seq, e) in events::read_after(&db, cursor)? {
            cursor = seq;
            if !show(&e, &mut out)? {
                return Ok(0);
            }
        }
        if until.is_some_and(|u| now > u) {
            return Ok(0);
        }
        std::thread::sleep(POLL);
    }
}
