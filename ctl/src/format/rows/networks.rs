//! `network ls` rows, as docker's `networkContext`
//! (cli/command/network/formatter.go).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{join_labels, truncate_id, with_labels};
use crate::format::time::go_time_string_utc;

pub(crate) const DEFAULT_TABLE: &str = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";

pub(crate) const HEADERS: &[(&str, &str)] = &[
    ("ID", "NETWORK ID"),
    ("Name", "NAME"),
    ("Driver", "DRIVER"),
    ("Scope", "SCOPE"),
    ("IPv4", "IPV4"),
    ("IPv6", "IPV6"),
    ("Internal", "INTERNAL"),
    ("Labels", "LABELS"),
    ("CreatedAt", "CREATED AT"),
];

/// What `network ls` knows about one network.
#[derive(Debug, Clone, Default)]
pub(crate) struct NetworkSummary {
    pub id: String,
    pub name: String,
    /// "bridge", "host", "null"
    pub driver: String,
    /// "local"
    pub scope: String,
    pub ipv4: bool,
    pub ipv6: bool,
    pub internal: bool,
    pub labels: BTreeMap<String, String>,
    pub created: DateTime<Utc>,
}

/// One `network ls` row; `trunc` is the opposite of `--no-trunc`.
pub(crate) fn row(n: &NetworkSummary, trunc: bool) -> Value {
    let row = json!({
        "CreatedAt": go_time_string_utc(n.created),
        "Driver": n.driver,
        "ID": if trunc { truncate_id(&n.id) } else { n.id.clone() },
        "IPv4": n.ipv4.to_string(),
        "IPv6": n.ipv6.to_string(),
        "Internal": n.internal.to_string(),
        "Labels": join_labels(&n.labels),
        "Name": n.name,
        "Scope": n.scope,
    });
    with_labels(row, &n.labels)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::format::print_list;

    #[test]
    fn network_ls_table() {
        let n = NetworkSummary {
            id: "2b1c9e0d4f5a6b7c8d9e0f1a2b3c4d5e".into(),
            name: "bridge".into(),
            driver: "bridge".into(),
            scope: "local".into(),
            ipv4: true,
            created: Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap(),
            ..Default::default()
        };
        let mut out = Vec::new();
        print_list(&mut out, None, DEFAULT_TABLE, HEADERS, &[row(&n, true)]).unwrap();
        let want = "NETWORK ID     NAME      DRIVER    SCOPE\n2b1c9e0d4f5a   bridge    bridge    local\n";
        assert_eq!(String::from_utf8(out).unwrap(), want);
        assert_eq!(row(&n, true)["CreatedAt"], "2024-05-01 12:00:00 +0000 UTC");
    }
}
