//! "Nothing outside its own data root changed": a snapshot of what a
//! berthctl test could leak into the host, taken before and compared after.
//! It covers the default store and run state (`/var/lib/berth`,
//! `/run/berthctl`), which a hermetic test never touches, and the mount
//! table's volume mounts (`…/volumes/…`) outside the test's own temp dir.
//! Other tests run in parallel, so mounts under any berthctl test dir are
//! theirs and left out.

use std::collections::BTreeSet;
use std::path::Path;

use super::Store;

const DEFAULT_ROOTS: [&str; 2] = ["/var/lib/berth", "/run/berthctl"];

#[derive(Debug, PartialEq, Eq)]
pub struct Outside {
    roots: Vec<Option<BTreeSet<String>>>,
    mounts: BTreeSet<String>,
}

impl Outside {
    pub fn snapshot() -> Outside {
        Outside { roots: DEFAULT_ROOTS.iter().map(|r| listing(Path::new(r))).collect(), mounts: volume_mounts() }
    }

    /// Panic naming what changed outside `store` since the snapshot.
    pub fn assert_unchanged(&self, store: &Store) {
        let now = Outside::snapshot();
        for (i, root) in DEFAULT_ROOTS.iter().enumerate() {
            assert_eq!(self.roots[i], now.roots[i], "{root} changed during a hermetic test");
        }
        let inside = store.path().to_string_lossy().into_owned();
        let added: Vec<&String> = now.mounts.difference(&self.mounts).filter(|m| !m.contains(&inside)).collect();
        assert!(added.is_empty(), "volume mounts appeared outside {inside}: {added:?}");
    }
}

fn listing(dir: &Path) -> Option<BTreeSet<String>> {
    let entries = std::fs::read_dir(dir).ok()?;
    Some(entries.filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
}

/// Mount points (field 5 of mountinfo) of volume mounts not under a
/// berthctl test's temp dir.
fn volume_mounts() -> BTreeSet<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|p| p.contains("/volumes/") && !p.contains("berthctl-test-"))
        .map(str::to_string)
        .collect()
}
