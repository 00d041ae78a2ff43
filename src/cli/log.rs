//! Logging as runc does it: `--log FILE` (default stderr), `--log-format text|json`,
//! `--debug`. JSON lines carry exactly runc's keys `level`, `msg`, `time`, because
//! containerd's shim shows the last line and podman parses the file as one object.

use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
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
    let writer_sink = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(level)
        .event_format(LineFormat { format })
        .with_writer(move || SinkWriter(writer_sink.clone()))
        .finish();
    let _ = tracing::subscriber::set_global_default(subscriber);
    Ok(sink)
}

struct SinkWriter(LogSink);

impl Write for SinkWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(&String::from_utf8_lossy(buf));
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct LineFormat {
    format: LogFormat,
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

impl<S, N> FormatEvent<S, N> for LineFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, _ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> std::fmt::Result {
        let mut c = Collect::default();
        event.record(&mut c);
        let msg = format!("{}{}", c.msg, c.fields);
        writer.write_str(&format_line(self.format, *event.metadata().level(), &msg))
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
}
