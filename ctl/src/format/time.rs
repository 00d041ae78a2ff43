//! Times as docker prints and reads them: RFC 3339 with nanoseconds in
//! `inspect` (`2024-05-01T10:20:30.123456789Z`, Go's `RFC3339Nano`), Go's
//! `Time.String()` for `CreatedAt` columns, "5 minutes ago", a container's
//! status line ("Up 5 minutes", "Exited (0) 2 hours ago"), and the
//! `--since`/`--until` values of `logs` and `events` (durations, dates, unix
//! timestamps; docker's `GetTimestamp`).

use std::time::Duration;

use chrono::{DateTime, FixedOffset, Local, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc};

use super::units::human_duration;

/// What inspect prints for a time that never happened (Go's zero time), e.g.
/// `State.FinishedAt` of a running container.
pub(crate) const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum TimeError {
    #[error("failed to parse value as time or duration: {0:?}")]
    NotATime(String),
    #[error("parsing time {value:?}: {reason}")]
    BadDate { value: String, reason: &'static str },
}

/// Go's `RFC3339Nano` in UTC: fraction without trailing zeros, none at all
/// for whole seconds, `Z` for the zone.
pub(crate) fn rfc3339_nano(t: DateTime<Utc>) -> String {
    let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = t.timestamp_subsec_nanos();
    if nanos == 0 {
        return format!("{base}Z");
    }
    let frac = format!("{nanos:09}");
    format!("{base}.{}Z", frac.trim_end_matches('0'))
}

/// `rfc3339_nano`, or docker's zero time for `None`.
pub(crate) fn rfc3339_nano_or_zero(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| ZERO_TIME.to_string(), rfc3339_nano)
}

/// Go's `time.Unix(secs, 0).String()` in the local zone, which is what
/// `images` and `ps` print for `{{.CreatedAt}}`:
/// `2024-05-01 10:20:30 +0200 CEST`.
pub(crate) fn go_time_string(unix_secs: i64) -> String {
    let Some(t) = Local.timestamp_opt(unix_secs, 0).single() else {
        return unix_secs.to_string();
    };
    let offset = t.offset().fix().local_minus_utc();
    let sign = if offset < 0 { '-' } else { '+' };
    let numeric = format!("{sign}{:02}{:02}", offset.abs() / 3600, offset.abs() % 3600 / 60);
    let zone = crate::sys::zone_abbreviation(unix_secs).unwrap_or_else(|| numeric.clone());
    format!("{} {numeric} {zone}", t.format("%Y-%m-%d %H:%M:%S"))
}

/// Go's `Time.String()` of a time decoded from the daemon's JSON (UTC), with
/// its fraction: `2024-05-01 10:20:30.123456789 +0000 UTC` (network
/// `CreatedAt`).
pub(crate) fn go_time_string_utc(t: DateTime<Utc>) -> String {
    let nanos = t.timestamp_subsec_nanos();
    let frac = if nanos == 0 { String::new() } else { format!(".{}", format!("{nanos:09}").trim_end_matches('0')) };
    format!("{}{frac} +0000 UTC", t.format("%Y-%m-%d %H:%M:%S"))
}

/// "5 minutes ago", as `CreatedSince`/`RunningFor`; a time in the future
/// (clock skew) reads "Less than a second ago", as docker's.
pub(crate) fn since(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    format!("{} ago", human_duration(elapsed(t, now)))
}

fn elapsed(t: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (now - t).to_std().unwrap_or_default()
}

/// The facts docker's `State.String()` reads to make a container's status.
#[derive(Debug, Clone, Default)]
pub(crate) struct StateFacts<'a> {
    pub running: bool,
    pub paused: bool,
    pub restarting: bool,
    pub removing: bool,
    pub dead: bool,
    pub exit_code: i64,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// "healthy", "unhealthy", "starting" when a healthcheck runs (shown
    /// as docker's `Health.String()`: "health: starting" for the last).
    pub health: Option<&'a str>,
}

