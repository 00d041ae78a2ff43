//! docker's health checks, berthctl's side: `Config.Healthcheck` from the
//! `--health-*` flags (docker's client checks, cli/command/container/opts.go)
//! merged over the image's HEALTHCHECK (moby daemon/commit.go `merge`) and
//! checked as docker's daemon does (daemon/container.go: at least 1ms); and
//! `State.Health` read back. The checks themselves run in the supervisor
//! (`supervise/health.rs`), which never opens the store: after each probe it
//! replaces `<run>/health` (temp file + rename, so a reader sees the old or
//! the new file, never half of one), and it runs `berthctl __hook <id> health
//! <status>` only when the status changes, for the `health_status` event.
//! When the container exits, the hook that records the exit copies the file
//! into the record (status `unhealthy`, as docker's `SetStopped`), and the
//! next start seeds the file from the record so the log carries over.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::record::Container;

/// docker's `MinimumDuration` for the healthcheck durations.
const MINIMUM_NS: i64 = 1_000_000;
/// docker's defaults (daemon/health.go) for what the config leaves at zero.
pub(crate) const DEFAULT_INTERVAL_NS: i64 = 30_000_000_000;
pub(crate) const DEFAULT_TIMEOUT_NS: i64 = 30_000_000_000;
pub(crate) const DEFAULT_RETRIES: i64 = 3;
/// The supervisor's file in the container's run dir.
pub(crate) const STATE_FILE: &str = "health";
/// The probe's process.json, written by berthctl before each start.
pub(crate) const PROCESS_FILE: &str = "health-process.json";
/// Present while `pause` holds the container: the supervisor starts no probe.
const PAUSED_FILE: &str = "paused";

/// Mark the container paused (before the runtime freezes it) or not (after
/// it thaws), so the supervisor's probes skip the frozen time as docker's.
pub(crate) fn mark_paused(run: &Path, c: &Container, paused: bool) {
    if probe_args(c.config.healthcheck.as_ref()).is_none() {
        return;
    }
    let path = run.join(PAUSED_FILE);
    let res = if paused { std::fs::write(&path, b"") } else { std::fs::remove_file(&path) };
    if let Err(e) = res.or_else(|e| if e.kind() == std::io::ErrorKind::NotFound { Ok(()) } else { Err(e) }) {
        tracing::warn!(path = %path.display(), error = %e, "mark the health checks paused");
    }
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// docker's `container.HealthConfig`, with its JSON (zero fields left out).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct HealthConfig {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub test: Vec<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub interval: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub timeout: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub start_period: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retries: i64,
}

/// One probe's result, docker's `HealthcheckResult`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct HealthResult {
    pub start: String,
    pub end: String,
    pub exit_code: i64,
    pub output: String,
}

/// docker's `State.Health`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Health {
    pub status: String,
    pub failing_streak: i64,
    pub log: Vec<HealthResult>,
}

