//! Recording an image whose blobs and snapshots are already committed: the
//! image row, its layers, its tag and repo digest, in one transaction. A tag
//! that pointed elsewhere moves (the old image may become dangling), as
//! `docker pull`/`tag` do.

use crate::db::{DbError, params};
use crate::reference::{Digest, Reference};

use super::{ImageError, Layer, Store};

#[derive(Debug, Clone)]
pub(crate) struct NewImage {
    /// The config blob's digest.
    pub id: Digest,
    /// `created` from the config.
    pub created: Option<String>,
    pub manifest: Option<(Digest, String)>,
    pub layers: Vec<Layer>,
    pub tag: Option<Reference>,
    /// Set when pulled: `repository@digest` is recorded (the digest the
    /// reference resolved to: the index's for a multi-platform image).
    pub repo_digest: Option<(Reference, Digest)>,
}

/// Record `img` (its blobs and snapshots must already be committed).
pub(crate) fn add(store: &mut Store, img: &NewImage) -> Result<(), ImageError> {
    let path = store.db.path().to_path_buf();
    let sql = |source| DbError::Sql { path: path.clone(), source };
    let size: u64 = img.layers.iter().map(|l| l.size).sum();
    let now = chrono::Utc::now().timestamp();
    store.db.write(|tx| {
        let (manifest, media_type) = match &img.manifest {
            Some((d, mt)) => (Some(d.as_str()), Some(mt.as_str())),
            None => (None, None),
        };
        let inserted = tx
            .execute(
                "INSERT OR IGNORE INTO images (id, manifest_digest, manifest_media_type, created, size, added)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![img.id.as_str(), manifest, media_type, img.created, size as i64, now],
            )
            .map_err(sql)?;
        if inserted == 1 {
            for (i, l) in img.layers.iter().enumerate() {
                tx.execute(
                    "INSERT INTO image_layers (image_id, position, diff_id, blob_digest, blob_media_type, blob_size, snapshot_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        img.id.as_str(),
                        i as i64,
                        l.diff_id.as_str(),
                        l.blob.as_str(),
                        l.media_type,
                        l.blob_size as i64,
                        l.snapshot
                    ],
                )
                .map_err(sql)?;
            }
        } else if manifest.is_some() {
            // Re-pulled by digest from a registry: remember the manifest it came by.
            tx.execute(
                "UPDATE images SET manifest_digest = ?2, manifest_media_type = ?3 WHERE id = ?1 AND manifest_digest IS NULL",
                params![img.id.as_str(), manifest, media_type],
            )
            .map_err(sql)?;
        }
        if let Some(t) = &img.tag
            && t.tag.is_some()
        {
            let name = format!("{}:{}", t.repository(), t.tag.as_deref().unwrap_or_default());
            tx.execute("INSERT OR REPLACE INTO tags (name, image_id) VALUES (?1, ?2)", params![name, img.id.as_str()])
                .map_err(sql)?;
        }
        if let Some((r, d)) = &img.repo_digest {
            let name = format!("{}@{d}", r.repository());
            tx.execute("INSERT OR REPLACE INTO repo_digests (name, image_id) VALUES (?1, ?2)", params![name, img.id.as_str()])
                .map_err(sql)?;
        }
        Ok::<_, ImageError>(())
    })
}

/// Point `target` (a reference with a tag) at image `id`.
pub(crate) fn tag(store: &mut Store, id: &Digest, target: &Reference) -> Result<(), ImageError> {
    let path = store.db.path().to_path_buf();
    let name = format!("{}:{}", target.repository(), target.tag.as_deref().unwrap_or(crate::reference::DEFAULT_TAG));
    store.db.write(|tx| {
        tx.execute("INSERT OR REPLACE INTO tags (name, image_id) VALUES (?1, ?2)", params![name, id.as_str()])
            .map_err(|source| DbError::Sql { path: path.clone(), source })?;
        Ok::<_, ImageError>(())
    })
}
