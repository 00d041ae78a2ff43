//! One layer through one pass: the stream as it arrives (compressed or not) is
//! hashed and written to an ingest file, decompressed, hashed again (the diff
//! id) and unpacked into a pending snapshot, all at once — no temp file of the
//! whole layer, no second read; decompression and file creation run on two
//! threads. The caller commits blob and snapshot only when
//! both digests are right.

use std::io::{self, BufReader, Read, Write};
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
///
/// Two threads: one reads, stores and decompresses the stream and hashes
/// both digests; this one creates the files, fed through a channel of a few
/// chunks (memory stays bounded). A layer's time is then the slower of the
/// two, not their sum.
pub(crate) fn apply(
    src: impl Read + Send,
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
    let tee = Tee { inner: src, ingest, hasher: sha2::Sha256::new(), read: 0, waited: Duration::ZERO };
    let (produced, unpacked) = std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel(PIPE_CHUNKS);
        let producer = s.spawn(move || decompress(tee, compression, &tx));
        let mut pipe = Pipe { rx, current: Vec::new(), pos: 0, waited: Duration::ZERO };
        let unpacked = unpack::unpack(&mut pipe, fs).and_then(|stats| {
            // The tar ends at two zero blocks; what follows (padding) is part
            // of the diff: let the producer hash it to the end.
            io::copy(&mut pipe, &mut io::sink()).map_err(UnpackError::Read)?;
            Ok((stats, started.elapsed().saturating_sub(pipe.waited)))
        });
        // Dropping the receiver stops a producer still sending (after an unpack error).
        drop(pipe);
        let produced = producer.join().unwrap_or_else(|_| Err(LayerError::Decompress(io::Error::other("panicked"))));
        (produced, unpacked)
    });
    // A broken stream is the cause of the unpacker's read error: report it first.
    let mut p = produced?;
    let (stats, write_time) = unpacked.map_err(LayerError::Unpack)?;
    if let Some(expected) = expected_diff_id
        && expected != &p.diff_id
    {
        return Err(LayerError::DiffId { expected: expected.clone(), actual: p.diff_id });
    }
    let done = started.elapsed();
    let (blob, blob_size) = match p.tee.ingest.take() {
        Some(ingest) => ingest.commit().map_err(LayerError::Content)?,
        None => {
            let actual = Digest::from_sha256(&std::mem::take(&mut p.tee.hasher).finalize());
            match verify {
                Some(expected) if expected != actual => {
                    return Err(LayerError::Content(ContentError::DigestMismatch { expected, actual }));
                }
                _ => (actual, p.tee.read),
            }
        }
    };
    // Where the time went, per thread: waiting for the source, decompressing
    // and hashing (the blob's ingest writes included); creating files (not
    // counting waits for decompressed bytes); then committing the blob.
    tracing::debug!(
        blob = %blob,
        bytes = stats.bytes,
        blob_bytes = blob_size,
        tar_bytes = p.tar_bytes,
        source_ms = p.tee.waited.as_millis() as u64,
        decompress_ms = p.busy.saturating_sub(p.tee.waited).as_millis() as u64,
        write_ms = write_time.as_millis() as u64,
        total_ms = done.as_millis() as u64,
        commit_ms = started.elapsed().saturating_sub(done).as_millis() as u64,
        "layer applied"
    );
    Ok(Applied { blob, blob_size, diff_id: p.diff_id, size: stats.bytes })
}

/// Decompressed chunks in flight between the two threads of [`apply`].
const PIPE_CHUNKS: usize = 4;

type Chunk = io::Result<Vec<u8>>;

/// What the decompressing thread hands back.
struct Produced<R> {
    tee: Tee<R>,
    diff_id: Digest,
    tar_bytes: u64,
    /// Time spent reading, decompressing and hashing (source waits included).
    busy: Duration,
}

/// The decompressing thread: read `tee` to its end through the decompressor,
/// hash what comes out and send it on in chunks. A read error is sent on
/// too (the unpacker fails on it) and returned. A closed channel means the
/// unpacker failed: stop, its error is the one reported.
fn decompress<R: Read>(
    mut tee: Tee<R>,
    compression: Compression,
    tx: &std::sync::mpsc::SyncSender<Chunk>,
) -> Result<Produced<R>, LayerError> {
    let started = Instant::now();
    let mut hasher = sha2::Sha256::new();
    let mut tar_bytes = 0u64;
    let mut stopped = false;
    {
        let buffered = BufReader::with_capacity(BUF, &mut tee);
        let mut decompressed: Box<dyn Read> = match compression {
            Compression::None => Box::new(buffered),
            Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
            Compression::Zstd => {
                Box::new(zstd::stream::read::Decoder::with_buffer(buffered).map_err(LayerError::Decompress)?)
            }
        };
        loop {
            let mut chunk = vec![0u8; BUF];
            let n = match crate::unpack::read_full(&mut decompressed, &mut chunk) {
                Ok(n) => n,
                Err(e) => {
                    let _ = tx.send(Err(io::Error::new(e.kind(), e.to_string())));
                    return Err(LayerError::Decompress(e));
                }
            };
            if n == 0 {
                break;
            }
            chunk.truncate(n);
            hasher.update(&chunk);
            tar_bytes += n as u64;
            if tx.send(Ok(chunk)).is_err() {
                stopped = true;
                break;
            }
        }
    }
    // Anything after the compressed stream still belongs to the blob's
    // digest (not worth reading when the unpacker has failed).
    if !stopped {
        io::copy(&mut tee, &mut io::sink()).map_err(LayerError::Decompress)?;
    }
    Ok(Produced { tee, diff_id: Digest::from_sha256(&hasher.finalize()), tar_bytes, busy: started.elapsed() })
}

/// The unpacking end of the channel as a `Read`; a closed channel is the end.
struct Pipe {
    rx: std::sync::mpsc::Receiver<Chunk>,
    current: Vec<u8>,
    pos: usize,
    /// Time spent waiting for the decompressing thread.
    waited: Duration,
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.current.len() {
            let t = Instant::now();
            let next = self.rx.recv();
            self.waited += t.elapsed();
            match next {
                Ok(chunk) => (self.current, self.pos) = (chunk?, 0),
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
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
