//! The `volumes`, `volume_refs` and `volume_active` tables and the volume
//! directories they describe, changed together: each change runs in one
//! `BEGIN IMMEDIATE` transaction (`Db::write`) and does its filesystem step
//! before the commit, undone when the transaction does not commit. A removed volume's directory is
//! renamed aside inside the transaction and deleted after it, so a `run -v`
//! that creates the same name right after never loses its new directory.
//! Each change appends docker's volume event (`create`, `mount`, `unmount`,
//! `destroy`, with docker's attributes) to the events journal in the same
//! transaction.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::{Transaction, params};

use crate::db::Db;
use crate::events::Event;
use rows::{Row, decode, read, row, users, volumes_of};

use super::local::{self, LocalOptions};
use super::{
    ANONYMOUS_LABEL, CreateRequest, LOCAL_DRIVER, Layout, Volume, VolumeError, now_created_at, random_name,
    validate_name,
};

#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error("volume database {path:?}: {op}")]
    Sql {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error("volume {name}: record {field}")]
    Decode {
        name: String,
        field: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

/// Schema of the volume tables, one entry of the store's migrations
/// (`db/migrations.rs`). `volume_refs` holds one row per (volume, container
/// using it); `volume_active` one per (volume, running container): the
/// driver's mount count.
pub(crate) const MIGRATION: &str = "
CREATE TABLE volumes (
    name TEXT PRIMARY KEY,
    driver TEXT NOT NULL,
    labels TEXT,
    options TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE volume_refs (
    volume TEXT NOT NULL REFERENCES volumes(name),
    container TEXT NOT NULL,
    PRIMARY KEY (volume, container)
);
CREATE INDEX volume_refs_container ON volume_refs(container);
CREATE TABLE volume_active (
    volume TEXT NOT NULL REFERENCES volumes(name),
    container TEXT NOT NULL,
    PRIMARY KEY (volume, container)
);
";

/// The volume store of one data root.
pub(crate) struct Store {
    db: Db,
    path: PathBuf,
    pub layout: Layout,
}

/// What one container takes: an existing or new volume by name, or a new
/// anonymous one (empty name).
#[derive(Debug, Clone, Default)]
pub(crate) struct Take {
    pub name: String,
    /// `--mount volume-opt=…` for a volume this creates.
    pub options: Option<BTreeMap<String, String>>,
}

/// Filesystem steps a transaction took, undone when it does not commit.
#[derive(Default)]
struct Undo {
    /// Volume directories created.
    made: Vec<PathBuf>,
    /// (renamed-aside directory, its original path).
    aside: Vec<(PathBuf, PathBuf)>,
    /// Driver mounts made.
    mounted: Vec<PathBuf>,
}

impl Undo {
    fn undo(self) {
        self.made.iter().for_each(|d| remove_dir_quietly(d));
        for (aside, original) in &self.aside {
            if let Err(e) = std::fs::rename(aside, original) {
                tracing::warn!(path = %aside.display(), error = %e, "put a volume directory back after a failed transaction");
            }
        }
        for m in &self.mounted {
            if let Err(e) = local::unmount(m) {
                tracing::warn!(error = %e, "unmount after a failed transaction");
            }
        }
    }

    /// After commit: delete what was renamed aside.
    fn finish(self) -> Result<(), VolumeError> {
        for (aside, _) in &self.aside {
            remove_aside(aside)?;
        }
        Ok(())
    }
}

impl Store {
    pub(crate) fn open(data_root: &Path) -> Result<Store, VolumeError> {
        std::fs::create_dir_all(data_root).map_err(|source| VolumeError::Io {
            name: String::new(),
            op: "create data root",
            path: data_root.to_path_buf(),
            source,
        })?;
        let db = Db::open(&data_root.join("berth.db"))?;
        let path = db.path().to_path_buf();
        Ok(Store { db, path, layout: Layout::new(data_root) })
    }

    /// Run `f` in one write transaction; its filesystem steps are undone
    /// unless the transaction commits.
    fn write<T>(
        &mut self,
        f: impl FnOnce(&Transaction<'_>, &Path, &Layout, &mut Undo) -> Result<T, VolumeError>,
    ) -> Result<T, VolumeError> {
        let mut undo = Undo::default();
        let (path, layout) = (self.path.clone(), self.layout.clone());
        match self.db.write(|tx| f(tx, &path, &layout, &mut undo)) {
            Ok(v) => {
                undo.finish()?;
                Ok(v)
            }
            Err(e) => {
                undo.undo();
                Err(e)
            }
        }
    }

    /// `volume create`: a new volume, or the existing one of that name when
    /// its driver matches (docker's create is idempotent). Without a name,
    /// docker makes a random one and labels the volume anonymous.
    pub(crate) fn create(&mut self, req: &CreateRequest) -> Result<Volume, VolumeError> {
        let driver = if req.driver.is_empty() { LOCAL_DRIVER } else { req.driver.as_str() };
        let name = if req.name.is_empty() { random_name() } else { req.name.clone() };
        validate_name(&name)?;
        if driver != LOCAL_DRIVER {
            return Err(VolumeError::Driver { name, driver: driver.to_string() });
        }
        let opts = LocalOptions::parse(req.options.as_ref()).map_err(|source| local_err(&name, source))?;
        opts.check(&name).map_err(|source| local_err(&name, source))?;
        let mut labels = req.labels.clone();
        if req.name.is_empty() {
            labels.get_or_insert_with(BTreeMap::new).insert(ANONYMOUS_LABEL.to_string(), String::new());
        }
        let want = Volume {
            name,
            driver: driver.to_string(),
            labels,
            options: req.options.clone(),
            created_at: now_created_at(),
        };
        self.write(|tx, path, layout, undo| ensure(tx, path, layout, &want, undo))
    }

    pub(crate) fn get(&self, name: &str) -> Result<Volume, VolumeError> {
        read(self.db.conn(), &self.path, name)?.ok_or_else(|| VolumeError::NotFound(name.to_string()))
    }

    /// Every volume with the containers that use it, sorted by name.
    pub(crate) fn list(&self) -> Result<Vec<(Volume, Vec<String>)>, VolumeError> {
        let conn = self.db.conn();
        let mut stmt = conn
            .prepare("SELECT name, driver, labels, options, created_at FROM volumes ORDER BY name")
            .map_err(sql(&self.path, "list volumes"))?;
        let rows: Vec<Row> =
            stmt.query_map([], row).and_then(Iterator::collect).map_err(sql(&self.path, "list volumes"))?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let v = decode(r)?;
            let users = self.users(&v.name)?;
            out.push((v, users));
        }
        Ok(out)
    }

    /// The containers that use a volume.
    pub(crate) fn users(&self, name: &str) -> Result<Vec<String>, VolumeError> {
        users(self.db.conn(), &self.path, name)
    }

    /// The volumes a container holds references on, by name.
    pub(crate) fn volumes_of(&self, container: &str) -> Result<Vec<String>, VolumeError> {
        volumes_of(self.db.conn(), &self.path, container)
    }

    /// `volume rm`: refused while a container uses it; a missing volume is
    /// an error unless `force`.
    pub(crate) fn remove(&mut self, name: &str, force: bool) -> Result<(), VolumeError> {
        self.write(|tx, path, layout, undo| {
            if read(tx, path, name)?.is_none() {
                return if force { Ok(()) } else { Err(VolumeError::NotFound(name.to_string())) };
            }
            let users = users(tx, path, name)?;
            if !users.is_empty() {
                return Err(VolumeError::InUse { name: name.to_string(), containers: users });
            }
            delete_row(tx, path, layout, name, undo)
        })
    }

    /// `volume prune`: remove volumes no container uses (only anonymous ones
    /// unless `all`) and that `select` picks; returns each removed name and
    /// the bytes it held.
    pub(crate) fn prune(
        &mut self,
        all: bool,
        select: &dyn Fn(&Volume) -> bool,
    ) -> Result<Vec<(String, u64)>, VolumeError> {
        let mut removed = Vec::new();
        for (v, users) in self.list()? {
            if !users.is_empty() || !(all || v.is_anonymous()) || !select(&v) {
                continue;
            }
            let size = super::size::dir_size(&self.layout.data(&v.name)).unwrap_or(0);
            match self.remove(&v.name, true) {
                Ok(()) => removed.push((v.name, size)),
                // Taken by a container since the list: docker skips it too.
                Err(VolumeError::InUse { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(removed)
    }

    /// Take references for `container` on each volume (creating missing ones)
    /// in one transaction, so no `volume rm` slips between the check and the
    /// reference. Returns the volumes in order.
    pub(crate) fn take(&mut self, container: &str, wants: &[Take]) -> Result<Vec<Volume>, VolumeError> {
        let mut wanted = Vec::with_capacity(wants.len());
        for w in wants {
            let anonymous = w.name.is_empty();
            let name = if anonymous { random_name() } else { w.name.clone() };
            validate_name(&name)?;
            let opts = LocalOptions::parse(w.options.as_ref()).map_err(|source| local_err(&name, source))?;
            opts.check(&name).map_err(|source| local_err(&name, source))?;
            let labels = anonymous.then(|| BTreeMap::from([(ANONYMOUS_LABEL.to_string(), String::new())]));
            let (driver, options, created_at) = (LOCAL_DRIVER.to_string(), w.options.clone(), now_created_at());
            wanted.push(Volume { name, driver, labels, options, created_at });
        }
        self.write(|tx, path, layout, undo| {
            let mut out = Vec::with_capacity(wanted.len());
            for want in &wanted {
                let v = ensure(tx, path, layout, want, undo)?;
                tx.execute(
                    "INSERT OR IGNORE INTO volume_refs (volume, container) VALUES (?1, ?2)",
                    params![v.name, container],
                )
                .map_err(sql(path, "add reference"))?;
                out.push(v);
            }
            Ok(out)
        })
    }

    /// Drop every reference `container` holds; with `remove_anonymous`
    /// (`rm -v`, `run --rm`) also remove the anonymous volumes it was the
    /// last user of. Returns the names removed.
    pub(crate) fn release(&mut self, container: &str, remove_anonymous: bool) -> Result<Vec<String>, VolumeError> {
        self.write(|tx, path, layout, undo| {
            let mine = volumes_of(tx, path, container)?;
            tx.execute("DELETE FROM volume_refs WHERE container = ?1", params![container])
                .map_err(sql(path, "release references"))?;
            tx.execute("DELETE FROM volume_active WHERE container = ?1", params![container])
                .map_err(sql(path, "release active mounts"))?;
            let mut removed = Vec::new();
            if !remove_anonymous {
                return Ok(removed);
            }
            for name in mine {
                let v = read(tx, path, &name)?;
                if v.is_some_and(|v| v.is_anonymous()) && users(tx, path, &name)?.is_empty() {
                    delete_row(tx, path, layout, &name, undo)?;
                    removed.push(name);
                }
            }
            Ok(removed)
        })
    }

    /// The container starts using `name` at `destination`: the first active
    /// user mounts the driver's filesystem (`-o type=…`) on `_data`. The
    /// journal gets docker's `volume mount` event.
    pub(crate) fn activate(&mut self, container: &str, name: &str, at: &MountAt<'_>) -> Result<(), VolumeError> {
        self.write(|tx, path, layout, undo| {
            let v = read(tx, path, name)?.ok_or_else(|| VolumeError::NotFound(name.to_string()))?;
            tx.execute(
                "INSERT OR IGNORE INTO volume_active (volume, container) VALUES (?1, ?2)",
                params![name, container],
            )
            .map_err(sql(path, "record active mount"))?;
            let event = Event::new("volume", "mount", name)
                .attr("container", container)
                .attr("destination", at.destination)
                .attr("driver", &v.driver)
                .attr("propagation", at.propagation)
                .attr("read/write", at.rw.to_string());
            log(tx, path, &event)?;
            let opts = LocalOptions::parse(v.options.as_ref()).map_err(|source| local_err(name, source))?;
            let data = layout.data(name);
            if opts.needs_mount() && !local::is_mounted(&data) {
                opts.mount(&data).map_err(|source| local_err(name, source))?;
                undo.mounted.push(data);
            }
            Ok(())
        })
    }

    /// The container stopped using its volumes: the last active user of a
    /// driver-mounted volume unmounts it.
    pub(crate) fn deactivate(&mut self, container: &str) -> Result<(), VolumeError> {
        self.write(|tx, path, layout, _undo| {
            let names: Vec<String> = {
                let mut stmt = tx
                    .prepare("SELECT volume FROM volume_active WHERE container = ?1 ORDER BY rowid")
                    .map_err(sql(path, "list active mounts"))?;
                stmt.query_map(params![container], |r| r.get(0))
                    .and_then(Iterator::collect)
                    .map_err(sql(path, "list active mounts"))?
            };
            tx.execute("DELETE FROM volume_active WHERE container = ?1", params![container])
                .map_err(sql(path, "drop active mounts"))?;
            for name in &names {
                let driver = read(tx, path, name)?.map_or_else(|| LOCAL_DRIVER.to_string(), |v| v.driver);
                let event = Event::new("volume", "unmount", name).attr("container", container).attr("driver", driver);
                log(tx, path, &event)?;
                let left: i64 = tx
                    .query_row("SELECT count(*) FROM volume_active WHERE volume = ?1", params![name], |r| r.get(0))
                    .map_err(sql(path, "count active mounts"))?;
                if left == 0 && local::is_mounted(&layout.data(name)) {
                    local::unmount(&layout.data(name)).map_err(|source| local_err(name, source))?;
                }
            }
            Ok(())
        })
    }
}

/// Where a container mounts a volume, for docker's `volume mount` event.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MountAt<'a> {
    pub destination: &'a str,
    pub rw: bool,
    /// Empty for a volume, as docker's event shows it.
    pub propagation: &'a str,
}

/// Append one of docker's volume events in the transaction that made the
/// change it reports.
fn log(tx: &Transaction<'_>, path: &Path, event: &Event) -> Result<(), VolumeError> {
    crate::events::append(tx, event).map_err(sql(path, "record event"))?;
    Ok(())
}

fn local_err(name: &str, source: super::LocalError) -> VolumeError {
    VolumeError::Local { name: name.to_string(), source }
}

fn sql<'a>(path: &'a Path, op: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError + 'a {
    move |source| StoreError::Sql { path: path.to_path_buf(), op, source }
}

/// The volume `want.name`, created (row and directory) when missing.
fn ensure(
    tx: &Transaction<'_>,
    path: &Path,
    layout: &Layout,
    want: &Volume,
    undo: &mut Undo,
) -> Result<Volume, VolumeError> {
    // docker's volume service logs `create` on every create call, the
    // idempotent ones of an existing volume included (a `run -v name:…`
    // logs it too).
    let created = Event::new("volume", "create", &want.name).attr("driver", &want.driver);
    if let Some(existing) = read(tx, path, &want.name)? {
        if existing.driver != want.driver {
            return Err(VolumeError::DriverConflict {
                name: want.name.clone(),
                existing: existing.driver,
                requested: want.driver.clone(),
            });
        }
        log(tx, path, &created)?;
        return Ok(existing);
    }
    let to_json = |m: &Option<BTreeMap<String, String>>| m.as_ref().map(|m| serde_json::json!(m).to_string());
    tx.execute(
        "INSERT INTO volumes (name, driver, labels, options, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![want.name, want.driver, to_json(&want.labels), to_json(&want.options), want.created_at],
    )
    .map_err(sql(path, "insert volume"))?;
    make_dirs(layout, &want.name)?;
    undo.made.push(layout.dir(&want.name));
    log(tx, path, &created)?;
    Ok(want.clone())
}

/// `volumes/` (0701 as docker's, so other users cannot list volume names),
/// `volumes/<name>` and `_data` (0755).
fn make_dirs(layout: &Layout, name: &str) -> Result<(), VolumeError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let io = |op, path: &Path| {
        let path = path.to_path_buf();
        move |source| VolumeError::Io { name: name.to_string(), op, path, source }
    };
    if !layout.root.is_dir() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o701)
            .create(&layout.root)
            .map_err(io("create", &layout.root))?;
        std::fs::set_permissions(&layout.root, std::fs::Permissions::from_mode(0o701))
            .map_err(io("chmod", &layout.root))?;
    }
    let dir = layout.dir(name);
    // A leftover directory of a volume whose row is gone (a crash between
    // commit and cleanup) is not reused: its content belonged to another.
    if std::fs::symlink_metadata(&dir).is_ok() {
        remove_aside(&dir)?;
    }
    std::fs::DirBuilder::new().mode(0o755).create(&dir).map_err(io("create", &dir))?;
    let data = layout.data(name);
    std::fs::DirBuilder::new().mode(0o755).create(&data).map_err(io("create", &data))
}

/// Delete a volume's row and rename its directory aside (`.removing-…`),
/// inside the caller's transaction; deleted once it commits.
fn delete_row(
    tx: &Transaction<'_>,
    path: &Path,
    layout: &Layout,
    name: &str,
    undo: &mut Undo,
) -> Result<(), VolumeError> {
    let driver = read(tx, path, name)?.map_or_else(|| LOCAL_DRIVER.to_string(), |v| v.driver);
    tx.execute("DELETE FROM volume_active WHERE volume = ?1", params![name]).map_err(sql(path, "delete volume"))?;
    tx.execute("DELETE FROM volumes WHERE name = ?1", params![name]).map_err(sql(path, "delete volume"))?;
    log(tx, path, &Event::new("volume", "destroy", name).attr("driver", driver))?;
    let dir = layout.dir(name);
    if std::fs::symlink_metadata(&dir).is_err() {
        return Ok(());
    }
    // A driver mount left by a crash must go before the data is deleted.
    if local::is_mounted(&layout.data(name)) {
        local::unmount(&layout.data(name)).map_err(|source| local_err(name, source))?;
    }
    let aside = layout.root.join(format!(".removing-{name}-{}", &random_name()[..8]));
    std::fs::rename(&dir, &aside).map_err(|source| VolumeError::Io {
        name: name.to_string(),
        op: "rename aside",
        path: dir.clone(),
        source,
    })?;
    undo.aside.push((aside, dir));
    Ok(())
}

/// Delete a renamed-aside volume directory. `remove_dir_all` never follows
/// a symlink (std's fix for CVE-2022-21658), so a link planted in the
/// volume cannot make it delete another volume's data.
fn remove_aside(dir: &Path) -> Result<(), VolumeError> {
    std::fs::remove_dir_all(dir).map_err(|source| VolumeError::Io {
        name: dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        op: "remove",
        path: dir.to_path_buf(),
        source,
    })
}

fn remove_dir_quietly(dir: &Path) {
    if let Err(e) = std::fs::remove_dir_all(dir) {
        tracing::warn!(path = %dir.display(), error = %e, "remove a volume directory after a failed transaction");
    }
}

mod rows;
#[cfg(test)]
mod tests;
