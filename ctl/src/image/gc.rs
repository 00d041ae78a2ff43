//! Removing images and reclaiming space. `remove` follows docker's
//! ImageDelete: a reference is untagged (with the repository's digest
//! references once its last tag goes), an id removes every reference, and an
//! image left with none is deleted — unless something holds it. Then
//! `collect` deletes every snapshot and blob no image refers to any more,
//! rows first (in one transaction) and files after, so a crash in between
//! leaves only orphan files that the next sweep or `system check` removes.

use std::collections::HashSet;

use crate::db::{DbError, params};
use crate::reference::{Digest, Reference, familiar};
use crate::snapshot::SnapshotId;

use super::store::GcLock;
use super::{ImageError, Store, find_id, holders};

/// One line of `rmi`'s output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Removal {
    Untagged(String),
    Deleted(Digest),
}

/// What a sweep freed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Collected {
    pub snapshots: usize,
    pub blobs: usize,
    /// Bytes freed on disk.
    pub bytes: u64,
}

/// `rmi [-f] NAME`: see the module doc. Returns the output lines; the sweep
/// runs when no pull is writing (else the next one reclaims the space).
pub(crate) fn remove(store: &mut Store, name: &str, force: bool) -> Result<Vec<Removal>, ImageError> {
    let id = find_id(&store.db, name)?;
    let held = holders(store, &id)?;
    let by_ref = matched_reference(store, name, &id)?;
    let (tags, digests) = references(store, &id)?;
    let mut out = Vec::new();
    match &by_ref {
        Some(r) => {
            if tags.len() + digests.len() == 1 && !held.is_empty() && !force {
                return Err(ImageError::RefInUse {
                    reference: familiar(r),
                    holder: describe_holder(&held[0]),
                    short: id.short().to_string(),
                });
            }
            out.extend(untag(store, &id, r)?);
        }
        None => {
            let repos: HashSet<&str> = tags.iter().chain(&digests).map(|n| repository_of(n)).collect();
            if repos.len() > 1 && !force {
                return Err(ImageError::MultipleRepositories { short: id.short().to_string() });
            }
            if !held.is_empty() && !force {
                return Err(ImageError::InUse { short: id.short().to_string(), holder: describe_holder(&held[0]) });
            }
            for t in &tags {
                out.extend(untag(store, &id, t)?);
            }
        }
    }
    let (tags, digests) = references(store, &id)?;
    if tags.is_empty() && (digests.is_empty() || by_ref.is_none()) && held.is_empty() {
        delete_image(store, &id)?;
        out.push(Removal::Deleted(id));
        if let Some(_lock) = store.gc_lock(GcLock::TrySweep)? {
            collect(store)?;
        }
    }
    Ok(out)
}

/// `container:<id>` → docker's wording.
fn describe_holder(h: &str) -> String {
    match h.strip_prefix("container:") {
        Some(id) => format!("stopped container {}", &id[..id.len().min(12)]),
        None => h.to_string(),
    }
}

fn repository_of(name: &str) -> &str {
    match name.find('@') {
        Some(i) => &name[..i],
        None => name.rfind(':').map_or(name, |i| &name[..i]),
    }
}

/// The stored name (`docker.io/library/busybox:latest` or `…@sha256:…`) that
/// `name` matched, if it matched by reference rather than by id.
fn matched_reference(store: &Store, name: &str, id: &Digest) -> Result<Option<String>, ImageError> {
    let Ok(r) = Reference::parse(name) else { return Ok(None) };
    let full = match &r.digest {
        Some(d) => format!("{}@{d}", r.repository()),
        None => r.to_string(),
    };
    let (tags, digests) = references(store, id)?;
    Ok(tags.into_iter().chain(digests).find(|n| *n == full))
}

/// The image's stored tag and repo-digest names.
fn references(store: &Store, id: &Digest) -> Result<(Vec<String>, Vec<String>), ImageError> {
    let q = |table: &str| -> Result<Vec<String>, ImageError> {
        let mut st = store
            .db
            .conn()
            .prepare(&format!("SELECT name FROM {table} WHERE image_id = ?1 ORDER BY name"))
            .map_err(|e| store.db.err(e))?;
        let v: Vec<String> =
            st.query_map([id.as_str()], |r| r.get(0)).and_then(Iterator::collect).map_err(|e| store.db.err(e))?;
        Ok(v)
    };
    Ok((q("tags")?, q("repo_digests")?))
}

