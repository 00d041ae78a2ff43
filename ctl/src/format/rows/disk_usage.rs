//! `system df`, as docker's `DiskUsageContext`
//! (cli/command/formatter/disk_usage.go): one summary row per kind (TYPE
//! TOTAL ACTIVE SIZE RECLAIMABLE, "187.7MB (97%)"), and with `-v` a table per
//! kind under docker's headings.

use std::io::Write;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::containers::{self, ContainerSummary};
use super::images::{self, ImageSummary, ListOptions};
use super::volumes::{self, VolumeSummary};
use crate::format::units::human_size4;
use crate::format::{FormatError, print_list};

pub(crate) const DEFAULT_TABLE: &str = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";

pub(crate) const HEADERS: &[(&str, &str)] = &[
    ("Type", "TYPE"),
    ("TotalCount", "TOTAL"),
    ("Active", "ACTIVE"),
    ("Size", "SIZE"),
    ("Reclaimable", "RECLAIMABLE"),
];

const IMAGES_TABLE: &str = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}";
const CONTAINERS_TABLE: &str =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}";
const VOLUMES_TABLE: &str = "table {{.Name}}\t{{.Links}}\t{{.Size}}";
const BUILD_CACHE_TABLE: &str =
    "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}";
const BUILD_CACHE_HEADERS: &[(&str, &str)] = &[
    ("ID", "CACHE ID"),
    ("CacheType", "CACHE TYPE"),
    ("Size", "SIZE"),
    ("CreatedSince", "CREATED"),
    ("LastUsedSince", "LAST USED"),
    ("UsageCount", "USAGE"),
    ("Shared", "SHARED"),
];

/// One kind's totals, in bytes.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Usage {
    pub total: u64,
    /// Images used by a container, running or paused containers, volumes
    /// with a container.
    pub active: u64,
    pub size: u64,
    pub reclaimable: u64,
}

/// What `system df` sums up.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DiskUsage {
    pub images: Usage,
    pub containers: Usage,
    pub volumes: Usage,
    pub build_cache: Usage,
}

/// The four summary rows, in docker's order.
pub(crate) fn summary_rows(d: &DiskUsage) -> Vec<Value> {
    vec![
        summary("Images", &d.images, true),
        summary("Containers", &d.containers, true),
        summary("Local Volumes", &d.volumes, true),
        // docker gives the build cache no percentage.
        summary("Build Cache", &d.build_cache, false),
    ]
}

fn summary(kind: &str, u: &Usage, percent: bool) -> Value {
    let mut reclaimable = human_size4(u.reclaimable);
    if percent && u.size > 0 {
        reclaimable = format!("{reclaimable} ({}%)", u.reclaimable * 100 / u.size);
    }
    json!({
        "Active": u.active.to_string(),
        "Reclaimable": reclaimable,
        "Size": human_size4(u.size),
        "TotalCount": u.total.to_string(),
        "Type": kind,
    })
}

/// `system df -v`: each image on its first tag, each container (without its
/// virtual size), each volume with its links and size, and the build cache.
pub(crate) fn print_verbose(
    out: &mut dyn Write,
    images_list: &[ImageSummary],
    containers_list: &[ContainerSummary],
    volumes_list: &[VolumeSummary],
    build_cache_size: u64,
    now: DateTime<Utc>,
) -> Result<(), FormatError> {
    let opts = ListOptions::default();
    let image_rows: Vec<Value> = images_list.iter().map(|i| images::first_tag_row(i, &opts, now)).collect();
    let container_rows: Vec<Value> = containers_list
        .iter()
        .map(|c| containers::row(&ContainerSummary { size_root_fs: None, ..c.clone() }, true, now))
        .collect();
    let volume_rows: Vec<Value> = volumes_list.iter().map(volumes::row).collect();
    let mut text = Vec::new();
    text.extend_from_slice(b"Images space usage:\n\n");
    print_list(&mut text, Some(IMAGES_TABLE), IMAGES_TABLE, images::HEADERS, &image_rows)?;
    text.extend_from_slice(b"\nContainers space usage:\n\n");
    print_list(&mut text, Some(CONTAINERS_TABLE), CONTAINERS_TABLE, containers::HEADERS, &container_rows)?;
    text.extend_from_slice(b"\nLocal Volumes space usage:\n\n");
    print_list(&mut text, Some(VOLUMES_TABLE), VOLUMES_TABLE, volumes::HEADERS, &volume_rows)?;
    text.extend_from_slice(format!("\nBuild cache usage: {}\n\n", human_size4(build_cache_size)).as_bytes());
    print_list(&mut text, Some(BUILD_CACHE_TABLE), BUILD_CACHE_TABLE, BUILD_CACHE_HEADERS, &[])?;
    out.write_all(&text).map_err(FormatError::Write)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reclaimable_carries_a_floored_percentage() {
        let u = Usage { total: 2, active: 1, size: 1036, reclaimable: 12 };
        assert_eq!(summary("Containers", &u, true)["Reclaimable"], "12B (1%)");
        assert_eq!(summary("Build Cache", &Usage::default(), false)["Reclaimable"], "0B");
        assert_eq!(summary("Images", &Usage::default(), true)["Reclaimable"], "0B");
    }
}
