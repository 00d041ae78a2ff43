//! The build's progress output, in one of docker's two shapes:
//!
//! - BuildKit's plain progress on stderr (docker 23+'s default; what
//!   `--progress plain`, and `auto` without a terminal, print): numbered
//!   vertices (`#4 [2/3] COPY a /a`), each ending `#4 CACHED`,
//!   `#4 DONE 0.3s` or `#4 ERROR: …`; RUN's output as `#4 0.245 line`.
//! - the classic builder's lines on stdout (`DOCKER_BUILDKIT=0`):
//!   `Step N/M : …`, ` ---> Using cache`, `Successfully built <id>`.
//!
//! Under `-q` the lines are kept and shown only when the build fails.

use std::io::Write;
use std::time::Instant;

/// Which builder's output to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Style {
    #[default]
    BuildKit,
    Classic,
}

impl Style {
    /// `DOCKER_BUILDKIT` as docker's CLI reads it (Go's `ParseBool`); unset
    /// or empty is BuildKit, docker's default since 23.0.
    pub(crate) fn from_env(value: Option<&str>) -> Result<Style, String> {
        match value {
            None | Some("" | "1" | "t" | "T" | "true" | "TRUE" | "True") => Ok(Style::BuildKit),
            Some("0" | "f" | "F" | "false" | "FALSE" | "False") => Ok(Style::Classic),
            Some(v) => Err(format!(
                "DOCKER_BUILDKIT environment variable expects boolean value: strconv.ParseBool: parsing {v:?}: invalid syntax"
            )),
        }
    }
}

/// docker 23+'s notice when the classic builder is asked for.
pub(crate) const LEGACY_NOTICE: &str =
    "DEPRECATED: The legacy builder is deprecated and will be removed in a future release.
            BuildKit is currently disabled; enable it by removing the DOCKER_BUILDKIT=0
            environment-variable.
";

/// The BuildKit vertex being printed.
struct Vertex {
    n: usize,
    name: String,
    started: Instant,
    /// Its output lines (`0.245 hi`), for the error block.
    logs: Vec<String>,
}

pub(crate) struct Output {
    pub style: Style,
    pub quiet: bool,
    pub kept: Vec<u8>,
    next: usize,
    open: Option<Vertex>,
}

impl Output {
    pub(crate) fn new(style: Style, quiet: bool) -> Output {
        Output { style, quiet, kept: Vec::new(), next: 0, open: None }
    }

    pub(crate) fn buildkit(&self) -> bool {
        self.style == Style::BuildKit
    }

    fn emit(&mut self, s: &str) {
        if self.quiet {
            self.kept.extend_from_slice(s.as_bytes());
            self.kept.push(b'\n');
        } else if self.buildkit() {
            let _ = writeln!(std::io::stderr().lock(), "{s}");
        } else {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{s}");
            let _ = out.flush();
        }
    }

    /// A classic builder's line (BuildKit has none like it).
    pub(crate) fn line(&mut self, s: &str) {
        if !self.buildkit() {
            self.emit(s);
        }
    }

    /// A vertex with no end line (BuildKit's `#0 building with …`).
    pub(crate) fn note(&mut self, name: &str) {
        if self.buildkit() {
            self.done();
            let n = self.next;
            self.next += 1;
            self.emit(&format!("#{n} {name}"));
            self.emit("");
        }
    }

    /// Start vertex `#N name` (ending the one still open).
    pub(crate) fn start(&mut self, name: &str) {
        if !self.buildkit() {
            return;
        }
        self.done();
        let n = self.next;
        self.next += 1;
        self.emit(&format!("#{n} {name}"));
        self.open = Some(Vertex { n, name: name.to_string(), started: Instant::now(), logs: Vec::new() });
    }

    /// A status line of the open vertex (`#1 transferring dockerfile: 99B done`).
    pub(crate) fn status(&mut self, text: &str) {
        if let Some(n) = self.open.as_ref().map(|v| v.n) {
            self.emit(&format!("#{n} {text}"));
        }
    }