/// docker's status line: "Up 5 minutes", "Up 2 seconds (Paused)",
/// "Restarting (1) 3 seconds ago", "Exited (0) 2 hours ago", "Created".
pub(crate) fn container_status(s: &StateFacts<'_>, now: DateTime<Utc>) -> String {
    let ago = |t: Option<DateTime<Utc>>| human_duration(t.map(|t| elapsed(t, now)).unwrap_or_default());
    if s.running {
        let up = ago(s.started_at);
        if s.paused {
            return format!("Up {up} (Paused)");
        }
        if s.restarting {
            return format!("Restarting ({}) {} ago", s.exit_code, ago(s.finished_at));
        }
        if let Some(h) = s.health {
            // docker's Health.String(): "health: starting", else the word.
            let h = if h == "starting" { "health: starting" } else { h };
            return format!("Up {up} ({h})");
        }
        return format!("Up {up}");
    }
    if s.removing {
        return "Removal In Progress".to_string();
    }
    if s.dead {
        return "Dead".to_string();
    }
    if s.started_at.is_none() {
        return "Created".to_string();
    }
    if s.finished_at.is_none() {
        return String::new();
    }
    format!("Exited ({}) {} ago", s.exit_code, ago(s.finished_at))
}

/// docker's one-word state (`{{.State}}` of `ps`, `State.Status` of
/// inspect): created, running, paused, restarting, removing, exited, dead.
pub(crate) fn container_state_word(s: &StateFacts<'_>) -> &'static str {
    if s.running {
        if s.paused {
            return "paused";
        }
        if s.restarting {
            return "restarting";
        }
        return "running";
    }
    if s.removing {
        return "removing";
    }
    if s.dead {
        return "dead";
    }
    if s.started_at.is_none() {
        return "created";
    }
    "exited"
}

/// A `--since`/`--until` value as docker's `GetTimestamp` reads it, relative
/// to `now`: a Go duration (`10m`, `1h30m`, meaning that long ago), an RFC
/// 3339 date or date-time (local zone when none is given), or a unix
/// timestamp (`1700000000`, `1700000000.5`).
pub(crate) fn parse_timestamp(value: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, TimeError> {
    if value != "0"
        && let Some(d) = parse_go_duration(value)
    {
        return Ok(now - d);
    }
    match parse_date(value) {
        Ok(t) => Ok(t),
        // Something with a dash was meant as a date: report why it failed.
        Err(e) if value.contains('-') => Err(e),
        Err(_) => parse_unix(value).ok_or_else(|| TimeError::NotATime(value.to_string())),
    }
}

/// Go's `time.ParseDuration`: a signed sequence of decimal numbers with
/// units ns, us (µs), ms, s, m, h — `300ms`, `-1.5h`, `2h45m`.
pub(crate) fn parse_go_duration(text: &str) -> Option<chrono::TimeDelta> {
    let (negative, mut rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Some(chrono::TimeDelta::zero());
    }
    if rest.is_empty() {
        return None;
    }
    let mut nanos: f64 = 0.0;
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let (number, tail) = rest.split_at(num_end);
        if number.is_empty() || number == "." {
            return None;
        }
        let value: f64 = number.parse().ok()?;
        let unit_end = tail.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_end);
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        nanos += value * scale;
        rest = tail;
    }
    if nanos > i64::MAX as f64 {
        return None;
    }
    let d = chrono::TimeDelta::nanoseconds(nanos as i64);
    Some(if negative { -d } else { d })
}

/// `YYYY-MM-DD[THH[:MM[:SS[.frac]]]][Z|±HH:MM]`; without a zone the local
/// one, as docker parses in the client's location.
fn parse_date(value: &str) -> Result<DateTime<Utc>, TimeError> {
    let bad = |reason| TimeError::BadDate { value: value.to_string(), reason };
    let (body, zone) = split_zone(value).ok_or_else(|| bad("bad time zone"))?;
    let (date, time) = match body.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (body, None),
    };
    let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| bad("not a date (YYYY-MM-DD)"))?;
    let time = match time {
        None => NaiveTime::MIN,
        Some(t) => parse_clock(t).ok_or_else(|| bad("not a time of day (HH[:MM[:SS[.fraction]]])"))?,
    };
    let naive = NaiveDateTime::new(date, time);
    let zone = zone.unwrap_or_else(|| Local::now().offset().fix());
    zone.from_local_datetime(&naive).single().map(|t| t.with_timezone(&Utc)).ok_or_else(|| bad("no such local time"))
}