/// Remove one stored name; a tag that was its repository's last on this
/// image takes that repository's digest references with it (docker does the same).
pub(crate) fn untag(store: &mut Store, id: &Digest, name: &str) -> Result<Vec<Removal>, ImageError> {
    let path = store.db.path().to_path_buf();
    let sql = |source| DbError::Sql { path: path.clone(), source };
    let repo = repository_of(name).to_string();
    let is_tag = !name.contains('@');
    store.db.write(|tx| {
        let mut out = Vec::new();
        let table = if is_tag { "tags" } else { "repo_digests" };
        if tx.execute(&format!("DELETE FROM {table} WHERE name = ?1"), [name]).map_err(sql)? == 1 {
            out.push(Removal::Untagged(familiar(name)));
        }
        if is_tag {
            let like = format!("{repo}:%");
            let left: i64 = tx
                .query_row(
                    "SELECT count(*) FROM tags WHERE image_id = ?1 AND name LIKE ?2",
                    params![id.as_str(), like],
                    |r| r.get(0),
                )
                .map_err(sql)?;
            if left == 0 {
                let mut st =
                    tx.prepare("SELECT name FROM repo_digests WHERE image_id = ?1 AND name LIKE ?2").map_err(sql)?;
                let names: Vec<String> = st
                    .query_map(params![id.as_str(), format!("{repo}@%")], |r| r.get(0))
                    .and_then(Iterator::collect)
                    .map_err(sql)?;
                for n in names {
                    tx.execute("DELETE FROM repo_digests WHERE name = ?1", [&n]).map_err(sql)?;
                    out.push(Removal::Untagged(familiar(&n)));
                }
            }
        }
        Ok::<_, ImageError>(out)
    })
}

/// Remove an image and all its names without a sweep (`image prune` sweeps
/// once at the end); the caller has checked that nothing holds it.
pub(crate) fn prune_one(store: &mut Store, id: &Digest) -> Result<Vec<Removal>, ImageError> {
    let (tags, digests) = references(store, id)?;
    let mut out = Vec::new();
    for n in tags.iter().chain(&digests) {
        out.extend(untag(store, id, n)?);
    }
    delete_image(store, id)?;
    out.push(Removal::Deleted(id.clone()));
    Ok(out)
}

/// Delete an image's row (its layers, tags and digests go with it).
pub(crate) fn delete_image(store: &mut Store, id: &Digest) -> Result<(), ImageError> {
    let path = store.db.path().to_path_buf();
    store.db.write(|tx| {
        tx.execute("DELETE FROM images WHERE id = ?1", [id.as_str()])
            .map_err(|source| DbError::Sql { path: path.clone(), source })?;
        Ok::<_, ImageError>(())
    })
}

/// Delete every snapshot and blob that no image refers to. The caller holds
/// the GC lock exclusively.
pub(crate) fn collect(store: &mut Store) -> Result<Collected, ImageError> {
    let path = store.db.path().to_path_buf();
    let sql = |source| DbError::Sql { path: path.clone(), source };
    let (snapshots, keep): (Vec<SnapshotId>, HashSet<String>) = store.db.write(|tx| {
        let mut st = tx
            .prepare("SELECT id FROM snapshots WHERE complete = 1 AND id NOT IN (SELECT snapshot_id FROM image_layers)")
            .map_err(sql)?;
        let ids: Vec<SnapshotId> = st.query_map([], |r| r.get(0)).and_then(Iterator::collect).map_err(sql)?;
        for id in &ids {
            tx.execute("DELETE FROM snapshots WHERE id = ?1", [id]).map_err(sql)?;
        }
        let mut st = tx
            .prepare(
                "SELECT id FROM images UNION SELECT manifest_digest FROM images WHERE manifest_digest IS NOT NULL
                 UNION SELECT blob_digest FROM image_layers
                 UNION SELECT substr(name, instr(name, '@') + 1) FROM repo_digests",
            )
            .map_err(sql)?;
        let keep: HashSet<String> = st.query_map([], |r| r.get(0)).and_then(Iterator::collect).map_err(sql)?;
        Ok::<_, ImageError>((ids, keep))
    })?;
    let mut c = Collected::default();
    for id in snapshots {
        c.bytes += store.snapshots.remove_dir(id)?;
        c.snapshots += 1;
    }
    for d in store.content.list()? {
        if !keep.contains(d.as_str()) {
            c.bytes += store.content.remove(&d)?;
            c.blobs += 1;
        }
    }
    Ok(c)
}
