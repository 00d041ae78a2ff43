//! `system check` for the image store: the database's own integrity check,
//! leftovers of killed writers (ingest files, incomplete snapshots), snapshot
//! directories without rows and rows without directories, blobs re-hashed
//! against their names, and what no image refers to. With `repair` the
//! leftovers, corrupt blobs and unreferenced content go; images that lost a
//! blob or snapshot go only with `force` (pulling them again is the other
//! fix), as podman's `system check --repair --force`.

use std::collections::{HashMap, HashSet};

use crate::reference::Digest;
use crate::snapshot::SnapshotId;
use crate::sys::proc;

use super::gc::delete_image;
use super::store::GcLock;
use super::{ImageError, Store, collect};

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CheckOptions {
    pub repair: bool,
    pub force: bool,
    /// Skip re-hashing blobs.
    pub quick: bool,
}

/// One thing found, and whether it was fixed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    pub what: String,
    pub repaired: bool,
    /// Garbage (leftovers of a killed writer, content no image uses) takes
    /// space but breaks nothing: no image uses it, and the next writer or
    /// sweep removes it. Anything else is damage.
    pub garbage: bool,
}

struct Report {
    opts: CheckOptions,
    findings: Vec<Finding>,
}

impl Report {
    fn add(&mut self, what: String, repaired: bool) {
        self.findings.push(Finding { what, repaired, garbage: false });
    }

    fn garbage(&mut self, what: String) {
        let repaired = self.opts.repair;
        self.findings.push(Finding { what, repaired, garbage: true });
    }
}

/// Check (and with `repair`, fix) the image store.
pub(crate) fn check(store: &mut Store, opts: CheckOptions) -> Result<Vec<Finding>, ImageError> {
    let _sweep = store.gc_lock(GcLock::Sweep)?;
    let mut r = Report { opts, findings: Vec::new() };
    let integrity: String =
        store.db.conn().query_row("PRAGMA integrity_check", [], |row| row.get(0)).map_err(|e| store.db.err(e))?;
    if integrity != "ok" {
        r.add(format!("database {:?}: {integrity}", store.db.path()), false);
    }
    check_leftovers(store, &mut r)?;
    let damaged = check_references(store, &mut r)?;
    for (id, why) in damaged {
        let fix = opts.repair && opts.force;
        if fix {
            delete_image(store, &id)?;
        }
        let hint = if fix || !opts.repair { "" } else { " (--force removes the image; pulling it again fixes it)" };
        r.add(format!("image {}: {why}{hint}", id.short()), fix);
    }
    check_unreferenced(store, &mut r)?;
    Ok(r.findings)
}

/// Ingest files and incomplete snapshots whose writer died, and snapshot
/// directories that no row names.
fn check_leftovers(store: &mut Store, r: &mut Report) -> Result<(), ImageError> {
    for name in store.content.stale_ingest()? {
        r.garbage(format!("content/ingest/{name}: partial blob of a killed writer"));
    }
    if r.opts.repair {
        store.content.clean_ingest()?;
    }
    let rows = snapshot_rows(store)?;
    for (id, (complete, owner)) in &rows {
        if !complete && !owner.is_some_and(|(pid, start)| proc::is_alive(pid, start)) {
            r.garbage(format!("snapshot {id}: half-unpacked by a killed writer (never used)"));
        }
    }
    for name in store.snapshots.dir_names()? {
        if name.parse::<SnapshotId>().is_ok_and(|id| !rows.contains_key(&id)) {
            r.garbage(format!("snapshots/{name}: directory without a record"));
        }
    }
    if r.opts.repair {
        store.snapshots.recover(&mut store.db)?;
    }
    Ok(())
}

type Owner = Option<(u32, u64)>;

fn snapshot_rows(store: &Store) -> Result<HashMap<SnapshotId, (bool, Owner)>, ImageError> {
    let mut st = store
        .db
        .conn()
        .prepare("SELECT id, complete, owner_pid, owner_start FROM snapshots")
        .map_err(|e| store.db.err(e))?;
    let rows: Vec<(SnapshotId, bool, Option<u32>, Option<i64>)> = st
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))
        .and_then(Iterator::collect)
        .map_err(|e| store.db.err(e))?;
    Ok(rows.into_iter().map(|(id, c, p, s)| (id, (c, p.zip(s.map(|s| s as u64))))).collect())
}

/// Every image's config, manifest, layer blobs and snapshots must exist (and
/// blobs hash to their names). Returns the images that lost something.
fn check_references(store: &mut Store, r: &mut Report) -> Result<Vec<(Digest, String)>, ImageError> {
    let mut st = store
        .db
        .conn()
        .prepare(
            "SELECT id, id, 'config' FROM images
             UNION ALL SELECT id, manifest_digest, 'manifest' FROM images WHERE manifest_digest IS NOT NULL
             UNION ALL SELECT image_id, blob_digest, 'layer' FROM image_layers",
        )
        .map_err(|e| store.db.err(e))?;
    let refs: Vec<(String, String, String)> = st
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .and_then(Iterator::collect)
        .map_err(|e| store.db.err(e))?;
    drop(st);
    let mut damaged: HashMap<Digest, String> = HashMap::new();
    let mut verified: HashMap<Digest, bool> = HashMap::new();
    for (image, blob, kind) in refs {
        let (image, blob): (Digest, Digest) = (image.parse()?, blob.parse()?);
        let ok = match verified.get(&blob) {
            Some(ok) => *ok,
            None => {
                let ok = blob_ok(store, &blob, r)?;
                verified.insert(blob.clone(), ok);
                ok
            }
        };
        if !ok {
            damaged.entry(image).or_insert_with(|| format!("{kind} blob {blob} is missing or corrupt"));
        }
    }
    let mut st = store
        .db
        .conn()
        .prepare(
            "SELECT l.image_id, l.snapshot_id, s.complete FROM image_layers l LEFT JOIN snapshots s ON s.id = l.snapshot_id",
        )
        .map_err(|e| store.db.err(e))?;
    let layers: Vec<(String, SnapshotId, Option<bool>)> = st
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .and_then(Iterator::collect)
        .map_err(|e| store.db.err(e))?;
    for (image, snap, complete) in layers {
        if complete != Some(true) || !store.snapshots.fs_dir(snap).is_dir() {
            damaged.entry(image.parse()?).or_insert_with(|| format!("snapshot {snap} is missing"));
        }
    }
    let mut out: Vec<(Digest, String)> = damaged.into_iter().collect();
    out.sort();
    Ok(out)
}