fn split_zone(value: &str) -> Option<(&str, Option<FixedOffset>)> {
    if let Some(body) = value.strip_suffix(['Z', 'z']) {
        return Some((body, Some(FixedOffset::east_opt(0)?)));
    }
    // A numeric zone follows the time (after 'T') or the date (Go's
    // "2006-01-02Z07:00"): the last '+', or a '-' after the date's two.
    let zone_at = value.char_indices().rev().find(|&(i, c)| (c == '+' || c == '-') && i >= 10).map(|(i, _)| i);
    let Some(i) = zone_at else { return Some((value, None)) };
    let (body, zone) = value.split_at(i);
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let (h, m) = zone[1..].split_once(':')?;
    let secs = h.parse::<i32>().ok()? * 3600 + m.parse::<i32>().ok()? * 60;
    Some((body, Some(FixedOffset::east_opt(sign * secs)?)))
}

fn parse_clock(t: &str) -> Option<NaiveTime> {
    let fields: Vec<&str> = t.split(':').collect();
    let num = |s: &str| -> Option<u32> {
        if s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()) { s.parse().ok() } else { None }
    };
    let (secs, nanos) = match fields.get(2) {
        None => (0, 0),
        Some(s) => match s.split_once('.') {
            None => (num(s)?, 0),
            Some((whole, frac)) if !frac.is_empty() && frac.len() <= 9 && frac.bytes().all(|b| b.is_ascii_digit()) => {
                (num(whole)?, format!("{frac:0<9}").parse().ok()?)
            }
            Some(_) => return None,
        },
    };
    if fields.len() > 3 {
        return None;
    }
    let minutes = fields.get(1).map_or(Some(0), |m| num(m))?;
    NaiveTime::from_hms_nano_opt(num(fields[0])?, minutes, secs, nanos)
}

