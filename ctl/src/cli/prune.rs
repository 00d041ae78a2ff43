//! `berthctl image prune [-a] [-f] [--filter …]`: remove dangling images (or,
//! with `-a`, every image nothing holds), then sweep the snapshots and blobs
//! they leave unreferenced, as docker does, and say what was reclaimed.
//! Also what every prune shares: docker's `label`/`label!`/`until` filters,
//! the prompt, and a pruner's result (`system prune` adds them up).

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use anyhow::Context;
use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::format::units;
use crate::image::{self, GcLock, Removal, Store};

#[derive(Debug, clap::Args)]
pub(crate) struct PruneArgs {
    /// Remove all unused images, not just dangling ones
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Provide filter values (e.g. "label=<key>=<value>")
    #[arg(long)]
    pub filter: Vec<String>,
}

const WARNING_DANGLING: &str = "WARNING! This will remove all dangling images.";
const WARNING_ALL: &str = "WARNING! This will remove all images without at least one container associated to them.";

/// What one pruner did: its part of the output (docker's "Deleted …:"
/// block, empty when nothing went) and the bytes it freed.
#[derive(Debug, Default)]
pub(crate) struct Pruned {
    pub output: String,
    pub reclaimed: u64,
}

impl Pruned {
    /// docker's block: the heading, one line per item.
    pub(crate) fn list(heading: &str, items: impl IntoIterator<Item = String>, reclaimed: u64) -> Pruned {
        let mut output = String::new();
        for item in items {
            if output.is_empty() {
                output = format!("{heading}\n");
            }
            output.push_str(&item);
            output.push('\n');
        }
        Pruned { output, reclaimed }
    }
}

/// docker's prune filters: `label=k[=v]`, `label!=k[=v]`, `until=<time>`.
#[derive(Debug, Default)]
pub(crate) struct PruneFilter {
    labels: Vec<(String, Option<String>)>,
    not_labels: Vec<(String, Option<String>)>,
    until: Option<DateTime<Utc>>,
    /// The filters as given, for the prompt.
    pub shown: Vec<String>,
}

impl PruneFilter {
    /// Parse `--filter` values, refusing keys outside `allowed`.
    pub(crate) fn parse(values: &[String], allowed: &[&str]) -> anyhow::Result<PruneFilter> {
        let mut f = PruneFilter::default();
        for raw in values {
            let (k, v) =
                raw.split_once('=').with_context(|| format!("bad format of filter (expected name=value): {raw}"))?;
            let label = || match v.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (v.to_string(), None),
            };
            if !allowed.contains(&k) {
                anyhow::bail!("invalid filter '{k}'");
            }
            match k {
                "label" => f.labels.push(label()),
                "label!" => f.not_labels.push(label()),
                "until" => {
                    let t = crate::format::time::parse_timestamp(v, Utc::now())
                        .with_context(|| format!("filter until={v}"))?;
                    f.until = Some(t);
                }
                _ => anyhow::bail!("invalid filter '{k}'"),
            }
            f.shown.push(raw.clone());
        }
        Ok(f)
    }

    pub(crate) fn has_until(&self) -> bool {
        self.until.is_some()
    }

    /// The `until` time in seconds since the epoch, if given.
    pub(crate) fn until_secs(&self) -> Option<i64> {
        self.until.map(|t| t.timestamp())
    }

    /// Whether a `label=` filter is given (objects without labels, such as
    /// build cache entries, then never match).
    pub(crate) fn needs_labels(&self) -> bool {
        !self.labels.is_empty()
    }

    /// Whether an object with these labels, made at `created` (RFC 3339),
    /// is selected: every `label`, no `label!`, and made before `until`.
    pub(crate) fn selects(&self, labels: &BTreeMap<String, String>, created: Option<&str>) -> bool {
        let has = |(k, v): &(String, Option<String>)| match v {
            Some(v) => labels.get(k) == Some(v),
            None => labels.contains_key(k),
        };
        let old_enough = match (self.until, created.and_then(|c| DateTime::parse_from_rfc3339(c).ok())) {
            (Some(until), Some(c)) => c.with_timezone(&Utc) < until,
            _ => true,
        };
        self.labels.iter().all(has) && !self.not_labels.iter().any(has) && old_enough
    }
}

