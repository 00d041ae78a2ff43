//! `save` and `load`: images to and from the tar archives other tools
//! exchange. docker-archive is what `docker save` writes and `docker load` /
//! `podman load` read: `manifest.json` (config file and layer files per
//! image, with its tags), `repositories`, `<config>.json` and
//! `<layer id>/layer.tar` with uncompressed layers. oci-archive is an OCI
//! image layout in a tar: `oci-layout`, `index.json` (tags as annotations),
//! `blobs/sha256/<hex>` with layers as stored.
//!
//! Layers are read from the content store and decompressed as they are
//! written; loading stores every file of the archive as a blob first (the
//! archive's `manifest.json` usually comes last), then unpacks each layer not
//! yet in the store into a snapshot, checking its diff id against the config.

mod load;
mod save;

use std::io::{self, BufRead, BufReader, Read};

use sha2::Digest as _;

pub(crate) use load::load;
pub(crate) use save::save;

use crate::content::ContentError;
use crate::image::ImageError;
use crate::image::layer::Compression;
use crate::reference::{Digest, ReferenceError};
use crate::snapshot::SnapshotError;
use crate::unpack::UnpackError;

/// Big enough that decompression is not called per tar block.
const BUF: usize = 256 * 1024;

pub(crate) const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub(crate) const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub(crate) const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// The two archive formats, named as podman's `save --format` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    DockerArchive,
    OciArchive,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ArchiveError {
    #[error("write archive")]
    Write(#[source] io::Error),
    #[error("read archive")]
    Read(#[source] io::Error),
    #[error("archive entry {name:?}: {detail}")]
    Entry { name: String, detail: String },
    #[error("{0}")]
    Invalid(String),
    #[error("layer {blob}: read")]
    LayerRead { blob: Digest, source: io::Error },
    #[error("layer {blob}: unpack")]
    Unpack { blob: Digest, source: UnpackError },
    #[error("layer {blob}: diff id mismatch: config says {expected}, content is {actual}")]
    DiffId { blob: Digest, expected: Digest, actual: Digest },
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error(transparent)]
    Content(#[from] ContentError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    Reference(#[from] ReferenceError),
}

/// A stored layer blob, decompressed as it is read.
fn decompressed(file: std::fs::File, compression: Compression) -> io::Result<Box<dyn Read>> {
    let buffered = BufReader::with_capacity(BUF, file);
    Ok(match compression {
        Compression::None => Box::new(buffered),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(buffered)?),
    })
}

/// The compression of a stored blob, from its first bytes.
fn sniff(file: &mut std::fs::File) -> io::Result<Compression> {
    use std::io::Seek;
    let mut head = [0u8; 4];
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..])? {
            0 => break,
            k => n += k,
        }
    }
    file.rewind()?;
    Ok(Compression::sniff(&head[..n]))
}

/// Counts and hashes what is read through it (a layer's diff id and size).
struct Hashing<R> {
    inner: R,
    hasher: sha2::Sha256,
    count: u64,
}

impl<R: Read> Hashing<R> {
    fn new(inner: R) -> Self {
        Hashing { inner, hasher: sha2::Sha256::new(), count: 0 }
    }

    fn digest(&self) -> Digest {
        Digest::from_sha256(&self.hasher.clone().finalize())
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// An archive given to `load` may itself be compressed (`docker save | gzip`),
/// as `docker load` accepts.
fn maybe_decompress<'a>(input: impl Read + 'a) -> Result<Box<dyn Read + 'a>, ArchiveError> {
    let mut buffered = BufReader::with_capacity(BUF, input);
    let head = buffered.fill_buf().map_err(ArchiveError::Read)?;
    Ok(match Compression::sniff(head) {
        Compression::None => Box::new(buffered),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(buffered).map_err(ArchiveError::Read)?),
    })
}

/// The OCI media type for a layer blob of any spelling (docker's v2s2 names
/// map to OCI's with the same compression).
fn oci_layer_media_type(media_type: &str) -> String {
    if media_type.starts_with("application/vnd.oci.") {
        return media_type.to_string();
    }
    Compression::from_media_type(media_type).unwrap_or(Compression::None).oci_media_type().to_string()
}
