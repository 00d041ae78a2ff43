//! The `containers` table: one row per container, the record as JSON beside
//! the columns that must be unique (id, name). Every change is a read-modify-
//! write inside `BEGIN IMMEDIATE`, so two berthctl commands (or a command and
//! a supervisor) never lose each other's update, and two `run --name x` never
//! both get the name.

use std::path::Path;

use crate::db::{Db, DbError, OptionalExtension, params};

use super::record::Container;

#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("container record {id}")]
    Decode {
        id: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    Network(#[from] crate::network::NetworkError),
    #[error("No such container: {0}")]
    NotFound(String),
    #[error("multiple containers match {0:?}: give more of the id")]
    Ambiguous(String),
    #[error(
        "Conflict. The container name \"/{name}\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name."
    )]
    NameInUse { name: String, id: String },
}

pub(crate) struct Store {
    db: Db,
}

/// The image hold of a container (see image_holds).
fn holder(id: &str) -> String {
    format!("container:{id}")
}

impl Store {
    pub(crate) fn open(data_root: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(data_root).map_err(|source| DbError::Open {
            path: data_root.to_path_buf(),
            source: rusqlite::Error::ToSqlConversionFailure(source.into()),
        })?;
        Ok(Store { db: Db::open(&data_root.join("berth.db"))? })
    }

    /// The database, for reads that join other tables (`ps`'s networks).
    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    fn sql(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        |e| StoreError::Db(self.db.err(e))
    }

    /// Add a new container and hold its image; fails with docker's conflict
    /// message when the name is taken.
    #[cfg(test)]
    pub(crate) fn insert(&mut self, c: &Container) -> Result<(), StoreError> {
        self.insert_with(c, &|_| Ok(()))
    }

    /// `insert`, with `also` (the network's leases and ports) in the same
    /// transaction.
    pub(crate) fn insert_with(
        &mut self,
        c: &Container,
        also: &dyn Fn(&rusqlite::Transaction<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let path = self.db.path().to_path_buf();
        let sql = move |source| StoreError::Db(DbError::Sql { path: path.clone(), source });
        self.db.write(|tx| {
            let owner: Option<String> = tx
                .query_row("SELECT id FROM containers WHERE name = ?1", params![c.name], |r| r.get(0))
                .optional()
                .map_err(&sql)?;
            if let Some(id) = owner {
                return Err(StoreError::NameInUse { name: c.name.clone(), id });
            }
            tx.execute(
                "INSERT INTO containers (id, name, record) VALUES (?1, ?2, ?3)",
                params![c.id, c.name, encode(c)],
            )
            .map_err(&sql)?;
            if !c.image.is_empty() {
                tx.execute(
                    "INSERT OR REPLACE INTO image_holds (holder, image_id) VALUES (?1, ?2)",
                    params![holder(&c.id), c.image],
                )
                .map_err(&sql)?;
            }
            crate::events::append(tx, &c.event("create")).map_err(&sql)?;
            also(tx)
        })
    }

    /// Resolve what a user typed: a full id, a name (with or without the
    /// leading slash) or a unique id prefix, in docker's order.
    pub(crate) fn resolve(&self, reference: &str) -> Result<String, StoreError> {
        let name = reference.strip_prefix('/').unwrap_or(reference);
        let conn = self.db.conn();
        let exact: Option<String> = conn
            .query_row("SELECT id FROM containers WHERE id = ?1 OR name = ?2", params![reference, name], |r| r.get(0))
            .optional()
            .map_err(self.sql())?;
        if let Some(id) = exact {
            return Ok(id);
        }
        if reference.is_empty() || !reference.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StoreError::NotFound(reference.to_string()));
        }
        let mut stmt =
            conn.prepare("SELECT id FROM containers WHERE substr(id, 1, ?2) = ?1 LIMIT 2").map_err(self.sql())?;
        let ids: Vec<String> = stmt
            .query_map(params![reference, reference.len() as i64], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .map_err(self.sql())?;
        match ids.as_slice() {
            [id] => Ok(id.clone()),
            [] => Err(StoreError::NotFound(reference.to_string())),
            _ => Err(StoreError::Ambiguous(reference.to_string())),
        }
    }

