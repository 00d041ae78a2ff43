//! docker's health checks (moby daemon/health.go), run by the supervisor:
//! the first probe `interval` after the start, each next one `interval`
//! after the last result; a probe is `<runtime> exec` of the process.json
//! berthctl wrote (the container's user, env and working dir, as docker's
//! exec), its stdout and stderr kept together up to 4096 bytes ("..." after
//! a cut). Exit 0 is healthy and ends the start period; a failure in the
//! start period does not count while the status is `starting`; `retries`
//! failures in a row make it `unhealthy`. A probe that runs past `timeout` is
//! killed and counts as docker's "Health check exceeded timeout (…)", -1.
//!
//! Each result replaces `<run>/health` (temp file + rename: a reader sees a
//! whole file, old or new; `container::health` reads it), and a change of
//! status runs `berthctl __hook <id> health <status>` for docker's event.
//! The probe's runtime process dies with us (PR_SET_PDEATHSIG), and is
//! killed, with the process it started, when the container exits.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::args::Args;

/// docker's cap on a probe's output, and on the log it keeps.
const MAX_OUTPUT: usize = 4096;
const MAX_LOG: usize = 5;
/// berthctl's mark of a paused container in the run dir (`container::health`).
const PAUSED_FILE: &str = "paused";

/// The schedule berthctl passed (docker's defaults already filled in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Schedule {
    /// The probe's process.json.
    pub process: PathBuf,
    pub interval: Duration,
    pub timeout: Duration,
    pub start_period: Duration,
    pub retries: u32,
}

/// A probe under way.
struct Probe {
    child: Child,
    output: File,
    buf: Vec<u8>,
    truncated: bool,
    start: Instant,
    start_ns: u128,
}

/// One start's health checks.
pub(crate) struct Monitor<'a> {
    args: &'a Args,
    schedule: &'a Schedule,
    status: &'static str,
    streak: u32,
    /// Results as the state file's lines, oldest first.
    log: VecDeque<String>,
    started: Instant,
    next: Instant,
    probe: Option<Probe>,
}

fn unix_ns() -> u128 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}

