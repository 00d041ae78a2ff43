//! Unpacked layers: one directory per layer chain, `snapshots/<n>/fs`, where
//! `<n>` is the row id in the `snapshots` table — short, so that overlayfs's
//! `lowerdir=` list of a 60-layer image fits its one-page mount data.
//!
//! A snapshot is born incomplete: a row with no chain id and the unpacking
//! process as owner, and an empty `fs/`. Only after the unpack and a `syncfs`
//! does [`commit`] give it its chain id and mark it complete in one
//! transaction; lookups see complete snapshots only, so a half-unpacked layer
//! is never used. [`recover`] removes incomplete ones whose owner died and
//! directories with no row (a crash between a GC's row delete and its rmdir).

use std::fs;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::db::{Db, DbError, OptionalExtension, params};
use crate::reference::Digest;
use crate::sys::proc;

pub(crate) type SnapshotId = i64;

#[derive(Debug, thiserror::Error)]
pub(crate) enum SnapshotError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("snapshot {id}: {op} {path:?}")]
    Io { id: SnapshotId, op: &'static str, path: PathBuf, source: io::Error },
    #[error("snapshots dir {path:?}")]
    Dir { path: PathBuf, source: io::Error },
}

/// The snapshot directory tree under `<data-root>/snapshots`.
#[derive(Debug, Clone)]
pub(crate) struct Snapshots {
    dir: PathBuf,
}

/// A snapshot being unpacked; see the module doc.
#[derive(Debug)]
pub(crate) struct Pending {
    pub id: SnapshotId,
    fs: PathBuf,
    committed: bool,
}

/// What a pending snapshot becomes.
#[derive(Debug, Clone)]
pub(crate) struct Finished {
    pub chain_id: Digest,
    pub diff_id: Digest,
    pub size: u64,
}

impl Snapshots {
    pub(crate) fn open(dir: &Path) -> Result<Snapshots, SnapshotError> {
        fs::create_dir_all(dir).map_err(|source| SnapshotError::Dir { path: dir.to_path_buf(), source })?;
        Ok(Snapshots { dir: dir.to_path_buf() })
    }

    /// The directory overlayfs stacks: `snapshots/<id>/fs`.
    pub(crate) fn fs_dir(&self, id: SnapshotId) -> PathBuf {
        self.dir.join(id.to_string()).join("fs")
    }

