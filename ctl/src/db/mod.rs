//! The store's one SQLite database (`<data-root>/berth.db`): WAL so readers
//! never wait for a writer, a busy timeout so two berthctl commands at once
//! queue instead of failing, and every write in a `BEGIN IMMEDIATE`
//! transaction so the write lock is taken up front (no deadlock between two
//! readers that both want to upgrade). The schema grows by the ordered list in
//! `migrations.rs`, applied by `PRAGMA user_version`.

mod migrations;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};

pub(crate) use rusqlite::{OptionalExtension, params};

/// How long a command waits for another one's write transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub(crate) enum DbError {
    #[error("database {path:?}: open")]
    Open { path: PathBuf, source: rusqlite::Error },
    #[error("database {path:?}: migration {version}")]
    Migrate { path: PathBuf, version: usize, source: rusqlite::Error },
    #[error("database {path:?} has schema version {found}, newer than this berthctl knows ({known})")]
    TooNew { path: PathBuf, found: usize, known: usize },
    #[error("database {path:?}")]
    Sql { path: PathBuf, source: rusqlite::Error },
}

/// An open database. Not `Sync`: each command opens its own.
pub(crate) struct Db {
    conn: Connection,
    path: PathBuf,
}

/// The first connection of a process to a WAL database finds no other user
/// of its index (`-shm`) and rebuilds it by reading the whole WAL, which
/// stays up to 1000 pages long (see `Db::open`); a command that opens the
/// database several times (`run` does six) paid that each time. One idle
/// connection kept for the life of the process keeps the index mapped, so
/// only the first open reads the WAL. It holds no lock between statements,
/// so other commands' writes and checkpoints are not held up.
fn keep_wal_index(path: &Path) {
    static KEPT: std::sync::Mutex<Option<Connection>> = std::sync::Mutex::new(None);
    let Ok(mut kept) = KEPT.lock() else { return };
    if kept.is_some() {
        return;
    }
    let Ok(conn) = Connection::open(path) else { return };
    let _ = conn.busy_timeout(BUSY_TIMEOUT);
    let ready = conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true).is_ok()
        && conn.pragma_update(None, "journal_mode", "WAL").is_ok()
        && conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0)).is_ok();
    if ready {
        *kept = Some(conn);
    }
}

impl Db {
    /// Open (creating if needed) and bring the schema up to date.
    pub(crate) fn open(path: &Path) -> Result<Db, DbError> {
        let open_err = |source| DbError::Open { path: path.to_path_buf(), source };
        keep_wal_index(path);
        let conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        // WAL survives in the file; setting it again is a no-op read.
        conn.pragma_update(None, "journal_mode", "WAL").map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(open_err)?;
        // Every berthctl command is a short process: by default its last
        // connection's close checkpoints the WAL into the database and deletes
        // it, and the next command creates it again — three fsyncs (WAL,
        // directory, database) per command on the run path. Left in place, the
        // WAL is checkpointed by SQLite's auto-checkpoint (1000 pages) instead;
        // durability is the same (WAL, synchronous=NORMAL).
        conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true).map_err(open_err)?;
        let mut db = Db { conn, path: path.to_path_buf() };
        db.migrate()?;
        Ok(db)
    }

    fn migrate(&mut self) -> Result<(), DbError> {
        let known = migrations::MIGRATIONS.len();
        let current = self.user_version()?;
        if current == known {
            return Ok(());
        }
        if current > known {
            return Err(DbError::TooNew { path: self.path.clone(), found: current, known });
        }
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|source| DbError::Sql { path: path.clone(), source })?;
        // Another command may have migrated while we waited for the lock.
        let current: i64 = tx
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|source| DbError::Sql { path: path.clone(), source })?;
        let current = current as usize;
        for (i, sql) in migrations::MIGRATIONS.iter().enumerate().skip(current) {
            let version = i + 1;
            let err = |source| DbError::Migrate { path: path.clone(), version, source };
            tx.execute_batch(sql).map_err(err)?;
            tx.pragma_update(None, "user_version", version as i64).map_err(err)?;
        }
        tx.commit().map_err(|source| DbError::Sql { path, source })
    }

    fn user_version(&self) -> Result<usize, DbError> {
        self.conn
            .pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))
            .map(|v| v as usize)
            .map_err(|source| DbError::Sql { path: self.path.clone(), source })
    }

    /// Run `f` in a `BEGIN IMMEDIATE` transaction, committed when `f` returns
    /// Ok and rolled back otherwise.
    pub(crate) fn write<T, E>(&mut self, f: impl FnOnce(&Transaction<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<DbError>,
    {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|source| DbError::Sql { path: path.clone(), source })?;
        let value = f(&tx)?;
        tx.commit().map_err(|source| DbError::Sql { path, source })?;
        Ok(value)
    }

    /// The connection, for reads (each statement sees a consistent snapshot).
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Wrap a rusqlite error with this database's path.
    /// Whether a table exists (another command's migration may not have
    /// run in this store yet).
    pub(crate) fn has_table(&self, name: &str) -> Result<bool, DbError> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", [name], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        Ok(n > 0)
    }

    pub(crate) fn err(&self, source: rusqlite::Error) -> DbError {
        DbError::Sql { path: self.path.clone(), source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_applies_every_migration_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("berth.db");
        let db = Db::open(&p).unwrap();
        assert_eq!(db.user_version().unwrap(), migrations::MIGRATIONS.len());
        drop(db);
        let db = Db::open(&p).unwrap();
        let mode: String = db.conn().pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn failed_write_rolls_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Db::open(&dir.path().join("berth.db")).unwrap();
        let r: Result<(), DbError> = db.write(|tx| {
            tx.execute("INSERT INTO images (id, size, added) VALUES ('a', 0, 0)", [])
                .map_err(|e| DbError::Sql { path: PathBuf::new(), source: e })?;
            Err(DbError::TooNew { path: PathBuf::new(), found: 0, known: 0 })
        });
        assert!(r.is_err());
        let n: i64 = db.conn().query_row("SELECT count(*) FROM images", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("berth.db");
        drop(Db::open(&p).unwrap());
        Connection::open(&p).unwrap().pragma_update(None, "user_version", 9999).unwrap();
        assert!(matches!(Db::open(&p), Err(DbError::TooNew { found: 9999, .. })));
    }
}