/// Whether a referenced blob is present and (unless quick) hashes to its
/// name; a corrupt one is reported and, with repair, removed.
fn blob_ok(store: &Store, blob: &Digest, r: &mut Report) -> Result<bool, ImageError> {
    if !store.content.has(blob) {
        return Ok(false);
    }
    if r.opts.quick {
        return Ok(true);
    }
    match store.content.verify(blob) {
        Ok(()) => Ok(true),
        Err(crate::content::ContentError::DigestMismatch { actual, .. }) => {
            if r.opts.repair {
                store.content.remove(blob)?;
            }
            r.add(format!("blob {blob}: content hashes to {actual}"), r.opts.repair);
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

/// Blobs and snapshots no image refers to (space a sweep would reclaim).
fn check_unreferenced(store: &mut Store, r: &mut Report) -> Result<(), ImageError> {
    let mut st = store
        .db
        .conn()
        .prepare(
            "SELECT id FROM images UNION SELECT manifest_digest FROM images WHERE manifest_digest IS NOT NULL
             UNION SELECT blob_digest FROM image_layers
             UNION SELECT substr(name, instr(name, '@') + 1) FROM repo_digests",
        )
        .map_err(|e| store.db.err(e))?;
    let keep: HashSet<String> =
        st.query_map([], |row| row.get(0)).and_then(Iterator::collect).map_err(|e| store.db.err(e))?;
    drop(st);
    let blobs = store.content.list()?.into_iter().filter(|d| !keep.contains(d.as_str())).count();
    let snaps: i64 = store
        .db
        .conn()
        .query_row(
            "SELECT count(*) FROM snapshots WHERE complete = 1 AND id NOT IN (SELECT snapshot_id FROM image_layers)",
            [],
            |row| row.get(0),
        )
        .map_err(|e| store.db.err(e))?;
    if blobs > 0 || snaps > 0 {
        r.garbage(format!("{blobs} blobs and {snaps} snapshots are not used by any image"));
        if r.opts.repair {
            collect(store)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{ImportOptions, import, load};

    fn store_with_image() -> (tempfile::TempDir, Store, Digest) {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_path("f").unwrap();
        h.set_size(3);
        h.set_mode(0o644);
        h.set_cksum();
        b.append(&h, &b"abc"[..]).unwrap();
        let id = import(&mut s, &b.into_inner().unwrap()[..], &ImportOptions::default()).unwrap();
        (dir, s, id)
    }

    fn repair() -> CheckOptions {
        CheckOptions { repair: true, ..Default::default() }
    }

    #[test]
    fn a_fresh_store_is_consistent() {
        let (_d, mut s, _) = store_with_image();
        assert_eq!(check(&mut s, CheckOptions::default()).unwrap(), vec![]);
    }

    #[test]
    fn leftovers_are_reported_then_repaired() {
        let (dir, mut s, _) = store_with_image();
        std::fs::write(dir.path().join("content/ingest/1.1.0"), "partial").unwrap();
        std::fs::create_dir_all(dir.path().join("snapshots/77/fs")).unwrap();
        s.db.conn().execute("INSERT INTO snapshots (owner_pid, owner_start, created) VALUES (1, 1, 0)", []).unwrap();
        std::fs::write(dir.path().join("content/blobs/sha256").join(Digest::of(b"orphan").hex()), "orphan").unwrap();
        let found = check(&mut s, CheckOptions::default()).unwrap();
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(found.iter().all(|f| !f.repaired && f.garbage));
        let fixed = check(&mut s, repair()).unwrap();
        assert!(fixed.iter().all(|f| f.repaired), "{fixed:?}");
        assert_eq!(check(&mut s, CheckOptions::default()).unwrap(), vec![]);
    }

    #[test]
    fn corrupt_layer_blob_damages_its_image_until_forced() {
        let (_d, mut s, id) = store_with_image();
        let blob = load(&s, &id).unwrap().layers[0].blob.clone();
        std::fs::write(s.content.blob_path(&blob), "garbage").unwrap();
        let found = check(&mut s, repair()).unwrap();
        assert!(found.iter().any(|f| f.what.contains("hashes to") && f.repaired), "{found:?}");
        assert!(found.iter().any(|f| f.what.contains("--force") && !f.repaired), "{found:?}");
        let forced = check(&mut s, CheckOptions { repair: true, force: true, quick: false }).unwrap();
        assert!(forced.iter().all(|f| f.repaired), "{forced:?}");
        assert!(load(&s, &id).is_err());
        assert_eq!(check(&mut s, CheckOptions::default()).unwrap(), vec![]);
    }
}
