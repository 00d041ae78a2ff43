//! Images: records in the database (an image is its config digest, its
//! layers with their blobs and snapshots, its tags and repo digests), lookup
//! as docker does it (reference, full id, short id prefix), adding, tagging,
//! removing, and the garbage collection of blobs and snapshots nothing refers
//! to any more.
//!
//! What the rest of berthctl calls: [`resolve`] gives an image's config and the
//! overlay lower directories of its layers; a container keeps its image with
//! a row in `image_holds`, written by the containers' store in the
//! transaction that records the container.

mod add;
mod change;
mod check;
mod commit;
mod gc;
mod import;
pub(crate) mod layer;
mod lookup;
mod store;

use std::io;
use std::path::PathBuf;

pub(crate) use add::{NewImage, add, tag};
pub(crate) use change::apply_changes;
pub(crate) use check::{CheckOptions, check};
pub(crate) use commit::{HistoryEntry, ImageRecord, config_section, layer_from_dir, record_image};
pub(crate) use gc::{Removal, collect, prune_one, remove};
pub(crate) use import::{ImportOptions, import};
pub(crate) use lookup::{Summary, count, find_id, list};
pub(crate) use store::GcLock;
pub(crate) use store::Store;

use oci_spec::image::ImageConfiguration;

use crate::content::ContentError;
use crate::db::DbError;
use crate::reference::{Digest, ReferenceError, familiar};
use crate::snapshot::{SnapshotError, SnapshotId};

#[derive(Debug, thiserror::Error)]
pub(crate) enum ImageError {
    #[error("No such image: {0}")]
    NotFound(String),
    #[error("{op} {path:?}")]
    Io { op: &'static str, path: PathBuf, source: io::Error },
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Content(#[from] ContentError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error("image {id}: config blob: {source}")]
    Config { id: Digest, source: serde_json::Error },
    #[error("image {id}: layer {position}: snapshot {snapshot} is missing")]
    MissingSnapshot { id: Digest, position: usize, snapshot: SnapshotId },
    #[error("conflict: unable to delete {short} (must be forced) - image is being used by {holder}")]
    InUse { short: String, holder: String },
    #[error(
        "conflict: unable to remove repository reference {reference:?} (must force) - {holder} is using its referenced image {short}"
    )]
    RefInUse { reference: String, holder: String, short: String },
    #[error("conflict: unable to delete {short} (must be forced) - image is referenced in multiple repositories")]
    MultipleRepositories { short: String },
    #[error("{0}")]
    Invalid(String),
    #[error("make a layer of {dir:?}")]
    Pack { dir: PathBuf, source: crate::pack::PackError },
    #[error("layer: {source}")]
    Layer {
        #[from]
        source: layer::LayerError,
    },
}

/// One layer of a stored image, bottom first.
#[derive(Debug, Clone)]
pub(crate) struct Layer {
    pub diff_id: Digest,
    pub blob: Digest,
    pub media_type: String,
    pub blob_size: u64,
    pub snapshot: SnapshotId,
    /// The snapshot's uncompressed size.
    pub size: u64,
}

/// An image ready to run: what `run`/`create` need from the store.
#[derive(Debug, Clone)]
pub(crate) struct Image {
    /// sha256 of the config blob (docker's image id).
    pub id: Digest,
    /// docker's short form, `busybox:latest`.
    pub repo_tags: Vec<String>,
    /// `busybox@sha256:…` of the manifest it was pulled by.
    pub repo_digests: Vec<String>,
    pub config: ImageConfiguration,
    /// The config blob as stored (docker-only fields such as `comment` included).
    pub config_raw: Vec<u8>,
    /// Overlay lower directories in `lowerdir=` order: the top layer first.
    pub lower_dirs: Vec<PathBuf>,
    pub layers: Vec<Layer>,
    pub manifest: Option<(Digest, String)>,
    /// Sum of the layers' uncompressed sizes.
    pub size: u64,
    /// Unix seconds when this store got the image.
    pub added: i64,
}

