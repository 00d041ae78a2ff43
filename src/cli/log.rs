//! Logging as runc does it: `--log FILE` (default stderr), `--log-format text|json`,
//! `--debug`. JSON lines carry exactly runc's keys `level`, `msg`, `time`, because
//! containerd's shim shows the last line and podman parses the file as one object.
//! The subscriber is our own (`LineSubscriber`, a few lines): berth logs events
//! only, one line each, so tracing-subscriber's registry and formatters would be
//! code in every invocation's pages for nothing.

use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::{Event, Level, Metadata, Subscriber, span};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Where log lines go; shared with the error printer in the bin.
#[derive(Clone)]
pub struct LogSink {
    file: Option<Arc<Mutex<std::fs::File>>>,
    /// No `--log`: lines go to our stderr as it was when we started (a copy of
    /// fd 2), not to whatever fd 2 is later — init makes it the container's pty
    /// or stdio, and nothing of ours may be written there.
    stderr: bool,
    pub format: LogFormat,
}

impl LogSink {
    pub fn is_stderr(&self) -> bool {
        self.stderr
    }

    /// Write one error line (the last line of a failed command).
    pub fn error(&self, msg: &str) {
        let line = format_line(self.format, Level::ERROR, msg);
        self.write(&line);
    }

    fn write(&self, line: &str) {
        match &self.file {
            Some(f) => {
                if let Ok(mut f) = f.lock() {
                    let _ = f.write_all(line.as_bytes());
                }
            }
            None => {
                let _ = std::io::stderr().write_all(line.as_bytes());
            }
        }
    }
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::ERROR => "error",
        Level::WARN => "warning",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "trace",
    }
}

fn format_line(format: LogFormat, level: Level, msg: &str) -> String {
    let time = crate::sys::time::now_rfc3339();
    match format {
        LogFormat::Json => {
            let v = serde_json::json!({"level": level_name(level), "msg": msg, "time": time});
            format!("{v}\n")
        }
        LogFormat::Text => format!("time={time:?} level={} msg={msg:?}\n", level_name(level)),
    }
}

/// Set up tracing. Returns the sink the bin uses for the final error line.
pub fn init(log: Option<&Path>, format: LogFormat, debug: bool) -> std::io::Result<LogSink> {
    let file = match log {
        Some(p) => {
            Some(OpenOptions::new().create(true).append(true).custom_flags(libc::O_CLOEXEC).mode(0o644).open(p)?)
        }
        // F_DUPFD_CLOEXEC: the copy is gone at the container's execve. If fd 2 is
        // closed there is nowhere to write, as before.
        None => std::io::stderr().as_fd().try_clone_to_owned().ok().map(std::fs::File::from),
    };
    let sink = LogSink { file: file.map(|f| Arc::new(Mutex::new(f))), stderr: log.is_none(), format };
    let level = if debug { Level::DEBUG } else { Level::WARN };
    let _ = tracing::subscriber::set_global_default(LineSubscriber { sink: sink.clone(), max: level });
    Ok(sink)
}

/// Every event at `max` or more severe becomes one line on the sink; spans are
/// not used.
struct LineSubscriber {
    sink: LogSink,
    max: Level,
}

impl Subscriber for LineSubscriber {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        // tracing orders levels by verbosity: ERROR < WARN < … < TRACE.
        *metadata.level() <= self.max
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::from_level(self.max))
    }

    fn new_span(&self, _span: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }

    fn record(&self, _span: &span::Id, _values: &span::Record<'_>) {}

    fn record_follows_from(&self, _span: &span::Id, _follows: &span::Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut c = Collect::default();
        event.record(&mut c);
        let msg = format!("{}{}", c.msg, c.fields);
        self.sink.write(&format_line(self.sink.format, *event.metadata().level(), &msg));
    }

    fn enter(&self, _span: &span::Id) {}

    fn exit(&self, _span: &span::Id) {}
}

#[derive(Default)]
struct Collect {
    msg: String,
    fields: String,
}

impl Visit for Collect {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.msg, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.msg.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_line_has_exactly_runc_keys() {
        let line = format_line(LogFormat::Json, Level::ERROR, "container x: boom");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["level", "msg", "time"]);
        assert_eq!(v["level"], "error");
        assert_eq!(v["msg"], "container x: boom");
        assert!(line.ends_with('\n'));
    }

    #[test]
    fn text_line_is_logrus_style() {
        let line = format_line(LogFormat::Text, Level::WARN, "x");
        assert!(line.contains("level=warning msg=\"x\""), "{line}");
    }

    #[test]
    fn events_below_the_level_are_dropped_and_fields_follow_the_message() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.json");
        let file = std::fs::File::create(&path).unwrap();
        let sink = LogSink { file: Some(Arc::new(Mutex::new(file))), stderr: false, format: LogFormat::Json };
        tracing::subscriber::with_default(LineSubscriber { sink, max: Level::WARN }, || {
            tracing::debug!("not shown");
            tracing::warn!(id = "c1", "hook failed");
        });
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 1, "{text}");
        assert_eq!(lines[0]["level"], "warning");
        assert_eq!(lines[0]["msg"], "hook failed id=c1");
    }
}
