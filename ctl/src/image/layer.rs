//! One layer through one pass: the stream as it arrives (compressed or not) is
//! hashed and written to an ingest file, decompressed, hashed again (the diff
//! id) and unpacked into a pending snapshot, all at once — no temp file of the
//! whole layer, no second read. The caller commits blob and snapshot only when
//! both digests are right.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use sha2::Digest as _;

use crate::content::{ContentError, Ingest};
use crate::reference::Digest;
use crate::unpack::{self, UnpackError};

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
/// A buffer big enough that decompression is not called per tar block.
const BUF: usize = 256 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// From a layer media type (docker's and OCI's spellings).
    pub(crate) fn from_media_type(mt: &str) -> Option<Compression> {
        if mt.ends_with("+gzip")
            || mt.ends_with(".tar.gzip")
            || mt.ends_with("tar.gzip")
            || mt.ends_with("rootfs.diff.tar.gzip")
        {
            Some(Compression::Gzip)
        } else if mt.ends_with("+zstd") {
            Some(Compression::Zstd)
        } else if mt.ends_with(".tar") || mt.ends_with("layer.v1.tar") {
            Some(Compression::None)
        } else {
            None
        }
    }

    /// By magic bytes, as `docker import` does.
    pub(crate) fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(GZIP_MAGIC) {
            Compression::Gzip
        } else if head.starts_with(ZSTD_MAGIC) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    /// The OCI media type of a layer stored with this compression.
    pub(crate) fn oci_media_type(self) -> &'static str {
        match self {
            Compression::None => "application/vnd.oci.image.layer.v1.tar",
            Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
            Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum LayerError {
    #[error("decompress")]
    Decompress(#[source] io::Error),
    #[error("unpack")]
    Unpack(#[source] UnpackError),
    #[error("store blob")]
    Content(#[source] ContentError),
    #[error("diff id mismatch: config says {expected}, content is {actual}")]
    DiffId { expected: Digest, actual: Digest },
}

/// What one pass produced.
#[derive(Debug, Clone)]
pub(crate) struct Applied {
    pub blob: Digest,
    pub blob_size: u64,
    pub diff_id: Digest,
    /// Sum of file sizes: the layer's size as docker reports it.
    pub size: u64,
}

/// Where the compressed stream goes while it is unpacked.
pub(crate) enum BlobSink {
    /// A new blob: written to the content store, committed if its digest is right.
    Ingest(Ingest),
    /// A blob already stored (read back from it): only its digest is checked again.
    Verify(Digest),
}

/// Read `src` to its end: store or re-verify it (`sink`), decompress it with
/// `compression`, and unpack it into `fs`. `expected_diff_id` (from the image
/// config) is checked when given. On any error nothing is committed: the
/// ingest file is removed when dropped and the caller drops the snapshot.
pub(crate) fn apply(
    src: impl Read,
    compression: Compression,
    sink: BlobSink,
    fs: &Path,
    expected_diff_id: Option<&Digest>,
) -> Result<Applied, LayerError> {
    let (ingest, verify) = match sink {
        BlobSink::Ingest(i) => (Some(i), None),
        BlobSink::Verify(d) => (None, Some(d)),
    };
    let started = Instant::now();
    let mut tee = Tee { inner: src, ingest, hasher: sha2::Sha256::new(), read: 0, waited: Duration::ZERO };
    let (stats, diff_id, read_time, tar_bytes) = {
        let buffered = BufReader::with_capacity(BUF, &mut tee);
        let decompressed: Box<dyn Read> = match compression {
            Compression::None => Box::new(buffered),
            Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
            Compression::Zstd => {
                Box::new(zstd::stream::read::Decoder::with_buffer(buffered).map_err(LayerError::Decompress)?)
            }
        };
        let mut hashing = Hashing {
            inner: BufReader::with_capacity(BUF, decompressed),
            hasher: sha2::Sha256::new(),
            spent: Duration::ZERO,
            read: 0,
        };
        let stats = unpack::unpack(&mut hashing, fs).map_err(LayerError::Unpack)?;
        // The tar ends at two zero blocks; what follows (padding) is part of the diff.
        io::copy(&mut hashing, &mut io::sink()).map_err(LayerError::Decompress)?;
        let (decompress, tar_bytes) = (hashing.spent, hashing.read);
        (stats, Digest::from_sha256(&hashing.hasher.finalize()), decompress, tar_bytes)
    };
    // Anything after the compressed stream still belongs to the blob's digest.
    io::copy(&mut tee, &mut io::sink()).map_err(LayerError::Decompress)?;
    if let Some(expected) = expected_diff_id
        && expected != &diff_id
    {
        return Err(LayerError::DiffId { expected: expected.clone(), actual: diff_id });
    }
    let unpacked = started.elapsed();
    let (blob, blob_size) = match tee.ingest {
        Some(ingest) => ingest.commit().map_err(LayerError::Content)?,
        None => {
            let actual = Digest::from_sha256(&tee.hasher.finalize());
            match verify {
                Some(expected) if expected != actual => {
                    return Err(LayerError::Content(ContentError::DigestMismatch { expected, actual }));
                }
                _ => (actual, tee.read),
            }
        }
    };
    // Where the time went: waiting for the source, decompressing and
    // hashing (the blob's ingest writes included), creating files (the
    // rest), and committing the blob (its fsync).
    tracing::debug!(
        blob = %blob,
        bytes = stats.bytes,
        blob_bytes = blob_size,
        tar_bytes,
        source_ms = tee.waited.as_millis() as u64,
        decompress_ms = read_time.saturating_sub(tee.waited).as_millis() as u64,
        write_ms = unpacked.saturating_sub(read_time).as_millis() as u64,
        commit_ms = started.elapsed().saturating_sub(unpacked).as_millis() as u64,
        "layer applied"
    );
    Ok(Applied { blob, blob_size, diff_id, size: stats.bytes })
}

/// Writes everything read through it into the ingest file (which hashes
/// it), or hashes it here when there is none.
struct Tee<R> {
    inner: R,
    ingest: Option<Ingest>,
    hasher: sha2::Sha256,
    read: u64,
    /// Time spent waiting on `inner` (the network, or the disk for a stored blob).
    waited: Duration,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let t = Instant::now();
        let n = self.inner.read(buf);
        self.waited += t.elapsed();
        let n = n?;
        match &mut self.ingest {
            Some(i) => i.write_all(&buf[..n])?,
            None => self.hasher.update(&buf[..n]),
        }
        self.read += n as u64;
        Ok(n)
    }
}

struct Hashing<R> {
    inner: R,
    hasher: sha2::Sha256,
    /// Time spent producing decompressed bytes (source waits included).
    spent: Duration,
    /// Decompressed bytes read.
    read: u64,
}

impl<R: BufRead> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let t = Instant::now();
        let n = self.inner.read(buf);
        self.spent += t.elapsed();
        let n = n?;
        self.hasher.update(&buf[..n]);
        self.read += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::ContentStore;

    fn tar_of(name: &str, data: &[u8]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_path(name).unwrap();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append(&h, data).unwrap();
        b.into_inner().unwrap()
    }

    fn run(blob: &[u8], c: Compression) -> (tempfile::TempDir, Result<Applied, LayerError>) {
        let dir = tempfile::tempdir().unwrap();
        let cs = ContentStore::open(&dir.path().join("content")).unwrap();
        let fs = dir.path().join("fs");
        std::fs::create_dir(&fs).unwrap();
        let r = apply(blob, c, BlobSink::Ingest(cs.ingest(Some(Digest::of(blob)), None).unwrap()), &fs, None);
        (dir, r)
    }

    #[test]
    fn gzip_and_zstd_layers_give_the_same_diff_id() {
        let t = tar_of("hello", b"world");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&t).unwrap();
        let gz = gz.finish().unwrap();
        let zs = zstd::encode_all(&t[..], 3).unwrap();
        let (_a, plain) = run(&t, Compression::None);
        let (_b, g) = run(&gz, Compression::sniff(&gz));
        let (c, z) = run(&zs, Compression::sniff(&zs));
        let (plain, g, z) = (plain.unwrap(), g.unwrap(), z.unwrap());
        assert_eq!(plain.diff_id, Digest::of(&t));
        assert_eq!((g.diff_id.clone(), z.diff_id.clone()), (plain.diff_id.clone(), plain.diff_id));
        assert_eq!(z.blob, Digest::of(&zs));
        assert_eq!(std::fs::read(c.path().join("fs/hello")).unwrap(), b"world");
        assert!(c.path().join("content/blobs/sha256").join(z.blob.hex()).is_file());
    }

    #[test]
    fn corrupt_gzip_is_an_error_and_stores_nothing() {
        let t = tar_of("hello", b"world");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&t).unwrap();
        let mut gz = gz.finish().unwrap();
        let mid = gz.len() / 2;
        gz[mid] ^= 0xff;
        let (dir, r) = run(&gz, Compression::Gzip);
        assert!(r.is_err());
        assert_eq!(std::fs::read_dir(dir.path().join("content/blobs/sha256")).unwrap().count(), 0);
        assert_eq!(std::fs::read_dir(dir.path().join("content/ingest")).unwrap().count(), 0);
    }

    #[test]
    fn stored_blob_is_verified_when_reapplied() {
        let t = tar_of("hello", b"world");
        let dir = tempfile::tempdir().unwrap();
        let fs = dir.path().join("fs");
        std::fs::create_dir(&fs).unwrap();
        let ok =
            apply(&t[..], Compression::None, BlobSink::Verify(Digest::of(&t)), &fs, Some(&Digest::of(&t))).unwrap();
        assert_eq!(ok.blob_size, t.len() as u64);
        let fs2 = dir.path().join("fs2");
        std::fs::create_dir(&fs2).unwrap();
        let err = apply(&t[..], Compression::None, BlobSink::Verify(Digest::of(b"x")), &fs2, None).unwrap_err();
        assert!(matches!(err, LayerError::Content(ContentError::DigestMismatch { .. })));
    }

    #[test]
    fn media_types_map_to_compression() {
        assert_eq!(
            Compression::from_media_type("application/vnd.docker.image.rootfs.diff.tar.gzip"),
            Some(Compression::Gzip)
        );
        assert_eq!(
            Compression::from_media_type("application/vnd.oci.image.layer.v1.tar+zstd"),
            Some(Compression::Zstd)
        );
        assert_eq!(Compression::from_media_type("application/vnd.oci.image.layer.v1.tar"), Some(Compression::None));
        assert_eq!(
            Compression::from_media_type("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"),
            Some(Compression::Gzip)
        );
        assert_eq!(Compression::from_media_type("text/plain"), None);
    }
}