/// Find an image by reference, id or short id prefix (as `docker run NAME`)
/// and load its config and layer directories.
pub(crate) fn resolve(store: &Store, name: &str) -> Result<Image, ImageError> {
    let id = find_id(&store.db, name)?;
    load(store, &id)
}

/// Load an image by full id.
pub(crate) fn load(store: &Store, id: &Digest) -> Result<Image, ImageError> {
    let conn = store.db.conn();
    let err = |e| ImageError::Db(store.db.err(e));
    let (manifest, media_type, size, added): (Option<String>, Option<String>, i64, i64) = conn
        .query_row(
            "SELECT manifest_digest, manifest_media_type, size, added FROM images WHERE id = ?1",
            [id.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .map_err(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => ImageError::NotFound(id.to_string()),
            e => err(e),
        })?;
    let layers = layers_of(store, id)?;
    let config_raw = store.content.read(id)?;
    let config: ImageConfiguration =
        serde_json::from_slice(&config_raw).map_err(|source| ImageError::Config { id: id.clone(), source })?;
    let mut lower_dirs = Vec::with_capacity(layers.len());
    for (position, l) in layers.iter().enumerate().rev() {
        let d = store.snapshots.fs_dir(l.snapshot);
        if !d.is_dir() {
            return Err(ImageError::MissingSnapshot { id: id.clone(), position, snapshot: l.snapshot });
        }
        lower_dirs.push(d);
    }
    let manifest = match (manifest, media_type) {
        (Some(d), Some(mt)) => Some((d.parse()?, mt)),
        _ => None,
    };
    Ok(Image {
        id: id.clone(),
        repo_tags: names_of(store, "tags", id)?,
        repo_digests: names_of(store, "repo_digests", id)?,
        config,
        config_raw,
        lower_dirs,
        layers,
        manifest,
        size: size as u64,
        added,
    })
}

fn layers_of(store: &Store, id: &Digest) -> Result<Vec<Layer>, ImageError> {
    let conn = store.db.conn();
    let err = |e| ImageError::Db(store.db.err(e));
    let mut st = conn
        .prepare(
            "SELECT l.diff_id, l.blob_digest, l.blob_media_type, l.blob_size, l.snapshot_id, s.size
             FROM image_layers l JOIN snapshots s ON s.id = l.snapshot_id
             WHERE l.image_id = ?1 ORDER BY l.position",
        )
        .map_err(err)?;
    let rows: Vec<(String, String, String, i64, i64, i64)> = st
        .query_map([id.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
        .and_then(Iterator::collect)
        .map_err(err)?;
    rows.into_iter()
        .map(|(diff, blob, mt, bs, snap, size)| {
            Ok(Layer {
                diff_id: diff.parse()?,
                blob: blob.parse()?,
                media_type: mt,
                blob_size: bs as u64,
                snapshot: snap,
                size: size as u64,
            })
        })
        .collect()
}

/// Tags or repo digests of an image in docker's short form, sorted.
fn names_of(store: &Store, table: &str, id: &Digest) -> Result<Vec<String>, ImageError> {
    let mut st = store
        .db
        .conn()
        .prepare(&format!("SELECT name FROM {table} WHERE image_id = ?1 ORDER BY name"))
        .map_err(|e| store.db.err(e))?;
    let names: Vec<String> =
        st.query_map([id.as_str()], |r| r.get(0)).and_then(Iterator::collect).map_err(|e| store.db.err(e))?;
    Ok(names.iter().map(|n| familiar(n)).collect())
}

/// The holders of an image (`container:<id>`…), for rmi's conflict message.
pub(crate) fn holders(store: &Store, id: &Digest) -> Result<Vec<String>, ImageError> {
    let mut st = store
        .db
        .conn()
        .prepare("SELECT holder FROM image_holds WHERE image_id = ?1 ORDER BY holder")
        .map_err(|e| store.db.err(e))?;
    let v: Vec<String> =
        st.query_map([id.as_str()], |r| r.get(0)).and_then(Iterator::collect).map_err(|e| store.db.err(e))?;
    Ok(v)
}

#[cfg(test)]
mod tests;
