//! docker's list rows: for each object kind, the fields its formatter
//! context exposes to templates (docker/cli `cli/command/formatter/*.go`),
//! the column names of those fields, and the default table. A list command
//! fills the summary struct of its kind and hands the rows to
//! [`super::print_list`]:
//!
//! ```ignore
//! let rows = format::rows::images::rows(&summaries, &opts, Utc::now());
//! format::print_list(&mut out, fmt, images::default_table(&opts), images::HEADERS, &rows)?;
//! ```

pub(crate) mod containers;
pub(crate) mod disk_usage;
pub(crate) mod images;
pub(crate) mod networks;
#[cfg(test)]
mod oracle;
pub(crate) mod volumes;

use std::collections::BTreeMap;

use serde_json::Value;

use super::LABELS_KEY;

/// docker's `TruncateID`: the 12 first characters of the hex part of an id
/// (`sha256:4c01db0b339c…` → `4c01db0b339c`).
pub(crate) fn truncate_id(id: &str) -> String {
    let hex = id.rsplit_once(':').map_or(id, |(_, h)| h);
    hex.chars().take(12).collect()
}

/// docker's `Ellipsis`: cut to `max` display columns with a trailing `…`.
pub(crate) fn ellipsis(s: &str, max: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    if max == 0 {
        return String::new();
    }
    if max == 1 {
        return s.chars().next().map(String::from).unwrap_or_default();
    }
    if unicode_width::UnicodeWidthStr::width(s) <= max {
        return s.to_string();
    }
    let mut out = String::new();
    let mut width = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if width + w > max - 1 {
            break;
        }
        width += w;
        out.push(c);
    }
    out.push('…');
    out
}

/// Labels as docker's list contexts print them: `k=v` joined by commas,
/// sorted (docker sorts for containers; map order elsewhere is random, so
/// sorted is the stable choice).
pub(crate) fn join_labels(labels: &BTreeMap<String, String>) -> String {
    labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

/// Keep `labels` in the row for `{{.Label "key"}}` (containers, volumes and
/// networks have docker's `Label` method; `{{json .}}` leaves them out).
pub(crate) fn with_labels(mut row: Value, labels: &BTreeMap<String, String>) -> Value {
    if let Value::Object(map) = &mut row {
        map.insert(LABELS_KEY.to_string(), serde_json::json!(labels));
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_id_drops_the_algorithm() {
        assert_eq!(truncate_id("sha256:4c01db0b339c2f1d7c4c1a2e5d1f0b3a"), "4c01db0b339c");
        assert_eq!(truncate_id("abc"), "abc");
    }

    #[test]
    fn ellipsis_cuts_with_a_mark() {
        assert_eq!(ellipsis("sh -c 'while true; do sleep 1; done'", 20), "sh -c 'while true; …");
        assert_eq!(ellipsis("short", 20), "short");
        assert_eq!(ellipsis("abc", 1), "a");
    }

    #[test]
    fn labels_join_sorted() {
        let l = BTreeMap::from([("b".to_string(), "2".to_string()), ("a".to_string(), "1".to_string())]);
        assert_eq!(join_labels(&l), "a=1,b=2");
    }
}