impl<'a> Monitor<'a> {
    /// A start: `starting`, streak 0, the log berthctl seeded the file with.
    pub(crate) fn start(args: &'a Args, schedule: &'a Schedule) -> Monitor<'a> {
        let seeded = std::fs::read_to_string(args.run.join("health")).unwrap_or_default();
        let log: VecDeque<String> = seeded.lines().skip(1).map(str::to_string).collect();
        let now = Instant::now();
        let m = Monitor {
            args,
            schedule,
            status: "starting",
            streak: 0,
            log,
            started: now,
            next: now + schedule.interval,
            probe: None,
        };
        m.write_state();
        m
    }

    /// When the loop must call `tick` next.
    pub(crate) fn deadline(&self) -> Instant {
        match &self.probe {
            Some(p) => p.start + self.schedule.timeout,
            None => self.next,
        }
    }

    /// The running probe's output, for the loop's poll.
    pub(crate) fn output_fd(&self) -> Option<BorrowedFd<'_>> {
        self.probe.as_ref().map(|p| p.output.as_fd())
    }

    /// Start a due probe, or end one past its timeout. While the container
    /// is paused (berthctl's `<run>/paused`) no probe starts, and one that
    /// hung in the frozen container is dropped without a result: docker
    /// stops the checks of a paused container.
    pub(crate) fn tick(&mut self) {
        let now = Instant::now();
        if let Some(p) = &self.probe {
            if now >= p.start + self.schedule.timeout {
                let (start, start_ns) = (p.start, p.start_ns);
                self.kill_probe();
                self.probe = None;
                if self.is_paused() {
                    self.next = now + self.schedule.interval;
                    return;
                }
                let text = format!("Health check exceeded timeout ({})", go_duration(self.schedule.timeout));
                self.finish(start, start_ns, -1, text);
            }
        } else if now >= self.next {
            if self.is_paused() {
                self.next = now + self.schedule.interval;
            } else {
                self.launch();
            }
        }
    }

    fn is_paused(&self) -> bool {
        self.args.run.join(PAUSED_FILE).exists()
    }

    /// Read what the probe wrote so far (kept up to the cap).
    pub(crate) fn read_output(&mut self) {
        let Some(p) = self.probe.as_mut() else { return };
        let mut chunk = [0u8; 8192];
        loop {
            match p.output.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    let keep = n.min(MAX_OUTPUT - p.buf.len());
                    p.buf.extend_from_slice(&chunk[..keep]);
                    p.truncated |= keep < n;
                }
            }
        }
    }

    /// A child of ours exited: if it was the probe's runtime, that is its result.
    pub(crate) fn child_exited(&mut self, pid: i32, code: i32) {
        if self.probe.as_ref().is_none_or(|p| p.child.id() as i32 != pid) {
            return;
        }
        self.read_output();
        let Some(p) = self.probe.take() else { return };
        // The runtime could not start the probe (255 and an error in its
        // log): docker's -1 with its exec error, as `berthctl exec` prints it.
        let log = self.args.run.join("health-runtime.log");
        let failed =
            (code == 255).then(|| std::fs::read_to_string(&log).ok()).flatten().and_then(|l| runtime_error(&l));
        let _ = std::fs::remove_file(&log);
        if let Some(message) = failed {
            let text = format!("OCI runtime exec failed: exec failed: {message}: unknown");
            return self.finish(p.start, p.start_ns, -1, text);
        }
        let mut text = String::from_utf8_lossy(&p.buf).into_owned();
        if p.truncated {
            text.push_str("...");
        }
        self.finish(p.start, p.start_ns, i64::from(code), text);
    }

    /// The container exited: no more probes, none left running.
    pub(crate) fn stop(&mut self) {
        self.kill_probe();
        self.probe = None;
    }

    fn launch(&mut self) {
        let pid_file = self.args.run.join("health.pid");
        let _ = std::fs::remove_file(&pid_file);
        let (start, start_ns) = (Instant::now(), unix_ns());
        match spawn(self.args, &self.schedule.process, &pid_file) {
            Ok((child, output)) => {
                self.probe = Some(Probe { child, output, buf: Vec::new(), truncated: false, start, start_ns })
            }
            // docker: a probe that cannot run is a failure with the error as output.
            Err(e) => {
                eprintln!("health check of {}: {e}", self.args.id);
                self.finish(start, start_ns, -1, e);
            }
        }
    }

    /// SIGKILL the process the probe runs in the container (its pid file)
    /// and the runtime process waiting on it; the loop reaps the runtime.
    fn kill_probe(&mut self) {
        let Some(p) = self.probe.as_mut() else { return };
        let pid_file = self.args.run.join("health.pid");
        if let Some(pid) = std::fs::read_to_string(&pid_file).ok().and_then(|t| t.trim().parse::<i32>().ok())
            && pid > 0
        {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let _ = p.child.kill();
    }

    /// Record a result as docker's handleProbeResult does.
    fn finish(&mut self, start: Instant, start_ns: u128, code: i64, output: String) {
        let end_ns = unix_ns();
        self.log.push_back(format!("{start_ns} {end_ns} {code} {}", json_string(&output)));
        while self.log.len() > MAX_LOG {
            self.log.pop_front();
        }
        let old = self.status;
        if code == 0 {
            self.streak = 0;
            self.status = "healthy";
        } else if self.status != "starting" || start.duration_since(self.started) >= self.schedule.start_period {
            self.streak += 1;
            if self.streak >= self.schedule.retries {
                self.status = "unhealthy";
            }
        }
        self.next = Instant::now() + self.schedule.interval;
        self.write_state();
        if old != self.status {
            crate::hook::health(self.args, self.status);
        }
    }

    /// Replace `<run>/health` whole.
    fn write_state(&self) {
        let mut text = format!("{} {}\n", self.status, self.streak);
        for line in &self.log {
            text.push_str(line);
            text.push('\n');
        }
        let (tmp, path) = (self.args.run.join("health.tmp"), self.args.run.join("health"));
        if let Err(e) = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, &path)) {
            eprintln!("write {path:?}: {e}");
        }
    }
}

