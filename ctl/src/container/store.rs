//! The `containers` table: one row per container, the record as JSON beside
//! the columns that must be unique (id, name). Every change is a read-modify-
//! write inside `BEGIN IMMEDIATE`, so two berthctl commands (or a command and
//! a supervisor) never lose each other's update, and two `run --name x` never
//! both get the name.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::record::Container;

#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error("open database {path:?}")]
    Open { path: PathBuf, #[source] source: rusqlite::Error },
    #[error("container database {op}")]
    Sql { op: &'static str, #[source] source: rusqlite::Error },
    #[error("container record {id}")]
    Decode { id: String, #[source] source: serde_json::Error },
    #[error("No such container: {0}")]
    NotFound(String),
    #[error("multiple containers match {0:?}: give more of the id")]
    Ambiguous(String),
    #[error(
        "Conflict. The container name \"/{name}\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name."
    )]
    NameInUse { name: String, id: String },
}

impl StoreError {
    fn sql(op: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
        move |source| StoreError::Sql { op, source }
    }
}

/// Schema of the containers table (appended to the store's migrations).
pub(crate) const MIGRATION: &str = "CREATE TABLE IF NOT EXISTS containers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    record TEXT NOT NULL
);";

pub(crate) struct Store {
    conn: Connection,
}

impl Store {
    pub(crate) fn open(data_root: &Path) -> Result<Store, StoreError> {
        let path = data_root.join("berth.db");
        std::fs::create_dir_all(data_root)
            .map_err(|e| StoreError::Open { path: path.clone(), source: rusqlite::Error::ToSqlConversionFailure(e.into()) })?;
        let conn = Connection::open(&path).map_err(|source| StoreError::Open { path: path.clone(), source })?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(StoreError::sql("set busy timeout"))?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(StoreError::sql("enable WAL"))?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(StoreError::sql("set synchronous"))?;
        conn.execute_batch(MIGRATION).map_err(StoreError::sql("create table containers"))?;
        Ok(Store { conn })
    }

