//! Bytes a volume holds, as docker's `directory.Size`: the apparent size
//! of every file below the directory, each inode counted once (hard links),
//! never following a symlink (a link planted by a container to another
//! volume or to `/` is counted as the link itself).

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

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
}
