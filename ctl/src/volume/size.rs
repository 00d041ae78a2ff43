//! Bytes a volume holds, as docker's `directory.Size`: the apparent size
//! of every file below the directory, each inode counted once (hard links),
//! never following a symlink (a link planted by a container to another
//! volume or to `/` is counted as the link itself).

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::{Store, Volume, VolumeError};

/// One volume's disk usage as `system df -v` shows it.
#[derive(Debug, Clone)]
pub(crate) struct Usage {
    pub volume: Volume,
    /// Containers using it (docker's `LINKS`, `UsageData.RefCount`).
    pub links: u64,
    pub size: u64,
}

/// The `Local Volumes` part of `system df`: every volume, its users and
/// size, sorted by name.
pub(crate) fn usage(store: &Store) -> Result<Vec<Usage>, VolumeError> {
    let mut out = Vec::new();
    for (volume, users) in store.list()? {
        let data = store.layout.data(&volume.name);
        let size = dir_size(&data).map_err(|source| VolumeError::Io {
            name: volume.name.clone(),
            op: "measure",
            path: data,
            source,
        })?;
        out.push(Usage { volume, links: users.len() as u64, size });
    }
    Ok(out)
}

/// docker's summary row: (total, active, size, reclaimable): reclaimable
/// is what no container uses.
pub(crate) fn summary(usage: &[Usage]) -> (usize, usize, u64, u64) {
    let active = usage.iter().filter(|u| u.links > 0).count();
    let size = usage.iter().map(|u| u.size).sum();
    let reclaimable = usage.iter().filter(|u| u.links == 0).map(|u| u.size).sum();
    (usage.len(), active, size, reclaimable)
}

/// The size of everything under `dir`; a missing `dir` is 0.
pub(crate) fn dir_size(dir: &Path) -> std::io::Result<u64> {
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    if !meta.is_dir() {
        return Ok(0);
    }
    let mut seen = HashSet::new();
    let mut total = 0u64;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            // DirEntry::metadata does not follow symlinks.
            let m = match entry.metadata() {
                Ok(m) => m,
                // Removed while we walk (a running container): skip it.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            if m.is_dir() {
                // A mount point below (another filesystem) is not ours to count.
                if m.dev() == meta.dev() {
                    stack.push(entry.path());
                }
                continue;
            }
            if m.nlink() > 1 && !seen.insert((m.dev(), m.ino())) {
                continue;
            }
            total += m.len();
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_files_once_and_never_follows_links() {
        let d = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        std::fs::write(other.path().join("big"), vec![0u8; 10_000]).unwrap();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        std::fs::write(d.path().join("sub/a"), b"hello").unwrap();
        std::fs::hard_link(d.path().join("sub/a"), d.path().join("b")).unwrap();
        std::os::unix::fs::symlink(other.path(), d.path().join("out")).unwrap();
        let link_len = std::fs::symlink_metadata(d.path().join("out")).unwrap().len();
        assert_eq!(dir_size(d.path()).unwrap(), 5 + link_len);
        assert_eq!(dir_size(&d.path().join("missing")).unwrap(), 0);
    }

    #[test]
    fn usage_counts_links_and_reclaimable() {
        let d = tempfile::tempdir().unwrap();
        let mut s = Store::open(d.path()).unwrap();
        let used = super::super::store::Take { name: "used".into(), options: None };
        s.take("c1", &[used]).unwrap();
        s.create(&super::super::CreateRequest { name: "idle".into(), ..Default::default() }).unwrap();
        std::fs::write(s.layout.data("used").join("f"), [0u8; 10]).unwrap();
        std::fs::write(s.layout.data("idle").join("f"), [0u8; 3]).unwrap();
        let u = usage(&s).unwrap();
        let rows: Vec<(&str, u64, u64)> = u.iter().map(|u| (u.volume.name.as_str(), u.links, u.size)).collect();
        assert_eq!(rows, [("idle", 0, 3), ("used", 1, 10)]);
        assert_eq!(summary(&u), (2, 1, 13, 3));
    }
}