/// The `--health-*` flags as given (durations already parsed, in ns).
#[derive(Debug, Clone, Default)]
pub(crate) struct HealthFlags {
    pub cmd: Option<String>,
    pub interval: i64,
    pub timeout: i64,
    pub start_period: i64,
    pub retries: i64,
    pub none: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum HealthError {
    /// docker's client refuses the flags (`docker: …`, status 125).
    #[error("{0}")]
    Flags(&'static str),
    /// docker's daemon refuses the merged config ("Error response from daemon: …").
    #[error("{0}")]
    Daemon(String),
}

/// The user's `Healthcheck` from the flags, as docker's client builds it:
/// None when no flag says anything.
pub(crate) fn from_flags(f: &HealthFlags) -> Result<Option<HealthConfig>, HealthError> {
    let any = f.cmd.as_deref().is_some_and(|c| !c.is_empty())
        || f.interval != 0
        || f.timeout != 0
        || f.start_period != 0
        || f.retries != 0;
    if f.none {
        if any {
            return Err(HealthError::Flags("--no-healthcheck conflicts with --health-* options"));
        }
        return Ok(Some(HealthConfig { test: vec!["NONE".into()], ..Default::default() }));
    }
    if !any {
        return Ok(None);
    }
    for (v, msg) in [
        (f.interval, "--health-interval cannot be negative"),
        (f.timeout, "--health-timeout cannot be negative"),
        (f.retries, "--health-retries cannot be negative"),
        (f.start_period, "--health-start-period cannot be negative"),
    ] {
        if v < 0 {
            return Err(HealthError::Flags(msg));
        }
    }
    let test = match f.cmd.as_deref() {
        Some(c) if !c.is_empty() => vec!["CMD-SHELL".to_string(), c.to_string()],
        _ => Vec::new(),
    };
    Ok(Some(HealthConfig {
        test,
        interval: f.interval,
        timeout: f.timeout,
        start_period: f.start_period,
        retries: f.retries,
    }))
}

/// The image's `Healthcheck` from its raw config JSON.
pub(crate) fn of_image(config_raw: &[u8]) -> Option<HealthConfig> {
    let v: serde_json::Value = serde_json::from_slice(config_raw).ok()?;
    serde_json::from_value(v.get("config")?.get("Healthcheck")?.clone()).ok()
}

/// docker's merge: the user's fields win where set, the image fills the rest.
pub(crate) fn merge(user: Option<HealthConfig>, image: Option<HealthConfig>) -> Option<HealthConfig> {
    let Some(mut u) = user else { return image };
    if let Some(i) = image {
        if u.test.is_empty() {
            u.test = i.test;
        }
        for (mine, theirs) in [
            (&mut u.interval, i.interval),
            (&mut u.timeout, i.timeout),
            (&mut u.start_period, i.start_period),
            (&mut u.retries, i.retries),
        ] {
            if *mine == 0 {
                *mine = theirs;
            }
        }
    }
    Some(u)
}

/// docker's daemon checks (verifyContainerSettings), with its texts.
pub(crate) fn check(h: &HealthConfig) -> Result<(), HealthError> {
    for (v, what) in [(h.interval, "Interval"), (h.timeout, "Timeout")] {
        if v != 0 && v < MINIMUM_NS {
            return Err(HealthError::Daemon(format!("{what} in Healthcheck cannot be less than 1ms")));
        }
    }
    if h.retries < 0 {
        return Err(HealthError::Daemon("Retries in Healthcheck cannot be negative".into()));
    }
    if h.start_period != 0 && h.start_period < MINIMUM_NS {
        return Err(HealthError::Daemon("StartPeriod in Healthcheck cannot be less than 1ms".into()));
    }
    Ok(())
}

/// The probe's command line (docker's getProbe): `CMD` runs its arguments,
/// `CMD-SHELL` them through `/bin/sh -c`; None for `NONE`, an empty test or
/// an unknown type (docker runs nothing; `supervisor::launch` warns).
pub(crate) fn probe_args(h: Option<&HealthConfig>) -> Option<Vec<String>> {
    let test = &h?.test;
    let (kind, rest) = test.split_first()?;
    match kind.as_str() {
        "CMD" if !rest.is_empty() => Some(rest.to_vec()),
        "CMD-SHELL" if !rest.is_empty() => {
            Some(["/bin/sh".to_string(), "-c".to_string()].into_iter().chain(rest.iter().cloned()).collect())
        }
        _ => None,
    }
}

/// `State.Health` as docker shows it: None when no probe runs for the
/// config or the container never started; the supervisor's file while it
/// runs; what the last exit recorded when it is down.
pub(crate) fn current(run: &Path, c: &Container) -> Option<Health> {
    probe_args(c.config.healthcheck.as_ref())?;
    if c.state.running && !c.state.restarting {
        return Some(read_running(run));
    }
    c.state.health.clone()
}

/// The word `ps` puts after "Up …" and its `health` filter matches: none,
/// starting, healthy or unhealthy.
pub(crate) fn status_word(h: Option<&Health>) -> &'static str {
    match h.map(|h| h.status.as_str()) {
        Some("starting") => "starting",
        Some("healthy") => "healthy",
        Some("unhealthy") => "unhealthy",
        _ => "none",
    }
}

/// The schedule the supervisor runs with docker's defaults filled in:
/// interval, timeout, start period (ns) and retries.
pub(crate) fn schedule(h: &HealthConfig) -> [i64; 4] {
    let or = |v: i64, d: i64| if v > 0 { v } else { d };
    [
        or(h.interval, DEFAULT_INTERVAL_NS),
        or(h.timeout, DEFAULT_TIMEOUT_NS),
        h.start_period.max(0),
        or(h.retries, DEFAULT_RETRIES),
    ]
}

/// Go's RFC3339Nano (trailing zeros of the fraction dropped) of unix ns.
fn go_time(ns: i64) -> String {
    let t = DateTime::<Utc>::from_timestamp_nanos(ns);
    let text = t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    match text.split_once('.') {
        Some((secs, frac)) => {
            let digits = frac.trim_end_matches('Z').trim_end_matches('0');
            if digits.is_empty() { format!("{secs}Z") } else { format!("{secs}.{digits}Z") }
        }
        None => text,
    }
}

fn unix_ns(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text).ok()?.timestamp_nanos_opt()
}

/// Parse the supervisor's file: "<status> <failing streak>", then one line
/// per result, "<start ns> <end ns> <exit code> <output as a JSON string>".
pub(crate) fn parse_state(text: &str) -> Option<Health> {
    let mut lines = text.lines();
    let (status, streak) = lines.next()?.split_once(' ')?;
    let mut h = Health { status: status.to_string(), failing_streak: streak.trim().parse().ok()?, log: Vec::new() };
    for line in lines {
        let mut f = line.splitn(4, ' ');
        let (start, end, code, output) = (f.next()?, f.next()?, f.next()?, f.next()?);
        h.log.push(HealthResult {
            start: go_time(start.parse().ok()?),
            end: go_time(end.parse().ok()?),
            exit_code: code.parse().ok()?,
            output: serde_json::from_str(output).ok()?,
        });
    }
    Some(h)
}