    /// The complete snapshot of a chain, if there is one (pull's skip check).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn lookup(&self, db: &Db, chain_id: &Digest) -> Result<Option<SnapshotId>, SnapshotError> {
        let r = db
            .conn()
            .query_row("SELECT id FROM snapshots WHERE chain_id = ?1 AND complete = 1", [chain_id.as_str()], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| db.err(e))?;
        Ok(r)
    }

    /// The recorded size of a snapshot.
    pub(crate) fn size(&self, db: &Db, id: SnapshotId) -> Result<u64, SnapshotError> {
        let n: i64 = db
            .conn()
            .query_row("SELECT size FROM snapshots WHERE id = ?1", [id], |r| r.get(0))
            .map_err(|e| db.err(e))?;
        Ok(n as u64)
    }

    /// Start `n` snapshots owned by this process (one transaction).
    pub(crate) fn prepare(&self, db: &mut Db, n: usize) -> Result<Vec<Pending>, SnapshotError> {
        let (pid, start) = proc::self_owner();
        let now = chrono::Utc::now().timestamp();
        let path = db.path().to_path_buf();
        let ids: Vec<SnapshotId> = db.write(|tx| {
            let mut ids = Vec::with_capacity(n);
            for _ in 0..n {
                tx.execute(
                    "INSERT INTO snapshots (owner_pid, owner_start, created) VALUES (?1, ?2, ?3)",
                    params![pid, start as i64, now],
                )
                .map_err(|source| DbError::Sql { path: path.clone(), source })?;
                ids.push(tx.last_insert_rowid());
            }
            Ok::<_, SnapshotError>(ids)
        })?;
        let mut out = Vec::with_capacity(n);
        for id in ids {
            let fs_dir = self.fs_dir(id);
            // Dropping the ones made so far removes their directories.
            fs::create_dir_all(&fs_dir).map_err(|source| SnapshotError::Io {
                id,
                op: "create",
                path: fs_dir.clone(),
                source,
            })?;
            out.push(Pending { id, fs: fs_dir, committed: false });
        }
        Ok(out)
    }

    /// Make `done` durable and visible. A chain another process completed in
    /// the meantime wins: ours is discarded and the existing id returned.
    /// Returns the snapshot id of each, in order.
    pub(crate) fn commit(&self, db: &mut Db, done: Vec<(Pending, Finished)>) -> Result<Vec<SnapshotId>, SnapshotError> {
        if let Some((p, _)) = done.first() {
            let t = std::time::Instant::now();
            // One syncfs covers every file of every snapshot: they share a file system.
            let d = fs::File::open(&p.fs).map_err(|source| SnapshotError::Io {
                id: p.id,
                op: "open",
                path: p.fs.clone(),
                source,
            })?;
            nix::unistd::syncfs(d.as_raw_fd()).map_err(|e| SnapshotError::Io {
                id: p.id,
                op: "syncfs",
                path: p.fs.clone(),
                source: e.into(),
            })?;
            tracing::debug!(snapshots = done.len(), syncfs_ms = t.elapsed().as_millis() as u64, "snapshots synced");
        }
        let path = db.path().to_path_buf();
        let sql = |source| DbError::Sql { path: path.clone(), source };
        let ids = db.write(|tx| {
            let mut ids = Vec::with_capacity(done.len());
            for (p, f) in &done {
                let existing: Option<SnapshotId> = tx
                    .query_row("SELECT id FROM snapshots WHERE chain_id = ?1 AND complete = 1", [f.chain_id.as_str()], |r| r.get(0))
                    .optional()
                    .map_err(sql)?;
                if let Some(id) = existing {
                    tx.execute("DELETE FROM snapshots WHERE id = ?1", [p.id]).map_err(sql)?;
                    ids.push(id);
                    continue;
                }
                tx.execute(
                    "UPDATE snapshots SET chain_id = ?1, diff_id = ?2, size = ?3, complete = 1, owner_pid = NULL, owner_start = NULL WHERE id = ?4",
                    params![f.chain_id.as_str(), f.diff_id.as_str(), f.size as i64, p.id],
                )
                .map_err(sql)?;
                ids.push(p.id);
            }
            Ok::<_, SnapshotError>(ids)
        })?;
        for ((mut p, _), id) in done.into_iter().zip(&ids) {
            // Kept ones are committed; a discarded duplicate is removed by Drop.
            p.committed = p.id == *id;
        }
        Ok(ids)
    }

    /// Remove one snapshot's directory (its row is already gone); returns the
    /// bytes freed.
    pub(crate) fn remove_dir(&self, id: SnapshotId) -> Result<u64, SnapshotError> {
        let d = self.dir.join(id.to_string());
        let size = disk_usage(&d);
        match fs::remove_dir_all(&d) {
            Ok(()) => Ok(size),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
            Err(source) => Err(SnapshotError::Io { id, op: "remove", path: d, source }),
        }
    }

    /// Remove incomplete snapshots of dead owners and directories without a
    /// row. Returns how many of each were removed.
    pub(crate) fn recover(&self, db: &mut Db) -> Result<(usize, usize), SnapshotError> {
        let rows: Vec<(SnapshotId, Option<u32>, Option<i64>, bool)> = {
            let mut st = db
                .conn()
                .prepare("SELECT id, owner_pid, owner_start, complete FROM snapshots")
                .map_err(|e| db.err(e))?;
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .and_then(Iterator::collect)
                .map_err(|e| db.err(e))?
        };
        let dead: Vec<SnapshotId> = rows
            .iter()
            .filter(|(_, pid, start, complete)| {
                !complete && !matches!((pid, start), (Some(p), Some(s)) if proc::is_alive(*p, *s as u64))
            })
            .map(|r| r.0)
            .collect();
        if !dead.is_empty() {
            let path = db.path().to_path_buf();
            db.write(|tx| {
                for id in &dead {
                    tx.execute("DELETE FROM snapshots WHERE id = ?1 AND complete = 0", [id])
                        .map_err(|source| DbError::Sql { path: path.clone(), source })?;
                }
                Ok::<_, SnapshotError>(())
            })?;
        }
        let known: std::collections::HashSet<SnapshotId> =
            rows.iter().map(|r| r.0).filter(|id| !dead.contains(id)).collect();
        let mut orphans = 0;
        for name in self.dir_names()? {
            if let Ok(id) = name.parse::<SnapshotId>()
                && !known.contains(&id)
            {
                // A row inserted after our read has its directory made after it: re-check.
                if !self.row_exists(db, id)? {
                    self.remove_dir(id)?;
                    orphans += 1;
                }
            }
        }
        Ok((dead.len(), orphans))
    }

    fn row_exists(&self, db: &Db, id: SnapshotId) -> Result<bool, SnapshotError> {
        let n: i64 = db
            .conn()
            .query_row("SELECT count(*) FROM snapshots WHERE id = ?1", [id], |r| r.get(0))
            .map_err(|e| db.err(e))?;
        Ok(n > 0)
    }

    /// The names in the snapshots directory.
    pub(crate) fn dir_names(&self) -> Result<Vec<String>, SnapshotError> {
        let rd = fs::read_dir(&self.dir).map_err(|source| SnapshotError::Dir { path: self.dir.clone(), source })?;
        Ok(rd.filter_map(Result::ok).filter_map(|e| e.file_name().into_string().ok()).collect())
    }
}