    /// A vertex that starts and ends at once, with its status lines.
    pub(crate) fn vertex(&mut self, name: &str, status: &[String]) {
        self.start(name);
        for s in status {
            self.status(s);
        }
        self.done();
    }

    /// The open vertex was a cache hit.
    pub(crate) fn cached(&mut self) {
        if let Some(v) = self.open.take() {
            self.emit(&format!("#{} CACHED", v.n));
            self.emit("");
        }
    }

    /// The open vertex finished.
    pub(crate) fn done(&mut self) {
        if let Some(v) = self.open.take() {
            self.emit(&format!("#{} DONE {:.1}s", v.n, v.started.elapsed().as_secs_f64()));
            self.emit("");
        }
    }

    /// A RUN's output (stdout and stderr together): BuildKit prefixes each
    /// line with the vertex and the seconds since it started; the classic
    /// builder's goes straight to stdout (or, under `-q`, is kept as is).
    pub(crate) fn run_output(&mut self, text: &[u8]) {
        let Some(v) = self.open.as_mut() else {
            if self.quiet {
                self.kept.extend_from_slice(text);
            } else if self.buildkit() {
                let _ = std::io::stderr().write_all(text);
            }
            return;
        };
        let secs = format!("{:.3}", v.started.elapsed().as_secs_f64());
        let n = v.n;
        let lines: Vec<String> = String::from_utf8_lossy(text).lines().map(|l| format!("{secs} {l}")).collect();
        v.logs.extend(lines.iter().cloned());
        for l in lines {
            self.emit(&format!("#{n} {l}"));
        }
    }

    /// The open vertex failed: `#N ERROR: message`, then BuildKit's block
    /// naming the step with its last output lines.
    pub(crate) fn failed(&mut self, message: &str) {
        let Some(v) = self.open.take() else { return };
        self.emit(&format!("#{} ERROR: {message}", v.n));
        self.emit("------");
        self.emit(&format!(" > {}:", v.name));
        for l in &v.logs[v.logs.len().saturating_sub(10)..] {
            self.emit(l);
        }
        self.emit("------");
    }
}

/// BuildKit's step names: `[2/3] COPY a /a`, in a multi-stage file
/// `[builder 2/3] …` or `[stage-1 2/3] …`; the count is the stage's FROM
/// of an image and its RUN, COPY, ADD and WORKDIR steps.
pub(crate) struct StepNames {
    pub stage: Option<String>,
    pub index: usize,
    pub total: usize,
}

impl StepNames {
    pub(crate) fn next(&mut self, text: &str) -> String {
        self.index += 1;
        let width = self.total.to_string().len();
        let stage = self.stage.as_ref().map_or_else(String::new, |s| format!("{s} "));
        format!("[{stage}{:>width$}/{}] {text}", self.index, self.total)
    }
}

/// BuildKit's message for a RUN that exited non-zero.
pub(crate) fn run_failed(command: &str, code: i32) -> String {
    format!("process {command:?} did not complete successfully: exit code: {code}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_buildkit_is_a_go_bool() {
        assert_eq!(Style::from_env(None), Ok(Style::BuildKit));
        assert_eq!(Style::from_env(Some("1")), Ok(Style::BuildKit));
        assert_eq!(Style::from_env(Some("0")), Ok(Style::Classic));
        assert_eq!(Style::from_env(Some("false")), Ok(Style::Classic));
        assert!(Style::from_env(Some("no")).unwrap_err().contains("expects boolean value"));
    }

    #[test]
    fn step_names_pad_the_index_to_the_total() {
        let mut s = StepNames { stage: None, index: 0, total: 3 };
        assert_eq!(s.next("FROM x"), "[1/3] FROM x");
        let mut s = StepNames { stage: Some("stage-1".into()), index: 0, total: 12 };
        assert_eq!(s.next("RUN a"), "[stage-1  1/12] RUN a");
        assert_eq!(
            run_failed("/bin/sh -c exit 3", 3),
            "process \"/bin/sh -c exit 3\" did not complete successfully: exit code: 3"
        );
    }
}
