//! What `pull` shows while it works, in docker's words: on a terminal one
//! line per layer (`Pulling fs layer`, `Waiting`, `Downloading` with a bar,
//! bytes and rate, `Verifying Checksum`, `Extracting`, `Pull complete`,
//! `Already exists`) redrawn in place; without one, a plain line per status
//! change (no bars); with `-q`, nothing but what the command prints at the end.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Terminal,
    Plain,
    Quiet,
}

/// The progress display of one command.
#[derive(Clone)]
pub(crate) struct Progress {
    mode: Mode,
    multi: Arc<MultiProgress>,
}

/// One layer's line.
#[derive(Clone)]
pub(crate) struct Line {
    mode: Mode,
    id: String,
    bar: Option<ProgressBar>,
    /// The last status printed (plain mode prints changes only).
    last: Arc<Mutex<String>>,
}

impl Progress {
    /// Terminal when stdout is one, unless `quiet`.
    pub(crate) fn new(quiet: bool) -> Progress {
        let mode = match (quiet, std::io::stdout().is_terminal()) {
            (true, _) => Mode::Quiet,
            (false, true) => Mode::Terminal,
            (false, false) => Mode::Plain,
        };
        let target = if mode == Mode::Terminal { ProgressDrawTarget::stdout() } else { ProgressDrawTarget::hidden() };
        Progress { mode, multi: Arc::new(MultiProgress::with_draw_target(target)) }
    }

    /// A status line not tied to a layer ("latest: Pulling from library/busybox").
    pub(crate) fn message(&self, text: &str) {
        match self.mode {
            Mode::Quiet => {}
            Mode::Terminal => {
                let _ = self.multi.println(text);
            }
            Mode::Plain => println!("{text}"),
        }
    }

    /// A line for layer `id` (docker's 12-character short digest).
    pub(crate) fn layer(&self, id: &str, status: &str) -> Line {
        let bar = (self.mode == Mode::Terminal).then(|| {
            let b = self.multi.add(ProgressBar::new(0));
            b.set_style(idle_style());
            b.set_prefix(id.to_string());
            b.set_message(status.to_string());
            b
        });
        let line = Line { mode: self.mode, id: id.to_string(), bar, last: Arc::default() };
        line.status(status);
        line
    }
}

fn idle_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix}: {msg}").unwrap_or_else(|_| ProgressStyle::default_bar())
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix}: {msg} [{bar:50}] {bytes}/{total_bytes} {bytes_per_sec}")
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

impl Line {
    /// A new status word; plain mode prints it on its own line.
    pub(crate) fn status(&self, status: &str) {
        match (&self.bar, self.mode) {
            (Some(b), _) => {
                b.set_style(idle_style());
                b.set_message(status.to_string());
            }
            (None, Mode::Plain) => self.print_changed(status),
            _ => {}
        }
    }

    fn print_changed(&self, status: &str) {
        let mut last = self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if *last != status {
            println!("{}: {status}", self.id);
            *last = status.to_string();
        }
    }

    /// Start showing a byte count out of `total`.
    pub(crate) fn downloading(&self, total: u64) {
        self.transferring("Downloading", total);
    }

    /// Start showing a byte count out of `total` under `word` (`Pushing`).
    pub(crate) fn transferring(&self, word: &str, total: u64) {
        match (&self.bar, self.mode) {
            (Some(b), _) => {
                b.set_length(total);
                b.set_position(0);
                b.set_style(bar_style());
                b.set_message(word.to_string());
                b.reset_eta();
            }
            (None, Mode::Plain) => self.print_changed(word),
            _ => {}
        }
    }

    pub(crate) fn advance(&self, n: u64) {
        if let Some(b) = &self.bar {
            b.inc(n);
        }
    }

    /// Final word; the terminal line stays on screen.
    pub(crate) fn finish(&self, status: &str) {
        self.status(status);
        if let Some(b) = &self.bar {
            b.finish();
        }
    }
}