/// The file a start begins with: "starting 0" and the log of the last run
/// (docker keeps the log across restarts and resets the rest).
pub(crate) fn seed(previous: Option<&Health>) -> String {
    let mut out = String::from("starting 0\n");
    for r in previous.map(|h| h.log.as_slice()).unwrap_or_default() {
        if let (Some(s), Some(e)) = (unix_ns(&r.start), unix_ns(&r.end)) {
            let output = serde_json::to_string(&r.output).unwrap_or_else(|_| "\"\"".into());
            out.push_str(&format!("{s} {e} {} {output}\n", r.exit_code));
        }
    }
    out
}

/// `State.Health` of a running container, from the supervisor's file (a
/// start whose first probe has not run yet is `starting` with an empty log).
pub(crate) fn read_running(run: &Path) -> Health {
    std::fs::read_to_string(run.join(STATE_FILE))
        .ok()
        .and_then(|t| parse_state(&t))
        .unwrap_or_else(|| Health { status: "starting".into(), ..Default::default() })
}

/// What the record keeps after an exit: the last state, `unhealthy` (docker
/// marks a stopped container's health so).
pub(crate) fn at_exit(run: &Path) -> Option<Health> {
    let text = std::fs::read_to_string(run.join(STATE_FILE)).ok()?;
    let mut h = parse_state(&text)?;
    h.status = "unhealthy".into();
    Some(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(cmd: Option<&str>) -> HealthFlags {
        HealthFlags { cmd: cmd.map(str::to_string), ..Default::default() }
    }

    #[test]
    fn flags_are_checked_as_dockers_client() {
        assert_eq!(from_flags(&HealthFlags::default()), Ok(None));
        let none = HealthFlags { none: true, ..Default::default() };
        assert_eq!(from_flags(&none).unwrap().unwrap().test, vec!["NONE"]);
        let both = HealthFlags { none: true, retries: 2, ..Default::default() };
        assert_eq!(from_flags(&both), Err(HealthError::Flags("--no-healthcheck conflicts with --health-* options")));
        let neg = HealthFlags { interval: -1, start_period: -1, ..Default::default() };
        assert_eq!(from_flags(&neg), Err(HealthError::Flags("--health-interval cannot be negative")));
        let h = from_flags(&HealthFlags { interval: 5, ..flags(Some("true")) }).unwrap().unwrap();
        assert_eq!(serde_json::to_string(&h).unwrap(), r#"{"Test":["CMD-SHELL","true"],"Interval":5}"#);
    }

    #[test]
    fn user_fields_win_and_image_fills_the_rest() {
        let image =
            HealthConfig { test: vec!["CMD".into(), "a".into()], interval: 7, retries: 2, ..Default::default() };
        let user = HealthConfig { interval: 9, ..Default::default() };
        let m = merge(Some(user), Some(image.clone())).unwrap();
        assert_eq!((m.test, m.interval, m.retries), (image.test.clone(), 9, 2));
        assert_eq!(merge(None, Some(image.clone())), Some(image));
        let none = HealthConfig { test: vec!["NONE".into()], ..Default::default() };
        assert_eq!(probe_args(merge(Some(none), None).as_ref()), None);
    }

    #[test]
    fn daemon_minimum_is_one_millisecond() {
        let h = HealthConfig { interval: 999_999, ..Default::default() };
        assert_eq!(check(&h).unwrap_err().to_string(), "Interval in Healthcheck cannot be less than 1ms");
        let h = HealthConfig { start_period: 1, ..Default::default() };
        assert_eq!(check(&h).unwrap_err().to_string(), "StartPeriod in Healthcheck cannot be less than 1ms");
        assert!(check(&HealthConfig { timeout: MINIMUM_NS, ..Default::default() }).is_ok());
    }

    #[test]
    fn probes_as_dockers_get_probe() {
        let t = |v: &[&str]| HealthConfig { test: v.iter().map(|s| s.to_string()).collect(), ..Default::default() };
        assert_eq!(probe_args(Some(&t(&["CMD-SHELL", "echo hi"]))).unwrap(), ["/bin/sh", "-c", "echo hi"]);
        assert_eq!(probe_args(Some(&t(&["CMD", "true", "x"]))).unwrap(), ["true", "x"]);
        assert_eq!(probe_args(Some(&t(&["NONE"]))), None);
        assert_eq!(probe_args(Some(&t(&[]))), None);
        assert_eq!(schedule(&t(&["CMD", "x"])), [DEFAULT_INTERVAL_NS, DEFAULT_TIMEOUT_NS, 0, 3]);
    }

    #[test]
    fn state_file_round_trips_with_go_times() {
        let text = "healthy 0\n1700000000123456700 1700000000200000000 0 \"hi\\n\"\n";
        let h = parse_state(text).unwrap();
        assert_eq!(h.status, "healthy");
        assert_eq!(h.log[0].start, "2023-11-14T22:13:20.1234567Z");
        assert_eq!(h.log[0].end, "2023-11-14T22:13:20.2Z");
        assert_eq!(h.log[0].output, "hi\n");
        assert_eq!(seed(Some(&h)), text.replacen("healthy", "starting", 1));
        assert_eq!(go_time(1_700_000_000_000_000_000), "2023-11-14T22:13:20Z");
    }
}