impl Pending {
    pub(crate) fn fs(&self) -> &Path {
        &self.fs
    }
}

impl Drop for Pending {
    /// An uncommitted snapshot's directory goes at once; its row is removed by
    /// the next [`Snapshots::recover`] once this process has exited.
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        if let Some(d) = self.fs.parent()
            && let Err(e) = fs::remove_dir_all(d)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(snapshot = self.id, error = %e, "remove abandoned snapshot");
        }
    }
}

#[cfg_attr(not(test), allow(dead_code))] // pull computes chain ids
/// The chain id of a layer on top of `parent` (OCI image-spec config.md):
/// the bottom layer's is its diff id, then sha256 of "<parent> <diff_id>".
pub(crate) fn chain_id(parent: Option<&Digest>, diff_id: &Digest) -> Digest {
    match parent {
        None => diff_id.clone(),
        Some(p) => Digest::of(format!("{p} {diff_id}").as_bytes()),
    }
}

/// Bytes allocated under `path` (what `du` counts), without following symlinks.
pub(crate) fn disk_usage(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(m) = fs::symlink_metadata(path) else { return 0 };
    let mut total = m.blocks() * 512;
    if m.is_dir()
        && let Ok(rd) = fs::read_dir(path)
    {
        for e in rd.flatten() {
            total += disk_usage(&e.path());
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, Db, Snapshots) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("berth.db")).unwrap();
        let s = Snapshots::open(&dir.path().join("snapshots")).unwrap();
        (dir, db, s)
    }

    fn finished(n: u8) -> Finished {
        let d = Digest::of(&[n]);
        Finished { chain_id: d.clone(), diff_id: d, size: 1 }
    }

    #[test]
    fn incomplete_snapshot_is_invisible_until_commit() {
        let (_d, mut db, s) = setup();
        let p = s.prepare(&mut db, 1).unwrap().pop().unwrap();
        fs::write(p.fs().join("f"), "x").unwrap();
        let f = finished(1);
        assert_eq!(s.lookup(&db, &f.chain_id).unwrap(), None);
        let id = p.id;
        assert_eq!(s.commit(&mut db, vec![(p, f.clone())]).unwrap(), vec![id]);
        assert_eq!(s.lookup(&db, &f.chain_id).unwrap(), Some(id));
        assert!(s.fs_dir(id).join("f").is_file());
    }

    #[test]
    fn second_commit_of_a_chain_reuses_the_first() {
        let (_d, mut db, s) = setup();
        let mut ps = s.prepare(&mut db, 2).unwrap();
        let (b, a) = (ps.pop().unwrap(), ps.pop().unwrap());
        let (ida, idb) = (a.id, b.id);
        s.commit(&mut db, vec![(a, finished(1))]).unwrap();
        assert_eq!(s.commit(&mut db, vec![(b, finished(1))]).unwrap(), vec![ida]);
        assert!(!s.dir.join(idb.to_string()).exists());
    }

    #[test]
    fn recover_removes_dead_owners_rows_and_orphan_dirs() {
        let (_d, mut db, s) = setup();
        let p = s.prepare(&mut db, 1).unwrap().pop().unwrap();
        // A live owner (us) keeps its pending snapshot.
        assert_eq!(s.recover(&mut db).unwrap(), (0, 0));
        db.conn().execute("UPDATE snapshots SET owner_start = 1 WHERE id = ?1", [p.id]).unwrap();
        std::mem::forget(p);
        fs::create_dir_all(s.dir.join("999/fs")).unwrap();
        assert_eq!(s.recover(&mut db).unwrap(), (1, 2));
        assert!(s.dir_names().unwrap().is_empty());
    }

    #[test]
    fn chain_id_follows_the_image_spec() {
        let a = Digest::of(b"a");
        let b = Digest::of(b"b");
        assert_eq!(chain_id(None, &a), a);
        assert_eq!(chain_id(Some(&a), &b), Digest::of(format!("{a} {b}").as_bytes()));
    }
}
