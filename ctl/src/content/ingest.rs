//! One blob being written: `ingest/<pid>.<start>.<n>`, hashed as it is
//! written; `commit` checks digest and size, fsyncs, renames into
//! `blobs/sha256/` and fsyncs that directory. Dropped without a commit, the
//! file is removed.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::Digest as _;

use super::ContentError;
use crate::reference::Digest;
use crate::sys::proc;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A blob being written; see the module doc.
pub(crate) struct Ingest {
    file: Option<File>,
    path: PathBuf,
    blobs: PathBuf,
    hasher: sha2::Sha256,
    written: u64,
    expected: Option<Digest>,
    expected_size: Option<u64>,
}

impl Ingest {
    pub(super) fn create(
        dir: &Path,
        blobs: &Path,
        expected: Option<Digest>,
        expected_size: Option<u64>,
    ) -> Result<Ingest, ContentError> {
        let (pid, start) = proc::self_owner();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("{pid}.{start}.{n}"));
        let file =
            File::options().write(true).create_new(true).open(&path).map_err(ContentError::io("create", &path))?;
        Ok(Ingest {
            file: Some(file),
            path,
            blobs: blobs.to_path_buf(),
            hasher: sha2::Sha256::new(),
            written: 0,
            expected,
            expected_size,
        })
    }

    /// The digest of what was written so far (before `commit`: `load` needs
    /// to know whether the blob is new to the store).
    pub(crate) fn digest(&self) -> Digest {
        Digest::from_sha256(&self.hasher.clone().finalize())
    }

    /// Check, fsync and publish the blob; returns its digest and size.
    pub(crate) fn commit(mut self) -> Result<(Digest, u64), ContentError> {
        let actual = Digest::from_sha256(&std::mem::take(&mut self.hasher).finalize());
        let name = self.expected.as_ref().unwrap_or(&actual).to_string();
        if let Some(size) = self.expected_size
            && size != self.written
        {
            return Err(ContentError::SizeMismatch { digest: name, expected: size, actual: self.written });
        }
        if let Some(expected) = &self.expected
            && expected != &actual
        {
            return Err(ContentError::DigestMismatch { expected: expected.clone(), actual });
        }
        let file = self.file.take().ok_or_else(|| ContentError::Io {
            op: "commit",
            path: self.path.clone(),
            source: io::Error::other("already committed"),
        })?;
        let t = std::time::Instant::now();
        file.sync_all().map_err(ContentError::io("fsync", &self.path))?;
        drop(file);
        let target = self.blobs.join(actual.hex());
        fs::rename(&self.path, &target).map_err(ContentError::io("rename into", &target))?;
        File::open(&self.blobs).and_then(|d| d.sync_all()).map_err(ContentError::io("fsync", &self.blobs))?;
        tracing::debug!(blob = %actual, fsync_ms = t.elapsed().as_millis() as u64, "blob committed");
        self.path = PathBuf::new();
        Ok((actual, self.written))
    }
}

impl Write for Ingest {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let file = self.file.as_mut().ok_or_else(|| io::Error::other("ingest already committed"))?;
        let n = file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Ingest {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty()
            && let Err(e) = fs::remove_file(&self.path)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(path = ?self.path, error = %e, "remove abandoned ingest file");
        }
    }
}

/// Names of `<pid>.<start>.<n>` files whose writer is no longer running (and
/// of files of any other name, which no berthctl writes).
pub(super) fn stale(dir: &Path) -> Result<Vec<String>, ContentError> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).map_err(ContentError::io("read dir", dir))? {
        let e = e.map_err(ContentError::io("read dir", dir))?;
        let name = e.file_name().to_string_lossy().into_owned();
        let mut parts = name.split('.');
        let owner = (parts.next().and_then(|p| p.parse().ok()), parts.next().and_then(|s| s.parse().ok()));
        if let (Some(pid), Some(start)) = owner
            && proc::is_alive(pid, start)
        {
            continue;
        }
        out.push(name);
    }
    Ok(out)
}

/// Remove the files [`stale`] names; returns how many.
pub(super) fn clean_stale(dir: &Path) -> Result<usize, ContentError> {
    let names = stale(dir)?;
    for n in &names {
        let p = dir.join(n);
        fs::remove_file(&p).map_err(ContentError::io("remove", &p))?;
    }
    Ok(names.len())
}