    /// Add a new container; fails with docker's conflict message when the name is taken.
    pub(crate) fn insert(&mut self, c: &Container) -> Result<(), StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(StoreError::sql("begin"))?;
        let owner: Option<String> = tx
            .query_row("SELECT id FROM containers WHERE name = ?1", params![c.name], |r| r.get(0))
            .optional()
            .map_err(StoreError::sql("look up name"))?;
        if let Some(id) = owner {
            return Err(StoreError::NameInUse { name: c.name.clone(), id });
        }
        let json = encode(c);
        tx.execute("INSERT INTO containers (id, name, record) VALUES (?1, ?2, ?3)", params![c.id, c.name, json])
            .map_err(StoreError::sql("insert container"))?;
        tx.commit().map_err(StoreError::sql("commit"))
    }

    /// Whether a name is free (for picking a random one before insert).
    pub(crate) fn name_taken(&self, name: &str) -> Result<bool, StoreError> {
        self.conn
            .query_row("SELECT 1 FROM containers WHERE name = ?1", params![name], |_| Ok(()))
            .optional()
            .map(|r| r.is_some())
            .map_err(StoreError::sql("look up name"))
    }

    /// Resolve what a user typed: a full id, a name (with or without the
    /// leading slash) or a unique id prefix, in docker's order.
    pub(crate) fn resolve(&self, reference: &str) -> Result<String, StoreError> {
        let name = reference.strip_prefix('/').unwrap_or(reference);
        let exact: Option<String> = self
            .conn
            .query_row("SELECT id FROM containers WHERE id = ?1 OR name = ?2", params![reference, name], |r| r.get(0))
            .optional()
            .map_err(StoreError::sql("look up container"))?;
        if let Some(id) = exact {
            return Ok(id);
        }
        if reference.is_empty() || !reference.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StoreError::NotFound(reference.to_string()));
        }
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM containers WHERE substr(id, 1, ?2) = ?1 LIMIT 2")
            .map_err(StoreError::sql("look up id prefix"))?;
        let ids: Vec<String> = stmt
            .query_map(params![reference, reference.len() as i64], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .map_err(StoreError::sql("look up id prefix"))?;
        match ids.as_slice() {
            [id] => Ok(id.clone()),
            [] => Err(StoreError::NotFound(reference.to_string())),
            _ => Err(StoreError::Ambiguous(reference.to_string())),
        }
    }

    pub(crate) fn get(&self, id: &str) -> Result<Container, StoreError> {
        let json: Option<String> = self
            .conn
            .query_row("SELECT record FROM containers WHERE id = ?1", params![id], |r| r.get(0))
            .optional()
            .map_err(StoreError::sql("read container"))?;
        let json = json.ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        decode(id, &json)
    }

    /// Resolve and read in one call.
    pub(crate) fn lookup(&self, reference: &str) -> Result<Container, StoreError> {
        let id = self.resolve(reference)?;
        self.get(&id)
    }

    /// Every container, oldest first.
    pub(crate) fn list(&self) -> Result<Vec<Container>, StoreError> {
        let mut stmt = self.conn.prepare("SELECT id, record FROM containers").map_err(StoreError::sql("list"))?;
        let rows: Vec<(String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect())
            .map_err(StoreError::sql("list"))?;
        let mut out = rows.iter().map(|(id, json)| decode(id, json)).collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| a.created.cmp(&b.created));
        Ok(out)
    }

    /// Read, change and write one record atomically; returns the new record.
    pub(crate) fn update<F>(&mut self, id: &str, change: F) -> Result<Container, StoreError>
    where
        F: FnOnce(&mut Container),
    {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(StoreError::sql("begin"))?;
        let json: Option<String> = tx
            .query_row("SELECT record FROM containers WHERE id = ?1", params![id], |r| r.get(0))
            .optional()
            .map_err(StoreError::sql("read container"))?;
        let mut c = decode(id, &json.ok_or_else(|| StoreError::NotFound(id.to_string()))?)?;
        change(&mut c);
        tx.execute("UPDATE containers SET record = ?2 WHERE id = ?1", params![id, encode(&c)])
            .map_err(StoreError::sql("update container"))?;
        tx.commit().map_err(StoreError::sql("commit"))?;
        Ok(c)
    }

    /// Give a container another name (`rename`), refusing a taken one.
    pub(crate) fn rename(&mut self, id: &str, new_name: &str) -> Result<(), StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(StoreError::sql("begin"))?;
        let owner: Option<String> = tx
            .query_row("SELECT id FROM containers WHERE name = ?1", params![new_name], |r| r.get(0))
            .optional()
            .map_err(StoreError::sql("look up name"))?;
        if let Some(owner) = owner {
            return Err(StoreError::NameInUse { name: new_name.to_string(), id: owner });
        }
        let json: String = tx
            .query_row("SELECT record FROM containers WHERE id = ?1", params![id], |r| r.get(0))
            .optional()
            .map_err(StoreError::sql("read container"))?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        let mut c = decode(id, &json)?;
        c.name = new_name.to_string();
        tx.execute("UPDATE containers SET name = ?2, record = ?3 WHERE id = ?1", params![id, new_name, encode(&c)])
            .map_err(StoreError::sql("rename container"))?;
        tx.commit().map_err(StoreError::sql("commit"))
    }

    pub(crate) fn remove(&mut self, id: &str) -> Result<(), StoreError> {
        self.conn.execute("DELETE FROM containers WHERE id = ?1", params![id]).map_err(StoreError::sql("delete container"))?;
        Ok(())
    }
}

fn encode(c: &Container) -> String {
    // A record is plain strings, numbers and maps with string keys, which
    // serde_json always serializes.
    serde_json::to_string(c).expect("a container record always serializes")
}

fn decode(id: &str, json: &str) -> Result<Container, StoreError> {
    serde_json::from_str(json).map_err(|source| StoreError::Decode { id: id.to_string(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(id: &str, name: &str) -> Container {
        Container { id: id.into(), name: name.into(), created: "2026-01-01T00:00:00Z".into(), ..Default::default() }
    }

    #[test]
    fn names_are_unique() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        s.insert(&container("aa11", "web")).unwrap();
        let err = s.insert(&container("bb22", "web")).unwrap_err();
        assert!(err.to_string().contains("is already in use by container \"aa11\""), "{err}");
    }

    #[test]
    fn resolve_by_name_id_and_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        s.insert(&container("abc123", "one")).unwrap();
        s.insert(&container("abd456", "two")).unwrap();
        assert_eq!(s.resolve("one").unwrap(), "abc123");
        assert_eq!(s.resolve("/two").unwrap(), "abd456");
        assert_eq!(s.resolve("abc").unwrap(), "abc123");
        assert!(matches!(s.resolve("ab"), Err(StoreError::Ambiguous(_))));
        assert!(matches!(s.resolve("zzz"), Err(StoreError::NotFound(_))));
    }

    #[test]
    fn update_and_rename() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        s.insert(&container("abc", "one")).unwrap();
        s.insert(&container("def", "two")).unwrap();
        s.update("abc", |c| c.state.exit_code = 3).unwrap();
        assert_eq!(s.get("abc").unwrap().state.exit_code, 3);
        assert!(s.rename("abc", "two").is_err());
        s.rename("abc", "three").unwrap();
        assert_eq!(s.resolve("three").unwrap(), "abc");
        s.remove("abc").unwrap();
        assert!(s.get("abc").is_err());
    }
}
