//! `volume ls` rows, as docker's `volumeContext`
//! (cli/command/formatter/volume.go).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{join_labels, with_labels};
use crate::format::units::human_size4;

pub(crate) const DEFAULT_TABLE: &str = "table {{.Driver}}\t{{.Name}}";
pub(crate) const QUIET: &str = "{{.Name}}";

pub(crate) const HEADERS: &[(&str, &str)] = &[
    ("ID", "ID"),
    ("Name", "VOLUME NAME"),
    ("Group", "GROUP"),
    ("Driver", "DRIVER"),
    ("Scope", "SCOPE"),
    ("Availability", "AVAILABILITY"),
    ("Mountpoint", "MOUNTPOINT"),
    ("Labels", "LABELS"),
    ("Links", "LINKS"),
    ("Size", "SIZE"),
    ("Status", "STATUS"),
];

/// What `volume ls` knows about one volume.
#[derive(Debug, Clone, Default)]
pub(crate) struct VolumeSummary {
    pub name: String,
    /// "local"
    pub driver: String,
    /// "local"
    pub scope: String,
    pub mountpoint: String,
    pub labels: BTreeMap<String, String>,
    /// Containers using it and bytes used, when measured (`system df -v`).
    pub usage: Option<(u64, u64)>,
}

/// One `volume ls` row. Cluster fields read "N/A" as on a non-swarm docker.
pub(crate) fn row(v: &VolumeSummary) -> Value {
    let na = |s: Option<String>| s.unwrap_or_else(|| "N/A".to_string());
    let row = json!({
        "Availability": "N/A",
        "Driver": v.driver,
        "Group": "N/A",
        "Labels": join_labels(&v.labels),
        "Links": na(v.usage.map(|(refs, _)| refs.to_string())),
        "Mountpoint": v.mountpoint,
        "Name": v.name,
        "Scope": v.scope,
        "Size": na(v.usage.map(|(_, size)| human_size4(size))),
        "Status": "N/A",
    });
    with_labels(row, &v.labels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::print_list;

    #[test]
    fn volume_ls_table() {
        let v =
            VolumeSummary { name: "data".into(), driver: "local".into(), scope: "local".into(), ..Default::default() };
        let mut out = Vec::new();
        print_list(&mut out, None, DEFAULT_TABLE, HEADERS, &[row(&v)]).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "DRIVER    VOLUME NAME\nlocal     data\n");
        assert_eq!(row(&v)["Links"], "N/A");
        let mut out = Vec::new();
        print_list(&mut out, Some(QUIET), DEFAULT_TABLE, HEADERS, &[row(&v)]).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "data\n");
    }
}
