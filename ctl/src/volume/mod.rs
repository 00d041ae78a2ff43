//! Volumes: docker's `local` driver. A volume is a row of the `volumes` table
//! and a directory `<data-root>/volumes/<name>/_data`; with `-o type=…` the
//! driver mounts that filesystem on `_data` while a container uses it, as
//! docker's local driver does (`mount -t <type> -o <o> <device> _data`).
//!
//! Containers hold references (`volume_refs`): a volume with one cannot be
//! removed. The check and the reference are each taken inside one
//! `BEGIN IMMEDIATE` transaction, so a `volume rm` racing a `run -v` either
//! removes the volume before the container takes it (and the run creates it
//! afresh) or refuses; a container never ends up with a deleted volume.
//!
//! What a container asks for on its command line (`-v`, `--mount`,
//! `--volumes-from`, the image's `Volumes`) is parsed in [`spec`] and turned
//! into mount points and OCI mounts in [`attach`]; [`copyup`] fills an empty
//! volume from the image; [`size`] measures volumes for `system df`.

pub(crate) mod attach;
pub(crate) mod copyup;
mod local;
pub(crate) mod size;
pub(crate) mod spec;
mod store;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

pub(crate) use local::LocalError;
pub(crate) use store::{MIGRATION, Store, StoreError};

/// The label docker (≥ 23) puts on anonymous volumes; `volume prune` without
/// `-a` removes only volumes carrying it.
pub(crate) const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";

/// The only driver there is.
pub(crate) const LOCAL_DRIVER: &str = "local";

#[derive(Debug, thiserror::Error)]
pub(crate) enum VolumeError {
    #[error(
        "create {0}: \"{0}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
    )]
    InvalidName(String),
    #[error("No such volume: {0}")]
    NotFound(String),
    #[error("remove {name}: volume is in use - [{}]", .containers.join(", "))]
    InUse { name: String, containers: Vec<String> },
    #[error("create {name}: volume driver {driver:?} not found (only \"local\" is available)")]
    Driver { name: String, driver: String },
    #[error("create {name}: a volume with the name {name} already exists with driver {existing:?}, not {requested:?}")]
    DriverConflict { name: String, existing: String, requested: String },
    #[error("volume {name}")]
    Local {
        name: String,
        #[source]
        source: LocalError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    #[error("volume {name}: {op} {path:?}")]
    Io {
        name: String,
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// One volume as the store keeps it. `labels` and `options` are `None` when
/// never given (inspect shows `null`, as docker does for a volume made by
/// `run -v`), `Some` (possibly empty: `{}`) when `volume create` set them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Volume {
    pub name: String,
    pub driver: String,
    pub labels: Option<BTreeMap<String, String>>,
    pub options: Option<BTreeMap<String, String>>,
    /// docker's CreatedAt: RFC 3339 in seconds, local zone.
    pub created_at: String,
}

impl Volume {
    pub(crate) fn is_anonymous(&self) -> bool {
        self.labels.as_ref().is_some_and(|l| l.contains_key(ANONYMOUS_LABEL))
    }

    /// The labels, empty when none.
    pub(crate) fn label_map(&self) -> BTreeMap<String, String> {
        self.labels.clone().unwrap_or_default()
    }

    /// docker's volume inspect object.
    pub(crate) fn inspect(&self, layout: &Layout) -> Value {
        json!({
            "CreatedAt": self.created_at,
            "Driver": self.driver,
            "Labels": self.labels,
            "Mountpoint": layout.data(&self.name),
            "Name": self.name,
            "Options": self.options,
            "Scope": "local",
        })
    }
}

/// What `volume create` (or a container's first use) asks for.
#[derive(Debug, Clone, Default)]
pub(crate) struct CreateRequest {
    /// Empty: an anonymous volume (a random 64-hex name).
    pub name: String,
    /// Empty means `local`.
    pub driver: String,
    pub labels: Option<BTreeMap<String, String>>,
    pub options: Option<BTreeMap<String, String>>,
}

/// Where volumes live: `<data-root>/volumes/<name>/_data`.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub root: PathBuf,
}

impl Layout {
    pub(crate) fn new(data_root: &Path) -> Layout {
        Layout { root: data_root.join("volumes") }
    }
    /// The volume's own directory (`<name>`), parent of `_data`.
    pub(crate) fn dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }
    /// The mount point shown as `Mountpoint` and bind-mounted into containers.
    pub(crate) fn data(&self, name: &str) -> PathBuf {
        self.root.join(name).join("_data")
    }
}

/// docker's rule for local volume names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+` (so at
/// least two characters).
pub(crate) fn validate_name(name: &str) -> Result<(), VolumeError> {
    let b = name.as_bytes();
    let ok = b.len() >= 2
        && b[0].is_ascii_alphanumeric()
        && b[1..].iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'));
    if ok { Ok(()) } else { Err(VolumeError::InvalidName(name.to_string())) }
}

/// A new anonymous volume's name: 64 hex characters, as docker's, from
/// /dev/urandom (or std's randomly keyed hasher should that be unreadable).
pub(crate) fn random_name() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::io::Read;
    let mut bytes = [0u8; 32];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if read.is_err() {
        let state = std::collections::hash_map::RandomState::new();
        for (i, chunk) in bytes.chunks_mut(8).enumerate() {
            let mut h = state.build_hasher();
            h.write_usize(i);
            h.write_u128(
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos(),
            );
            chunk.copy_from_slice(&h.finish().to_le_bytes());
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Now as docker's volume CreatedAt (`2024-05-01T10:20:30+02:00`).
pub(crate) fn now_created_at() -> String {
    chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_dockers_rule() {
        for ok in ["vol1", "a_b.c-d", "00", "my-volume.2"] {
            validate_name(ok).unwrap();
        }
        for bad in ["a", "", "_x", ".x", "-x", "a/b", "a b", "vol:1", "..", "x/../y"] {
            let err = validate_name(bad).unwrap_err();
            assert!(err.to_string().contains("includes invalid characters for a local volume name"), "{bad}: {err}");
        }
    }

    #[test]
    fn random_names_are_64_hex() {
        let a = random_name();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, random_name());
        validate_name(&a).unwrap();
    }

    #[test]
    fn inspect_has_dockers_fields() {
        let v = Volume {
            name: "vol1".into(),
            driver: "local".into(),
            labels: None,
            options: Some(BTreeMap::new()),
            created_at: "2026-01-01T00:00:00Z".into(),
        };
        let j = v.inspect(&Layout::new(Path::new("/var/lib/berth")));
        assert_eq!(j["Mountpoint"], "/var/lib/berth/volumes/vol1/_data");
        assert_eq!(j["Labels"], Value::Null);
        assert_eq!(j["Options"], json!({}));
        assert_eq!(j["Scope"], "local");
        let keys: Vec<&String> = j.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options", "Scope"]);
    }
}
