//! Reading the volume tables: rows decoded into [`Volume`]s, and who uses what.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use super::{StoreError, sql};
use crate::volume::{Volume, VolumeError};

pub(super) type Row = (String, String, Option<String>, Option<String>, String);

pub(super) fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

pub(super) fn decode((name, driver, labels, options, created_at): Row) -> Result<Volume, VolumeError> {
    let map = |text: Option<String>, field| -> Result<Option<BTreeMap<String, String>>, VolumeError> {
        text.map(|t| serde_json::from_str(&t))
            .transpose()
            .map_err(|source| StoreError::Decode { name: name.clone(), field, source }.into())
    };
    let labels = map(labels, "labels")?;
    let options = map(options, "options")?;
    Ok(Volume { name, driver, labels, options, created_at })
}

pub(super) fn read(conn: &Connection, path: &Path, name: &str) -> Result<Option<Volume>, VolumeError> {
    let r = conn
        .query_row("SELECT name, driver, labels, options, created_at FROM volumes WHERE name = ?1", params![name], row)
        .optional()
        .map_err(sql(path, "read volume"))?;
    r.map(decode).transpose()
}

pub(super) fn users(conn: &Connection, path: &Path, name: &str) -> Result<Vec<String>, VolumeError> {
    let mut stmt = conn
        .prepare("SELECT container FROM volume_refs WHERE volume = ?1 ORDER BY container")
        .map_err(sql(path, "list references"))?;
    Ok(stmt.query_map(params![name], |r| r.get(0)).and_then(Iterator::collect).map_err(sql(path, "list references"))?)
}

pub(super) fn volumes_of(conn: &Connection, path: &Path, container: &str) -> Result<Vec<String>, VolumeError> {
    let mut stmt = conn
        .prepare("SELECT volume FROM volume_refs WHERE container = ?1 ORDER BY volume")
        .map_err(sql(path, "list references"))?;
    Ok(stmt
        .query_map(params![container], |r| r.get(0))
        .and_then(Iterator::collect)
        .map_err(sql(path, "list references"))?)
}
