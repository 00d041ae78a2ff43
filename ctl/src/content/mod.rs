//! Content-addressed blobs: `content/blobs/sha256/<hex>`. A blob is written
//! under `content/ingest/`, hashed as it is written, checked against the digest
//! it was announced with, fsynced, and only then renamed into place (and the
//! directory fsynced), so a blob that exists is always whole and correct. An
//! ingest file left by a killed writer carries its pid and start time in its
//! name and is removed once that process is gone.

// size/verify serve `system check`, save and push, which land on top of it.

mod ingest;

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

pub(crate) use ingest::Ingest;

use crate::reference::Digest;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ContentError {
    #[error("{op} {path:?}")]
    Io { op: &'static str, path: PathBuf, source: io::Error },
    #[error("blob {expected}: digest mismatch (got {actual})")]
    DigestMismatch { expected: Digest, actual: Digest },
    #[error("blob {digest}: size mismatch (expected {expected} bytes, got {actual})")]
    SizeMismatch { digest: String, expected: u64, actual: u64 },
    #[error("blob {0}: not in the content store")]
    Missing(Digest),
}

impl ContentError {
    pub(crate) fn io(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> ContentError + use<> {
        let path = path.to_path_buf();
        move |source| ContentError::Io { op, path, source }
    }
}

/// The blob store under `<data-root>/content`.
#[derive(Debug, Clone)]
pub(crate) struct ContentStore {
    blobs: PathBuf,
    ingest: PathBuf,
}

impl ContentStore {
    pub(crate) fn open(root: &Path) -> Result<ContentStore, ContentError> {
        let blobs = root.join("blobs/sha256");
        let ingest = root.join("ingest");
        for d in [&blobs, &ingest] {
            fs::create_dir_all(d).map_err(ContentError::io("create", d))?;
        }
        Ok(ContentStore { blobs, ingest })
    }

    pub(crate) fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.blobs.join(digest.hex())
    }

    pub(crate) fn has(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    /// The size of a stored blob.
    pub(crate) fn size(&self, digest: &Digest) -> Result<u64, ContentError> {
        let p = self.blob_path(digest);
        match fs::metadata(&p) {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(ContentError::Missing(digest.clone())),
            Err(e) => Err(ContentError::Io { op: "stat", path: p, source: e }),
        }
    }

    /// Open a stored blob for reading.
    pub(crate) fn open_blob(&self, digest: &Digest) -> Result<fs::File, ContentError> {
        let p = self.blob_path(digest);
        fs::File::open(&p).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => ContentError::Missing(digest.clone()),
            _ => ContentError::Io { op: "open", path: p.clone(), source: e },
        })
    }

    /// Read a small blob (a manifest or config) whole, checking its digest.
    pub(crate) fn read(&self, digest: &Digest) -> Result<Vec<u8>, ContentError> {
        let mut data = Vec::new();
        let p = self.blob_path(digest);
        self.open_blob(digest)?.read_to_end(&mut data).map_err(ContentError::io("read", &p))?;
        let actual = Digest::of(&data);
        if &actual != digest {
            return Err(ContentError::DigestMismatch { expected: digest.clone(), actual });
        }
        Ok(data)
    }

    /// Store a small blob whole and return its digest.
    pub(crate) fn put(&self, data: &[u8]) -> Result<Digest, ContentError> {
        let digest = Digest::of(data);
        if self.has(&digest) {
            return Ok(digest);
        }
        let mut w = self.ingest(Some(digest.clone()), Some(data.len() as u64))?;
        io::Write::write_all(&mut w, data).map_err(ContentError::io("write", &self.ingest))?;
        w.commit()?;
        Ok(digest)
    }

    /// Start writing a blob; see [`Ingest`].
    pub(crate) fn ingest(&self, expected: Option<Digest>, size: Option<u64>) -> Result<Ingest, ContentError> {
        Ingest::create(&self.ingest, &self.blobs, expected, size)
    }

    /// Every stored blob's digest (files with other names are skipped).
    pub(crate) fn list(&self) -> Result<Vec<Digest>, ContentError> {
        let rd = fs::read_dir(&self.blobs).map_err(ContentError::io("read dir", &self.blobs))?;
        let mut out = Vec::new();
        for e in rd {
            let e = e.map_err(ContentError::io("read dir", &self.blobs))?;
            if let Some(d) = e.file_name().to_str().and_then(|n| format!("sha256:{n}").parse::<Digest>().ok()) {
                out.push(d);
            }
        }
        Ok(out)
    }

    /// Remove a blob; returns the bytes freed (0 if it was already gone).
    pub(crate) fn remove(&self, digest: &Digest) -> Result<u64, ContentError> {
        let p = self.blob_path(digest);
        let size = fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
        match fs::remove_file(&p) {
            Ok(()) => Ok(size),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(ContentError::Io { op: "remove", path: p, source: e }),
        }
    }

    /// Re-hash a stored blob; Err(DigestMismatch) when it is corrupt.
    pub(crate) fn verify(&self, digest: &Digest) -> Result<(), ContentError> {
        use sha2::Digest as _;
        let p = self.blob_path(digest);
        let mut f = self.open_blob(digest)?;
        let mut h = sha2::Sha256::new();
        io::copy(&mut f, &mut h).map_err(ContentError::io("read", &p))?;
        let actual = Digest::from_sha256(&h.finalize());
        if &actual != digest {
            return Err(ContentError::DigestMismatch { expected: digest.clone(), actual });
        }
        Ok(())
    }

    /// Names of ingest files whose writer is gone.
    pub(crate) fn stale_ingest(&self) -> Result<Vec<String>, ContentError> {
        ingest::stale(&self.ingest)
    }

    /// Remove ingest files whose writer is gone; returns how many.
    pub(crate) fn clean_ingest(&self) -> Result<usize, ContentError> {
        ingest::clean_stale(&self.ingest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn put_then_read_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let cs = ContentStore::open(dir.path()).unwrap();
        let d = cs.put(b"hello").unwrap();
        assert_eq!(cs.read(&d).unwrap(), b"hello");
        assert_eq!(cs.list().unwrap(), vec![d.clone()]);
        assert_eq!(cs.remove(&d).unwrap(), 5);
        assert!(!cs.has(&d));
    }

    #[test]
    fn wrong_digest_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let cs = ContentStore::open(dir.path()).unwrap();
        let mut w = cs.ingest(Some(Digest::of(b"other")), None).unwrap();
        w.write_all(b"hello").unwrap();
        assert!(matches!(w.commit(), Err(ContentError::DigestMismatch { .. })));
        assert!(cs.list().unwrap().is_empty());
        assert_eq!(fs::read_dir(dir.path().join("ingest")).unwrap().count(), 0);
    }

    #[test]
    fn short_blob_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let cs = ContentStore::open(dir.path()).unwrap();
        let mut w = cs.ingest(Some(Digest::of(b"hello")), Some(10)).unwrap();
        w.write_all(b"hello").unwrap();
        assert!(matches!(w.commit(), Err(ContentError::SizeMismatch { .. })));
        assert!(cs.list().unwrap().is_empty());
    }

    #[test]
    fn corrupt_blob_fails_verify() {
        let dir = tempfile::tempdir().unwrap();
        let cs = ContentStore::open(dir.path()).unwrap();
        let d = cs.put(b"hello").unwrap();
        fs::write(cs.blob_path(&d), b"jello").unwrap();
        assert!(matches!(cs.verify(&d), Err(ContentError::DigestMismatch { .. })));
    }

    #[test]
    fn stale_ingest_of_a_dead_writer_is_cleaned() {
        let dir = tempfile::tempdir().unwrap();
        let cs = ContentStore::open(dir.path()).unwrap();
        fs::write(dir.path().join("ingest/1.1.0"), b"x").unwrap();
        let live = cs.ingest(None, None).unwrap();
        assert_eq!(cs.clean_ingest().unwrap(), 1);
        assert_eq!(fs::read_dir(dir.path().join("ingest")).unwrap().count(), 1);
        drop(live);
        assert_eq!(fs::read_dir(dir.path().join("ingest")).unwrap().count(), 0);
    }
}
