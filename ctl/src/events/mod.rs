//! The events journal: what docker's daemon keeps in memory for `docker
//! events` (its last 256 messages, moby `daemon/events/events.go`), kept
//! here in the store's database (`events`, migration 7) because there is no
//! daemon. Every command and supervisor appends the events of what it did;
//! `berthctl events` reads them back and follows new rows.
//!
//! What a row holds is docker's `events.Message`: type, action, actor id and
//! attributes, and the time in nanoseconds. `filter.rs` is docker's event
//! filter, `message.rs` the JSON and the line `docker events` prints.

pub(crate) mod filter;
pub(crate) mod message;

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::{Connection, params};

use crate::db::{Db, DbError};

/// How many events the journal keeps, as docker's daemon (`eventsLimit`).
pub(crate) const LIMIT: i64 = 256;

/// The table, appended to the schema (migration 7).
pub(crate) const MIGRATION: &str = r#"
    -- docker's event messages, oldest first; seq never reused (AUTOINCREMENT)
    -- so a follower's cursor stays valid while old rows are trimmed.
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        time_nano INTEGER NOT NULL,
        type TEXT NOT NULL,
        action TEXT NOT NULL,
        actor TEXT NOT NULL,
        attributes TEXT NOT NULL DEFAULT '{}'
    );
"#;

/// One of docker's event messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Event {
    /// container, image, network, volume
    pub kind: String,
    /// create, start, die, … (`exec_start: sh -c …` as docker words it)
    pub action: String,
    /// The actor's id: a container or image id, a network id, a volume name.
    pub actor: String,
    pub attributes: BTreeMap<String, String>,
    /// Nanoseconds since the epoch.
    pub time_nano: i64,
}

impl Event {
    /// An event happening now.
    pub(crate) fn new(kind: &str, action: &str, actor: &str) -> Event {
        Event {
            kind: kind.to_string(),
            action: action.to_string(),
            actor: actor.to_string(),
            attributes: BTreeMap::new(),
            time_nano: chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0),
        }
    }

    /// Add one attribute.
    pub(crate) fn attr(mut self, key: &str, value: impl Into<String>) -> Event {
        self.attributes.insert(key.to_string(), value.into());
        self
    }
}

/// Append `event` and trim the journal to its last [`LIMIT`] rows, on the
/// caller's connection (or inside its transaction, so the event commits with
/// the change it reports).
pub(crate) fn append(conn: &Connection, event: &Event) -> rusqlite::Result<()> {
    let attributes = serde_json::to_string(&event.attributes).unwrap_or_else(|_| "{}".into());
    conn.execute(
        "INSERT INTO events (time_nano, type, action, actor, attributes) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![event.time_nano, event.kind, event.action, event.actor, attributes],
    )?;
    let seq = conn.last_insert_rowid();
    conn.execute("DELETE FROM events WHERE seq <= ?1", params![seq - LIMIT])?;
    Ok(())
}

/// Append `event` to the journal of the store at `data_root`; a failure is
/// logged, never returned: the action it reports has already happened.
pub(crate) fn emit(data_root: &Path, event: Event) {
    let result = Db::open(&data_root.join("berth.db")).and_then(|db| append(db.conn(), &event).map_err(|e| db.err(e)));
    if let Err(e) = result {
        tracing::warn!(error = %e, action = %event.action, "record event");
    }
}

/// docker's image event: the actor (an image id, or the reference for a
/// pull) and the image's `name`.
pub(crate) fn image(data_root: &Path, action: &str, actor: &str, name: &str) {
    emit(data_root, Event::new("image", action, actor).attr("name", name));
}

/// `append` on an open database, logging a failure.
pub(crate) fn emit_on(db: &Db, event: &Event) {
    if let Err(e) = append(db.conn(), event) {
        tracing::warn!(error = %db.err(e), action = %event.action, "record event");
    }
}

/// The rows after `after` (a seq), oldest first, with their seq.
pub(crate) fn read_after(db: &Db, after: i64) -> Result<Vec<(i64, Event)>, DbError> {
    let mut stmt = db
        .conn()
        .prepare_cached(
            "SELECT seq, time_nano, type, action, actor, attributes FROM events WHERE seq > ?1 ORDER BY seq",
        )
        .map_err(|e| db.err(e))?;
    let rows = stmt
        .query_map(params![after], |r| {
            let attributes: String = r.get(5)?;
            Ok((
                r.get::<_, i64>(0)?,
                Event {
                    time_nano: r.get(1)?,
                    kind: r.get(2)?,
                    action: r.get(3)?,
                    actor: r.get(4)?,
                    attributes: serde_json::from_str(&attributes).unwrap_or_default(),
                },
            ))
        })
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(|e| db.err(e))?;
    Ok(rows)
}

/// The seq of the newest row (0 when the journal is empty).
pub(crate) fn last_seq(db: &Db) -> Result<i64, DbError> {
    db.conn().query_row("SELECT coalesce(max(seq), 0) FROM events", [], |r| r.get(0)).map_err(|e| db.err(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_keeps_the_last_256_and_seq_grows() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("berth.db")).unwrap();
        for i in 0..300 {
            append(db.conn(), &Event::new("container", "start", &format!("c{i}")).attr("name", "x")).unwrap();
        }
        let rows = read_after(&db, 0).unwrap();
        assert_eq!(rows.len(), LIMIT as usize);
        assert_eq!(rows[0].1.actor, "c44");
        assert_eq!(rows.last().unwrap().0, 300);
        assert_eq!(last_seq(&db).unwrap(), 300);
        assert_eq!(rows[0].1.attributes.get("name").map(String::as_str), Some("x"));
        assert!(read_after(&db, 300).unwrap().is_empty());
    }
}
