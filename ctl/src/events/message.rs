//! An event as `docker events` shows it: the line docker/cli's
//! `prettyPrintEvent` writes, and the `events.Message` JSON a `--format`
//! template runs over (fields in the struct's order; the deprecated
//! `status`, `id` and `from` filled for containers and images, as the
//! daemon does).

use chrono::{Local, TimeZone};
use serde_json::{Map, Value, json};

use super::Event;

/// Go's `RFC3339NanoFixed` (`2006-01-02T15:04:05.000000000Z07:00`) in the
/// local zone: nine fraction digits, `Z` for a zero offset.
pub(crate) fn fixed_time(time_nano: i64) -> String {
    let secs = time_nano.div_euclid(1_000_000_000);
    let nanos = time_nano.rem_euclid(1_000_000_000) as u32;
    let Some(t) = Local.timestamp_opt(secs, nanos).single() else {
        return time_nano.to_string();
    };
    let offset = t.offset().local_minus_utc();
    let zone = if offset == 0 {
        "Z".to_string()
    } else {
        let sign = if offset < 0 { '-' } else { '+' };
        format!("{sign}{:02}:{:02}", offset.abs() / 3600, offset.abs() % 3600 / 60)
    };
    format!("{}.{nanos:09}{zone}", t.format("%Y-%m-%dT%H:%M:%S"))
}

/// docker's default line: `<time> <type> <action> <id> (k=v, …)`, the
/// attributes sorted by key.
pub(crate) fn line(e: &Event) -> String {
    let mut out = format!("{} {} {} {}", fixed_time(e.time_nano), e.kind, e.action, e.actor);
    if !e.attributes.is_empty() {
        let attrs: Vec<String> = e.attributes.iter().map(|(k, v)| format!("{k}={v}")).collect();
        out.push_str(&format!(" ({})", attrs.join(", ")));
    }
    out
}

/// The `events.Message` a template sees (`{{json .}}`, `{{.Actor.ID}}`).
pub(crate) fn to_json(e: &Event) -> Value {
    let mut m = Map::new();
    if e.kind == "container" || e.kind == "image" {
        m.insert("status".into(), json!(e.action));
        m.insert("id".into(), json!(e.actor));
        if e.kind == "container"
            && let Some(image) = e.attributes.get("image")
        {
            m.insert("from".into(), json!(image));
        }
    }
    m.insert("Type".into(), json!(e.kind));
    m.insert("Action".into(), json!(e.action));
    m.insert("Actor".into(), json!({"ID": e.actor, "Attributes": e.attributes}));
    m.insert("scope".into(), json!("local"));
    m.insert("time".into(), json!(e.time_nano.div_euclid(1_000_000_000)));
    m.insert("timeNano".into(), json!(e.time_nano));
    Value::Object(m)
}

/// The message as a template's fields see it: Go's field names (`.Status`,
/// `.ID`, `.From`, `.Scope`, `.Time`, `.TimeNano`), not the JSON tags, and
/// the deprecated fields empty where the JSON leaves them out.
pub(crate) fn template_fields(e: &Event) -> Value {
    let json = to_json(e);
    let text = |k: &str| json.get(k).cloned().unwrap_or_else(|| json!(""));
    json!({
        "Status": text("status"),
        "ID": text("id"),
        "From": text("from"),
        "Type": e.kind,
        "Action": e.action,
        "Actor": {"ID": e.actor, "Attributes": e.attributes},
        "Scope": "local",
        "Time": e.time_nano.div_euclid(1_000_000_000),
        "TimeNano": e.time_nano,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_is_dockers() {
        let mut e = Event::new("container", "die", "abc").attr("name", "web").attr("exitCode", "3");
        e.time_nano = 1_764_669_600_000_000_123;
        let text = line(&e);
        let (time, rest) = text.split_once(' ').unwrap();
        assert_eq!(rest, "container die abc (exitCode=3, name=web)");
        assert_eq!(time.len(), "2025-12-02T10:00:00.000000123".len() + if time.ends_with('Z') { 1 } else { 6 });
        assert!(time.contains(".000000123"), "{time}");
    }

    #[test]
    fn json_keeps_the_struct_order() {
        let mut e = Event::new("container", "start", "abc").attr("image", "busybox").attr("name", "web");
        e.time_nano = 2_000_000_001;
        let keys: Vec<String> = to_json(&e).as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["status", "id", "from", "Type", "Action", "Actor", "scope", "time", "timeNano"]);
        let net = to_json(&Event { time_nano: 5, ..Event::new("network", "create", "n1") });
        assert!(net.get("status").is_none());
        assert_eq!(net["time"], 0);
        let fields = template_fields(&Event::new("network", "create", "n1"));
        assert_eq!((fields["Status"].as_str(), fields["Scope"].as_str()), (Some(""), Some("local")));
    }
}