/// `<runtime> exec --process FILE --pid-file PID ID`, stdout and stderr on
/// one pipe whose read end we keep (non-blocking).
fn spawn(a: &Args, process: &Path, pid_file: &Path) -> Result<(Child, File), String> {
    use nix::fcntl::OFlag;
    let (read, write) =
        nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK).map_err(|e| format!("probe output pipe: {e}"))?;
    let write2 = write.try_clone().map_err(|e| format!("probe output pipe: {e}"))?;
    let mut cmd = Command::new(&a.runtime);
    cmd.arg("--root").arg(&a.runtime_root);
    cmd.arg("--log").arg(a.run.join("health-runtime.log")).arg("--log-format").arg("json");
    cmd.arg("exec").arg("--process").arg(process);
    cmd.arg("--pid-file").arg(pid_file).arg(&a.id);
    cmd.stdin(Stdio::null()).stdout(Stdio::from(write)).stderr(Stdio::from(write2));
    crate::sys::kill_with_parent(&mut cmd);
    let child = cmd.spawn().map_err(|e| format!("run {:?} exec: {e}", a.runtime))?;
    // `cmd` holds the write ends: dropped here, so only the probe has them.
    drop(cmd);
    Ok((child, File::from(read)))
}

/// The message of the runtime's last error in its `--log-format json` log
/// (runc's `{"level":"error","msg":"…","time":"…"}` lines).
fn runtime_error(log: &str) -> Option<String> {
    log.lines().rev().filter(|l| l.contains(r#""level":"error""#)).find_map(|l| json_field(l, "msg"))
}

/// The string value of `key` in one flat JSON object line.
fn json_field(line: &str, key: &str) -> Option<String> {
    let start = line.find(&format!("\"{key}\":\""))? + key.len() + 4;
    let mut out = String::new();
    let mut chars = line[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32).unwrap_or('\u{fffd}'));
                }
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

/// A JSON string of `s` (the state file's output field), escaped as the
/// json-file log's lines are.
fn json_string(s: &str) -> String {
    let mut out = vec![b'"'];
    crate::logwriter::escape_into(&mut out, s);
    out.push(b'"');
    // Escaping ASCII bytes of a &str leaves it UTF-8.
    String::from_utf8(out).unwrap_or_default()
}

/// Go's `time.Duration.String()`: "500ms", "1.5s", "1m30s", "1h0m0s".
fn go_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    let frac = |v: u128, unit: u128, width: usize| {
        let (whole, rest) = (v / unit, v % unit);
        if rest == 0 {
            return whole.to_string();
        }
        let digits = format!("{rest:0width$}");
        format!("{whole}.{}", digits.trim_end_matches('0'))
    };
    match ns {
        0 => "0s".into(),
        n if n < 1_000 => format!("{n}ns"),
        n if n < 1_000_000 => format!("{}µs", frac(n, 1_000, 3)),
        n if n < 1_000_000_000 => format!("{}ms", frac(n, 1_000_000, 6)),
        n => {
            let (h, m) = (n / 3_600_000_000_000, n / 60_000_000_000 % 60);
            let s = frac(n % 60_000_000_000, 1_000_000_000, 9);
            match (h, m) {
                (0, 0) => format!("{s}s"),
                (0, m) => format!("{m}m{s}s"),
                (h, m) => format!("{h}h{m}m{s}s"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_as_go() {
        let ms = Duration::from_millis;
        assert_eq!(go_duration(ms(500)), "500ms");
        assert_eq!(go_duration(ms(1000)), "1s");
        assert_eq!(go_duration(ms(1500)), "1.5s");
        assert_eq!(go_duration(ms(90_000)), "1m30s");
        assert_eq!(go_duration(ms(3_600_000)), "1h0m0s");
        assert_eq!(go_duration(Duration::from_micros(1500)), "1.5ms");
        assert_eq!(go_duration(Duration::from_secs(30)), "30s");
    }

    #[test]
    fn runtime_errors_are_read_from_its_json_log() {
        let log = "{\"level\":\"info\",\"msg\":\"x\"}\n{\"level\":\"error\",\"msg\":\"exec: \\\"/no\\\": stat \\u0041\",\"time\":\"t\"}\n";
        assert_eq!(runtime_error(log).as_deref(), Some("exec: \"/no\": stat A"));
        assert_eq!(runtime_error("{\"level\":\"info\",\"msg\":\"x\"}"), None);
    }

    #[test]
    fn output_is_a_json_string() {
        assert_eq!(json_string("a\"b\\c\n\u{1}é"), r#""a\"b\\c\n\u0001é""#);
    }
}
