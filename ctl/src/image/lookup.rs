//! Finding images as docker does (daemon/images GetImage): a name is first
//! read as a reference (`busybox` → `docker.io/library/busybox:latest`, or
//! `name@sha256:…` by repo digest), then as a full `sha256:` id, then as a
//! prefix of an id; a prefix that fits two images is an error.

use crate::db::Db;
use crate::reference::{Digest, Reference, familiar};

use super::ImageError;

/// Resolve `name` to an image id.
pub(crate) fn find_id(db: &Db, name: &str) -> Result<Digest, ImageError> {
    let conn = db.conn();
    let one = |sql: &str, arg: &str| -> Result<Option<String>, ImageError> {
        use crate::db::OptionalExtension;
        conn.query_row(sql, [arg], |r| r.get(0)).optional().map_err(|e| ImageError::Db(db.err(e)))
    };
    if let Ok(r) = Reference::parse(name) {
        let hit = match &r.digest {
            Some(d) => one("SELECT image_id FROM repo_digests WHERE name = ?1", &format!("{}@{d}", r.repository()))?,
            None => one("SELECT image_id FROM tags WHERE name = ?1", &r.to_string())?,
        };
        if let Some(id) = hit {
            return Ok(id.parse()?);
        }
    }
    let hex = name.strip_prefix("sha256:").unwrap_or(name);
    if !hex.is_empty() && hex.len() <= 64 && hex.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
        let mut st = conn
            .prepare("SELECT id FROM images WHERE id >= ?1 AND id < ?2 LIMIT 2")
            .map_err(|e| ImageError::Db(db.err(e)))?;
        let lo = format!("sha256:{hex}");
        let hi = format!("sha256:{hex}\u{7f}");
        let ids: Vec<String> = st
            .query_map([&lo, &hi], |r| r.get(0))
            .and_then(Iterator::collect)
            .map_err(|e| ImageError::Db(db.err(e)))?;
        match ids.len() {
            1 => return Ok(ids[0].parse()?),
            2 => return Err(ImageError::Invalid(format!("multiple IDs found with provided prefix: {hex}"))),
            _ => {}
        }
    }
    Err(ImageError::NotFound(shown_name(name)))
}

/// How docker names a missing image: with the implied `:latest`.
fn shown_name(name: &str) -> String {
    match Reference::parse(name) {
        Ok(r) if r.digest.is_none() && !name.contains(':') => format!("{name}:latest"),
        _ => name.to_string(),
    }
}

/// One image for `images`: its tags and repo digests (short forms).
#[derive(Debug, Clone)]
pub(crate) struct Summary {
    pub id: Digest,
    /// `(repository, tag)` pairs, short form.
    pub tags: Vec<(String, String)>,
    /// `(repository, digest)` pairs, short form.
    pub digests: Vec<(String, String)>,
    /// The config's `created` (RFC 3339), if any.
    pub created: Option<String>,
    pub size: u64,
    /// Containers (or others) holding it.
    pub holders: u64,
}

/// Every image, newest first (by the config's created time, then by when it
/// was added).
/// How many images the store holds (docker's `Images` of `info`).
pub(crate) fn count(db: &Db) -> Result<u64, ImageError> {
    let n: i64 =
        db.conn().query_row("SELECT count(*) FROM images", [], |r| r.get(0)).map_err(|e| ImageError::Db(db.err(e)))?;
    Ok(n.max(0) as u64)
}

pub(crate) fn list(db: &Db) -> Result<Vec<Summary>, ImageError> {
    let conn = db.conn();
    let err = |e| ImageError::Db(db.err(e));
    let mut st = conn
        .prepare(
            "SELECT id, created, size, (SELECT count(*) FROM image_holds h WHERE h.image_id = images.id)
             FROM images ORDER BY created DESC, added DESC",
        )
        .map_err(err)?;
    let rows: Vec<(String, Option<String>, i64, i64)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .and_then(Iterator::collect)
        .map_err(err)?;
    let mut tags = names(db, "tags")?;
    let mut digests = names(db, "repo_digests")?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, created, size, holders) in rows {
        out.push(Summary {
            tags: split_all(tags.remove(&id).unwrap_or_default(), ':'),
            digests: split_all(digests.remove(&id).unwrap_or_default(), '@'),
            id: id.parse()?,
            created,
            size: size as u64,
            holders: holders as u64,
        });
    }
    Ok(out)
}

fn names(db: &Db, table: &str) -> Result<std::collections::HashMap<String, Vec<String>>, ImageError> {
    let mut st = db
        .conn()
        .prepare(&format!("SELECT image_id, name FROM {table} ORDER BY name"))
        .map_err(|e| ImageError::Db(db.err(e)))?;
    let rows: Vec<(String, String)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .and_then(Iterator::collect)
        .map_err(|e| ImageError::Db(db.err(e)))?;
    let mut m: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
    for (id, name) in rows {
        m.entry(id).or_default().push(name);
    }
    Ok(m)
}

/// `docker.io/library/busybox:latest` → (`busybox`, `latest`); the separator
/// is the last `:` (tags) or the `@` (digests).
fn split_all(names: Vec<String>, sep: char) -> Vec<(String, String)> {
    names
        .into_iter()
        .filter_map(|n| {
            let i = if sep == ':' { n.rfind(':')? } else { n.find('@')? };
            Some((familiar(&n[..i]), n[i + 1..].to_string()))
        })
        .collect()
}