/// `seconds[.nanoseconds]`, docker's unix timestamp form.
fn parse_unix(value: &str) -> Option<DateTime<Utc>> {
    let (secs, frac) = value.split_once('.').unwrap_or((value, ""));
    let secs: i64 = secs.parse().ok()?;
    let nanos: u32 = if frac.is_empty() {
        0
    } else if frac.len() <= 9 && frac.bytes().all(|b| b.is_ascii_digit()) {
        format!("{frac:0<9}").parse().ok()?
    } else {
        return None;
    };
    Utc.timestamp_opt(secs, nanos).single()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn rfc3339_nano_trims_the_fraction_like_go() {
        assert_eq!(rfc3339_nano(at("2024-05-01T10:20:30.123456789Z")), "2024-05-01T10:20:30.123456789Z");
        assert_eq!(rfc3339_nano(at("2024-05-01T10:20:30.1Z")), "2024-05-01T10:20:30.1Z");
        assert_eq!(rfc3339_nano(at("2024-05-01T10:20:30Z")), "2024-05-01T10:20:30Z");
        assert_eq!(rfc3339_nano_or_zero(None), "0001-01-01T00:00:00Z");
    }

    #[test]
    fn go_time_string_has_offset_and_zone() {
        let s = go_time_string(0);
        // "1970-01-01 00:00:00 +0000 UTC" in UTC; the shape holds in any zone.
        let parts: Vec<&str> = s.split(' ').collect();
        assert_eq!(parts.len(), 4, "{s}");
        assert!(parts[2].starts_with('+') || parts[2].starts_with('-'), "{s}");
        assert_eq!(parts[2].len(), 5, "{s}");
    }

    #[test]
    fn status_lines_are_dockers() {
        let now = at("2024-05-01T12:00:00Z");
        let mut s = StateFacts { running: true, started_at: Some(at("2024-05-01T11:55:00Z")), ..Default::default() };
        assert_eq!(container_status(&s, now), "Up 5 minutes");
        assert_eq!(container_state_word(&s), "running");
        for (health, text) in [
            ("starting", "Up 5 minutes (health: starting)"),
            ("healthy", "Up 5 minutes (healthy)"),
            ("unhealthy", "Up 5 minutes (unhealthy)"),
        ] {
            let h = StateFacts { health: Some(health), ..s.clone() };
            assert_eq!(container_status(&h, now), text);
        }
        s.paused = true;
        assert_eq!(container_status(&s, now), "Up 5 minutes (Paused)");
        assert_eq!(container_state_word(&s), "paused");
        let exited = StateFacts {
            exit_code: 0,
            started_at: Some(at("2024-05-01T09:00:00Z")),
            finished_at: Some(at("2024-05-01T10:00:00Z")),
            ..Default::default()
        };
        assert_eq!(container_status(&exited, now), "Exited (0) 2 hours ago");
        assert_eq!(container_state_word(&exited), "exited");
        let created = StateFacts::default();
        assert_eq!(container_status(&created, now), "Created");
        assert_eq!(container_state_word(&created), "created");
    }

    #[test]
    fn since_says_ago() {
        let now = at("2024-05-01T12:00:00Z");
        assert_eq!(since(at("2024-04-10T12:00:00Z"), now), "3 weeks ago");
        assert_eq!(since(at("2024-05-01T12:00:05Z"), now), "Less than a second ago");
    }

    #[test]
    fn go_durations_parse() {
        assert_eq!(parse_go_duration("10m"), Some(chrono::TimeDelta::minutes(10)));
        assert_eq!(parse_go_duration("1h30m"), Some(chrono::TimeDelta::minutes(90)));
        assert_eq!(parse_go_duration("1.5s"), Some(chrono::TimeDelta::milliseconds(1500)));
        assert_eq!(parse_go_duration("-2h"), Some(chrono::TimeDelta::hours(-2)));
        assert_eq!(parse_go_duration("300ms"), Some(chrono::TimeDelta::milliseconds(300)));
        assert_eq!(parse_go_duration("10"), None);
        assert_eq!(parse_go_duration("m"), None);
        assert_eq!(parse_go_duration("5d"), None);
    }

    #[test]
    fn timestamps_parse_as_docker_get_timestamp() {
        let now = at("2024-05-01T12:00:00Z");
        assert_eq!(parse_timestamp("10m", now), Ok(at("2024-05-01T11:50:00Z")));
        assert_eq!(parse_timestamp("2024-04-01T10:00:00Z", now), Ok(at("2024-04-01T10:00:00Z")));
        assert_eq!(parse_timestamp("2024-04-01T10:00:00.5+02:00", now), Ok(at("2024-04-01T08:00:00.5Z")));
        assert_eq!(parse_timestamp("2024-04-01T10:30-01:00", now), Ok(at("2024-04-01T11:30:00Z")));
        assert_eq!(parse_timestamp("1700000000", now), Ok(at("2023-11-14T22:13:20Z")));
        assert_eq!(parse_timestamp("1700000000.25", now), Ok(at("2023-11-14T22:13:20.25Z")));
        assert_eq!(parse_timestamp("0", now), Ok(at("1970-01-01T00:00:00Z")));
    }

    #[test]
    fn local_dates_use_the_local_zone() {
        let now = Utc::now();
        let t = parse_timestamp("2024-04-01", now).unwrap();
        let local = Local::now().offset().fix();
        let want = local.from_local_datetime(&NaiveDate::from_ymd_opt(2024, 4, 1).unwrap().into()).unwrap();
        assert_eq!(t, want.with_timezone(&Utc));
    }

    #[test]
    fn bad_timestamps_say_what() {
        let now = Utc::now();
        assert_eq!(parse_timestamp("yesterday", now), Err(TimeError::NotATime("yesterday".into())));
        assert!(matches!(parse_timestamp("2024-13-01", now), Err(TimeError::BadDate { .. })));
        assert!(matches!(parse_timestamp("2024-01-01T25:00Z", now), Err(TimeError::BadDate { .. })));
    }
}