pub(crate) fn run(config: &Config, args: &PruneArgs) -> anyhow::Result<i32> {
    let filter = PruneFilter::parse(&args.filter, &["label", "label!", "until"])?;
    if !args.force && !confirm(if args.all { WARNING_ALL } else { WARNING_DANGLING })? {
        return Ok(0);
    }
    let pruned = images(config, args.all, &filter)?;
    print!("{}", pruned.output);
    if !pruned.output.is_empty() {
        println!();
    }
    println!("Total reclaimed space: {}", units::human_size4(pruned.reclaimed));
    Ok(0)
}

/// Remove dangling images (every unused one with `all`) that `filter`
/// selects, then sweep what they left unreferenced.
pub(crate) fn images(config: &Config, all: bool, filter: &PruneFilter) -> anyhow::Result<Pruned> {
    let mut store = Store::open(&config.data_root)?;
    let _sweep = store.gc_lock(GcLock::Sweep)?;
    // A build step's image with children is the build cache's, not
    // dangling (docker's prune skips images with children): the build
    // cache's pruner takes it.
    let intermediate = crate::build::cache::intermediate(&store)?;
    let mut lines = Vec::new();
    for i in image::list(&store.db)? {
        let dangling = i.tags.is_empty();
        if i.holders > 0 || (!all && !dangling) || intermediate.contains(i.id.as_str()) || !selects(&store, &i, filter)
        {
            continue;
        }
        lines.extend(image::prune_one(&mut store, &i.id)?);
    }
    store.recover()?;
    let freed = image::collect(&mut store)?;
    let lines = lines.into_iter().map(|l| match l {
        Removal::Untagged(n) => format!("untagged: {n}"),
        Removal::Deleted(id) => format!("deleted: {id}"),
    });
    Ok(Pruned::list("Deleted Images:", lines, freed.bytes))
}

fn selects(store: &Store, summary: &image::Summary, filter: &PruneFilter) -> bool {
    let Ok(img) = image::load(store, &summary.id) else { return false };
    let labels = img.config.config().as_ref().and_then(|c| c.labels().clone()).unwrap_or_default();
    filter.selects(&labels.into_iter().collect(), summary.created.as_deref())
}

/// docker's prompt: the warning, then "Are you sure you want to continue?
/// [y/N] "; only "y" or "yes" (any case) goes on.
pub(crate) fn confirm(warning: &str) -> anyhow::Result<bool> {
    println!("{warning}");
    print!("Are you sure you want to continue? [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn filters_select_by_label_and_age() {
        let f = PruneFilter::parse(
            &["label=a".into(), "label!=b=2".into(), "until=2024-01-01T00:00:00Z".into()],
            &["label", "label!", "until"],
        )
        .unwrap();
        assert!(f.selects(&labels(&[("a", "1")]), Some("2023-06-01T00:00:00Z")));
        assert!(!f.selects(&labels(&[("a", "1")]), Some("2024-06-01T00:00:00Z")), "too new");
        assert!(!f.selects(&labels(&[("a", "1"), ("b", "2")]), None), "label! matches");
        assert!(f.selects(&labels(&[("a", "1"), ("b", "3")]), None));
        assert!(!f.selects(&labels(&[]), None), "label missing");
        let err = PruneFilter::parse(&["dangling=true".into()], &["label"]).unwrap_err();
        assert_eq!(err.to_string(), "invalid filter 'dangling'");
    }

    #[test]
    fn an_empty_list_prints_nothing() {
        assert_eq!(Pruned::list("Deleted Networks:", Vec::new(), 0).output, "");
        assert_eq!(Pruned::list("Deleted Networks:", vec!["n1".into()], 0).output, "Deleted Networks:\nn1\n");
    }
}
