//! The store as one handle: the data root's database, content store and
//! snapshot tree, opened once per command. Other modules (containers,
//! volumes, networks) use `db` for their own tables.

use std::fs;
use std::path::{Path, PathBuf};

use super::ImageError;
use crate::content::ContentStore;
use crate::db::Db;
use crate::snapshot::Snapshots;

pub(crate) struct Store {
    pub root: PathBuf,
    pub db: Db,
    pub content: ContentStore,
    pub snapshots: Snapshots,
}

impl Store {
    /// Open (creating on first use) the store under `data_root`.
    pub(crate) fn open(data_root: &Path) -> Result<Store, ImageError> {
        fs::create_dir_all(data_root).map_err(|source| ImageError::Io {
            op: "create data root",
            path: data_root.to_path_buf(),
            source,
        })?;
        Ok(Store {
            root: data_root.to_path_buf(),
            db: Db::open(&data_root.join("berth.db"))?,
            content: ContentStore::open(&data_root.join("content"))?,
            snapshots: Snapshots::open(&data_root.join("snapshots"))?,
        })
    }

    /// Clear what killed writers left: incomplete snapshots and ingest files.
    pub(crate) fn recover(&mut self) -> Result<(), ImageError> {
        self.snapshots.recover(&mut self.db)?;
        self.content.clean_ingest()?;
        Ok(())
    }
}

/// How a command takes the store's GC lock (`<data-root>/gc.lock`): writers
/// (pull, import, load) hold it shared for their whole run, so blobs and
/// snapshots they committed but have not yet tied to an image are never
/// swept; a sweep holds it exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GcLock {
    Writer,
    /// Wait for running writers to finish.
    Sweep,
    /// Sweep only if no writer runs now.
    TrySweep,
}

impl Store {
    /// Take the GC lock; None when `TrySweep` found a writer running.
    pub(crate) fn gc_lock(&self, how: GcLock) -> Result<Option<nix::fcntl::Flock<fs::File>>, ImageError> {
        use nix::fcntl::{Flock, FlockArg};
        let p = self.root.join("gc.lock");
        let f = fs::File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&p)
            .map_err(|source| ImageError::Io { op: "open", path: p.clone(), source })?;
        let arg = match how {
            GcLock::Writer => FlockArg::LockShared,
            GcLock::Sweep => FlockArg::LockExclusive,
            GcLock::TrySweep => FlockArg::LockExclusiveNonblock,
        };
        match Flock::lock(f, arg) {
            Ok(l) => Ok(Some(l)),
            Err((_, nix::errno::Errno::EWOULDBLOCK)) if how == GcLock::TrySweep => Ok(None),
            Err((_, e)) => Err(ImageError::Io { op: "flock", path: p, source: e.into() }),
        }
    }
}