    pub(crate) fn get(&self, id: &str) -> Result<Container, StoreError> {
        let json: Option<String> = self
            .db
            .conn()
            .query_row("SELECT record FROM containers WHERE id = ?1", params![id], |r| r.get(0))
            .optional()
            .map_err(self.sql())?;
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
        let mut stmt = self.db.conn().prepare("SELECT id, record FROM containers").map_err(self.sql())?;
        let rows: Vec<(String, String)> =
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).and_then(|rows| rows.collect()).map_err(self.sql())?;
        let mut out = rows.iter().map(|(id, json)| decode(id, json)).collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| a.created.cmp(&b.created));
        Ok(out)
    }

    /// Read, change and write one record atomically; returns the new record.
    pub(crate) fn update<F>(&mut self, id: &str, change: F) -> Result<Container, StoreError>
    where
        F: FnOnce(&mut Container),
    {
        self.update_logged(id, change, |_| Vec::new())
    }

    /// `update`, and the events `events` makes of the new record appended in
    /// the same transaction (so `events` never shows what did not happen).
    pub(crate) fn update_logged<F, E>(&mut self, id: &str, change: F, events: E) -> Result<Container, StoreError>
    where
        F: FnOnce(&mut Container),
        E: FnOnce(&Container) -> Vec<crate::events::Event>,
    {
        self.try_update_logged(
            id,
            |c| {
                change(c);
                Ok(())
            },
            events,
        )
    }

    /// `update_logged` whose change may refuse: its error rolls the
    /// transaction back (the record stays as it was) and is returned. The
    /// change runs while the write lock is held, so what it does outside
    /// the database (the runtime's `update`) is ordered with every other
    /// change of the record.
    pub(crate) fn try_update_logged<F, E, X>(&mut self, id: &str, change: F, events: E) -> Result<Container, X>
    where
        F: FnOnce(&mut Container) -> Result<(), X>,
        E: FnOnce(&Container) -> Vec<crate::events::Event>,
        X: From<StoreError> + From<DbError>,
    {
        let path = self.db.path().to_path_buf();
        let sql = move |source| StoreError::Db(DbError::Sql { path: path.clone(), source });
        self.db.write(|tx| {
            let json: Option<String> = tx
                .query_row("SELECT record FROM containers WHERE id = ?1", params![id], |r| r.get(0))
                .optional()
                .map_err(&sql)?;
            let mut c = decode(id, &json.ok_or_else(|| StoreError::NotFound(id.to_string()))?)?;
            change(&mut c)?;
            tx.execute("UPDATE containers SET record = ?2 WHERE id = ?1", params![id, encode(&c)]).map_err(&sql)?;
            for e in events(&c) {
                crate::events::append(tx, &e).map_err(&sql)?;
            }
            Ok(c)
        })
    }

    /// Append an event about a container to the journal (best effort).
    pub(crate) fn log(&self, event: &crate::events::Event) {
        crate::events::emit_on(&self.db, event);
    }

    /// Give a container another name (`rename`), refusing a taken one.
    pub(crate) fn rename(&mut self, id: &str, new_name: &str) -> Result<(), StoreError> {
        let path = self.db.path().to_path_buf();
        let sql = move |source| StoreError::Db(DbError::Sql { path: path.clone(), source });
        self.db.write(|tx| {
            let owner: Option<String> = tx
                .query_row("SELECT id FROM containers WHERE name = ?1", params![new_name], |r| r.get(0))
                .optional()
                .map_err(&sql)?;
            if let Some(owner) = owner {
                return Err(StoreError::NameInUse { name: new_name.to_string(), id: owner });
            }
            let json: String = tx
                .query_row("SELECT record FROM containers WHERE id = ?1", params![id], |r| r.get(0))
                .optional()
                .map_err(&sql)?
                .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
            let mut c = decode(id, &json)?;
            let old = std::mem::replace(&mut c.name, new_name.to_string());
            tx.execute("UPDATE containers SET name = ?2, record = ?3 WHERE id = ?1", params![id, new_name, encode(&c)])
                .map_err(&sql)?;
            crate::events::append(tx, &c.event("rename").attr("oldName", format!("/{old}"))).map_err(&sql)?;
            Ok(())
        })
    }

    /// Delete the row and release the image hold.
    pub(crate) fn remove(&mut self, id: &str) -> Result<(), StoreError> {
        let path = self.db.path().to_path_buf();
        let sql = move |source| StoreError::Db(DbError::Sql { path: path.clone(), source });
        self.db.write(|tx| {
            let json: Option<String> = tx
                .query_row("SELECT record FROM containers WHERE id = ?1", params![id], |r| r.get(0))
                .optional()
                .map_err(&sql)?;
            if let Some(c) = json.and_then(|j| decode(id, &j).ok()) {
                crate::events::append(tx, &c.event("destroy")).map_err(&sql)?;
            }
            tx.execute("DELETE FROM containers WHERE id = ?1", params![id]).map_err(&sql)?;
            tx.execute("DELETE FROM image_holds WHERE holder = ?1", params![holder(id)]).map_err(&sql)?;
            crate::network::container::release(tx, id)?;
            Ok(())
        })
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
        let refused: Result<Container, StoreError> = s.try_update_logged(
            "abc",
            |c| {
                c.state.exit_code = 9;
                Err(StoreError::NotFound("x".into()))
            },
            |_| Vec::new(),
        );
        assert!(refused.is_err());
        assert_eq!(s.get("abc").unwrap().state.exit_code, 3, "a refused change is rolled back");
        assert!(s.rename("abc", "two").is_err());
        s.rename("abc", "three").unwrap();
        assert_eq!(s.resolve("three").unwrap(), "abc");
        s.remove("abc").unwrap();
        assert!(s.get("abc").is_err());
    }
}
