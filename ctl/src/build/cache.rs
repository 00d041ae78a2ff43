//! The build cache: a table of step keys to the image each step made
//! (`build_cache`, a migration of `db/`). A key is the sha256 of the parent
//! image, the step's history line (which holds the build args in effect for
//! RUN and the sources' checksum for COPY/ADD), the config after the step
//! and, for COPY/ADD, the checksum again. Rows go with their image (ON DELETE
//! CASCADE); `builder prune` removes the rows and the untagged images only
//! they kept, then collects the layers nothing uses any more.

use rusqlite::{OptionalExtension, params};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use super::BuildError;
use crate::db::DbError;
use crate::image::{self, Store};
use crate::reference::Digest;

/// The table (appended to `db/migrations.rs`).
pub(crate) const MIGRATION: &str = r#"
    -- A build step's result: key = sha256(parent, history line, config, sources).
    CREATE TABLE build_cache (
        key TEXT PRIMARY KEY,
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        parent_id TEXT,
        created INTEGER NOT NULL,
        last_used INTEGER NOT NULL
    );
    CREATE INDEX build_cache_image ON build_cache(image_id);
    CREATE INDEX build_cache_parent ON build_cache(parent_id);
"#;

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// The cache key of a step.
pub(crate) fn key(parent: &str, created_by: &str, config: &Map<String, Value>, sources: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"berth-build-cache-v1\0");
    for part in [parent, created_by, &Value::Object(config.clone()).to_string(), sources] {
        h.update(part.as_bytes());
        h.update(b"\0");
    }
    format!("{:x}", h.finalize())
}

fn sql(store: &Store) -> impl Fn(rusqlite::Error) -> BuildError + '_ {
    move |source| BuildError::Db(DbError::Sql { path: store.db.path().to_path_buf(), source })
}

/// The image a step with this key made, if it is still stored.
pub(crate) fn lookup(store: &mut Store, key: &str) -> Result<Option<Digest>, BuildError> {
    let id: Option<String> = store
        .db
        .conn()
        .query_row("SELECT image_id FROM build_cache WHERE key = ?1", [key], |r| r.get(0))
        .optional()
        .map_err(sql(store))?;
    let Some(id) = id else { return Ok(None) };
    store
        .db
        .conn()
        .execute("UPDATE build_cache SET last_used = ?2 WHERE key = ?1", params![key, now()])
        .map_err(sql(store))?;
    Ok(id.parse().ok())
}

pub(crate) fn insert(store: &mut Store, key: &str, id: &Digest, parent: Option<&Digest>) -> Result<(), BuildError> {
    let path = store.db.path().to_path_buf();
    store.db.write(|tx| {
        tx.execute(
            "INSERT OR REPLACE INTO build_cache (key, image_id, parent_id, created, last_used) VALUES (?1, ?2, ?3, ?4, ?4)",
            params![key, id.as_str(), parent.map(Digest::as_str), now()],
        )
        .map_err(|source| BuildError::Db(DbError::Sql { path: path.clone(), source }))
    })?;
    Ok(())
}

/// Intermediate images: made by a build step, parents of another step's
/// image, with no tag or repo digest. `images` hides them unless `-a`, as
/// docker hides images that have children.
pub(crate) fn intermediate(store: &Store) -> Result<std::collections::HashSet<String>, BuildError> {
    let mut st = store
        .db
        .conn()
        .prepare(
            "SELECT DISTINCT parent_id FROM build_cache
             WHERE parent_id IN (SELECT image_id FROM build_cache)
               AND parent_id NOT IN (SELECT image_id FROM tags)
               AND parent_id NOT IN (SELECT image_id FROM repo_digests)",
        )
        .map_err(sql(store))?;
    let ids = st.query_map([], |r| r.get::<_, String>(0)).and_then(Iterator::collect).map_err(sql(store))?;
    Ok(ids)
}

/// What `builder prune` removed.
#[derive(Debug, Default)]
pub(crate) struct Pruned {
    pub images: Vec<Digest>,
    pub reclaimed: u64,
}

/// Remove every cache entry (with `used_before`, only those last used
/// before that time, in seconds since the epoch: docker's `until` filter),
/// and the images that were there only for the cache (no tag, no repo
/// digest, nothing holding them); then collect.
pub(crate) fn prune(store: &mut Store, used_before: Option<i64>) -> Result<Pruned, BuildError> {
    let _gc = store.gc_lock(image::GcLock::Sweep)?;
    let cutoff = used_before.unwrap_or(i64::MAX);
    let conn = store.db.conn();
    let mut st = conn
        .prepare(
            "SELECT DISTINCT image_id FROM build_cache
             WHERE last_used < ?1
               AND image_id NOT IN (SELECT image_id FROM tags)
               AND image_id NOT IN (SELECT image_id FROM repo_digests)
               AND image_id NOT IN (SELECT image_id FROM image_holds)",
        )
        .map_err(sql(store))?;
    let ids: Vec<String> = st.query_map([cutoff], |r| r.get(0)).and_then(Iterator::collect).map_err(sql(store))?;
    drop(st);
    let path = store.db.path().to_path_buf();
    store.db.write(|tx| {
        tx.execute("DELETE FROM build_cache WHERE last_used < ?1", [cutoff])
            .map_err(|source| BuildError::Db(DbError::Sql { path: path.clone(), source }))
    })?;
    let mut out = Pruned::default();
    for id in ids {
        let Ok(d) = id.parse::<Digest>() else { continue };
        image::prune_one(store, &d)?;
        out.images.push(d);
    }
    out.reclaimed = image::collect(store)?.bytes;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_depends_on_every_part() {
        let c = Map::new();
        let k = key("p", "RUN x", &c, "");
        assert_eq!(k, key("p", "RUN x", &c, ""));
        assert_ne!(k, key("q", "RUN x", &c, ""));
        assert_ne!(k, key("p", "RUN y", &c, ""));
        assert_ne!(k, key("p", "RUN x", &c, "sum"));
        let mut c2 = Map::new();
        c2.insert("User".into(), Value::from("app"));
        assert_ne!(k, key("p", "RUN x", &c2, ""));
    }
}
