//! A container's mounts through its life, as the run path calls them:
//!
//! - [`prepare`] at create: parse `-v`/`--mount`/`--volumes-from`, add the
//!   image's `Volumes`, create missing `-v` bind sources, and take the
//!   volumes (creating named and anonymous ones) in one transaction. The
//!   container's record keeps the returned mount points.
//! - [`mounts_for`] at each start, with the rootfs mounted: mount the
//!   driver's filesystem of `-o type=…` volumes, copy the image's content
//!   into empty volumes, and return the OCI mounts for config.json.
//! - [`deactivate`] when the container stops; [`release`] when it is
//!   removed (`rm -v` / `run --rm` also remove its anonymous volumes).

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::copyup::{self, CopyError};
use super::spec::{self, Kind, MountPoint, SpecError};
use super::store::{MountAt, Store, Take};
use super::{LOCAL_DRIVER, VolumeError};

#[derive(Debug, thiserror::Error)]
pub(crate) enum AttachError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Volume(#[from] VolumeError),
    #[error("invalid mount config for type \"bind\": bind source path does not exist: {0}")]
    BindSourceMissing(String),
    #[error("create bind source {path:?}")]
    CreateSource {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("--volumes-from {container}: {reason}")]
    VolumesFrom { container: String, reason: String },
    #[error("volume {name}: its data directory {path:?} is not a plain directory")]
    DataNotDir { name: String, path: PathBuf },
    #[error("volume {name} at {destination}: copy the image's content")]
    CopyUp {
        name: String,
        destination: String,
        #[source]
        source: CopyError,
    },
}

/// The mount flags of `run` and `create`, flattened into their arguments.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct MountArgs {
    /// Bind mount a volume
    #[arg(short = 'v', long = "volume", value_name = "list")]
    pub volumes: Vec<String>,
    /// Attach a filesystem mount to the container
    #[arg(long = "mount", value_name = "mount")]
    pub mounts: Vec<String>,
    /// Mount volumes from the specified container(s)
    #[arg(long = "volumes-from", value_name = "list")]
    pub volumes_from: Vec<String>,
}

/// The mount points of container `id`, its volumes taken. `volumes_from`
/// looks a container up and returns its mount points; `tmpfs` are the
/// `--tmpfs` paths (they hide an image volume at the same path).
pub(crate) fn prepare(
    data_root: &Path,
    id: &str,
    args: &MountArgs,
    image_volumes: &[String],
    tmpfs: &[String],
    volumes_from: &mut dyn FnMut(&str) -> Result<Vec<MountPoint>, String>,
) -> Result<Vec<MountPoint>, AttachError> {
    let mut own = Vec::new();
    for v in &args.volumes {
        own.push(spec::parse_volume_flag(v)?);
    }
    for m in &args.mounts {
        own.push(spec::parse_mount_flag(m)?);
    }
    let mut from = Vec::new();
    for raw in &args.volumes_from {
        let (container, rw) = spec::parse_volumes_from(raw)?;
        let points = volumes_from(&container)
            .map_err(|reason| AttachError::VolumesFrom { container: container.clone(), reason })?;
        for mut mp in points {
            if let Some(rw) = rw {
                mp.rw = rw;
            }
            from.push(mp);
        }
    }
    let mut points = spec::combine(from, own, image_volumes, tmpfs)?;
    check_bind_sources(&points)?;
    let wants: Vec<Take> = points
        .iter()
        .filter(|m| m.kind == Kind::Volume)
        .map(|m| Take { name: m.name.clone(), options: m.volume_options.clone() })
        .collect();
    if wants.is_empty() {
        return Ok(points);
    }
    let mut store = Store::open(data_root)?;
    let volumes = store.take(id, &wants)?;
    for (mp, v) in points.iter_mut().filter(|m| m.kind == Kind::Volume).zip(volumes) {
        mp.source = store.layout.data(&v.name).to_string_lossy().into_owned();
        mp.name = v.name;
        mp.driver = LOCAL_DRIVER.into();
    }
    Ok(points)
}

/// `-v /host:/ctr` creates a missing host path (a directory, as docker);
/// `--mount type=bind` refuses it with docker's message.
fn check_bind_sources(points: &[MountPoint]) -> Result<(), AttachError> {
    for mp in points.iter().filter(|m| m.kind == Kind::Bind) {
        let path = Path::new(&mp.source);
        if std::fs::metadata(path).is_ok() {
            continue;
        }
        if !mp.create_source {
            return Err(AttachError::BindSourceMissing(mp.source.clone()));
        }
        std::fs::create_dir_all(path).map_err(|source| AttachError::CreateSource { path: path.into(), source })?;
    }
    Ok(())
}

/// The OCI mounts of container `id` for one start, its volumes mounted
/// and filled. On failure, what this start activated is released again.
pub(crate) fn mounts_for(
    data_root: &Path,
    id: &str,
    points: &[MountPoint],
    rootfs: &Path,
) -> Result<Vec<Value>, AttachError> {
    let mut store = Store::open(data_root)?;
    let result = activate_all(&mut store, id, points, rootfs);
    if result.is_err()
        && let Err(e) = store.deactivate(id)
    {
        tracing::warn!(container = id, error = %e, "deactivate volumes after a failed start");
    }
    let mut mounts = result?;
    // Parents before children, as docker sorts them (by path depth).
    mounts.sort_by_key(|m| m["destination"].as_str().map_or(0, |d| d.split('/').filter(|c| !c.is_empty()).count()));
    Ok(mounts)
}

fn activate_all(store: &mut Store, id: &str, points: &[MountPoint], rootfs: &Path) -> Result<Vec<Value>, AttachError> {
    let mut out = Vec::with_capacity(points.len());
    for mp in points {
        match mp.kind {
            Kind::Volume => {
                let at = MountAt { destination: &mp.destination, rw: mp.rw, propagation: &mp.propagation };
                store.activate(id, &mp.name, &at)?;
                let data = store.layout.data(&mp.name);
                // The source handed to the runtime must be the volume's own
                // directory, never a link (the store made it; check anyway).
                let plain = std::fs::symlink_metadata(&data).is_ok_and(|m| m.is_dir());
                if !plain {
                    return Err(AttachError::DataNotDir { name: mp.name.clone(), path: data });
                }
                if mp.copy_data {
                    copyup::copy_up(rootfs, &mp.destination, &data).map_err(|source| AttachError::CopyUp {
                        name: mp.name.clone(),
                        destination: mp.destination.clone(),
                        source,
                    })?;
                }
                out.push(bind_mount(mp, &data.to_string_lossy()));
            }
            Kind::Bind => out.push(bind_mount(mp, &mp.source)),
            Kind::Tmpfs => {
                let mut options = vec![rw(mp).to_string(), "nosuid".into(), "nodev".into(), "noexec".into()];
                options.extend(mp.tmpfs_options.iter().cloned());
                out.push(
                    json!({"destination": mp.destination, "type": "tmpfs", "source": "tmpfs", "options": options}),
                );
            }
        }
    }
    Ok(out)
}

fn rw(mp: &MountPoint) -> &'static str {
    if mp.rw { "rw" } else { "ro" }
}

fn bind_mount(mp: &MountPoint, source: &str) -> Value {
    let bind = if mp.non_recursive { "bind" } else { "rbind" };
    let propagation = if mp.propagation.is_empty() { spec::DEFAULT_PROPAGATION } else { mp.propagation.as_str() };
    json!({
        "destination": mp.destination,
        "type": "bind",
        "source": source,
        "options": [bind, rw(mp), propagation],
    })
}

/// The container stopped: unmount driver filesystems it was the last user of.
pub(crate) fn deactivate(data_root: &Path, id: &str) -> Result<(), VolumeError> {
    Store::open(data_root)?.deactivate(id)
}

/// The container is removed: drop its references; with `remove_anonymous`
/// (`rm -v`, `run --rm`) also remove the anonymous volumes only it used.
/// Returns the names of the volumes removed.
pub(crate) fn release(data_root: &Path, id: &str, remove_anonymous: bool) -> Result<Vec<String>, VolumeError> {
    let mut store = Store::open(data_root)?;
    store.deactivate(id)?;
    store.release(id, remove_anonymous)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str], m: &[&str]) -> MountArgs {
        MountArgs {
            volumes: v.iter().map(|s| s.to_string()).collect(),
            mounts: m.iter().map(|s| s.to_string()).collect(),
            volumes_from: vec![],
        }
    }

    fn no_from(c: &str) -> Result<Vec<MountPoint>, String> {
        Err(format!("No such container: {c}"))
    }

    #[test]
    fn prepare_takes_named_and_anonymous_volumes() {
        let d = tempfile::tempdir().unwrap();
        let a = args(&["vol1:/mydata", "/anon"], &[]);
        let points = prepare(d.path(), "c1", &a, &["/img".into()], &[], &mut no_from).unwrap();
        assert_eq!(points.len(), 3);
        assert_eq!(points[0].source, d.path().join("volumes/vol1/_data").to_string_lossy());
        assert_eq!(points[1].name.len(), 64);
        assert_eq!(points[2].destination, "/img");
        let store = Store::open(d.path()).unwrap();
        assert_eq!(store.users("vol1").unwrap(), ["c1"]);
        assert_eq!(release(d.path(), "c1", true).unwrap().len(), 2, "both anonymous volumes go");
        assert!(store.get("vol1").is_ok());
    }

    #[test]
    fn bind_sources_created_for_dash_v_refused_for_mount() {
        let d = tempfile::tempdir().unwrap();
        let host = d.path().join("host/dir");
        let a = args(&[], &[&format!("type=bind,src={},dst=/x", host.display())]);
        let err = prepare(d.path(), "c1", &a, &[], &[], &mut no_from).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("invalid mount config for type \"bind\": bind source path does not exist: {}", host.display())
        );
        let a = args(&[&format!("{}:/x", host.display())], &[]);
        prepare(d.path(), "c1", &a, &[], &[], &mut no_from).unwrap();
        assert!(host.is_dir());
    }

    #[test]
    fn volumes_from_copies_with_mode() {
        let d = tempfile::tempdir().unwrap();
        let first = prepare(d.path(), "c1", &args(&["shared:/data"], &[]), &[], &[], &mut no_from).unwrap();
        let a = MountArgs { volumes_from: vec!["c1:ro".into()], ..Default::default() };
        let mut lookup = |c: &str| if c == "c1" { Ok(first.clone()) } else { no_from(c) };
        let points = prepare(d.path(), "c2", &a, &[], &[], &mut lookup).unwrap();
        assert_eq!((points[0].name.as_str(), points[0].rw), ("shared", false));
        assert_eq!(Store::open(d.path()).unwrap().users("shared").unwrap(), ["c1", "c2"]);
        let a = MountArgs { volumes_from: vec!["nope".into()], ..Default::default() };
        let err = prepare(d.path(), "c3", &a, &[], &[], &mut lookup).unwrap_err();
        assert_eq!(err.to_string(), "--volumes-from nope: No such container: nope");
    }

    #[test]
    fn mounts_are_bind_and_tmpfs_sorted_by_depth() {
        let d = tempfile::tempdir().unwrap();
        let rootfs = d.path().join("rootfs");
        std::fs::create_dir_all(rootfs.join("a/b")).unwrap();
        std::fs::write(rootfs.join("a/b/seed"), b"from image").unwrap();
        let a = args(&["v1:/a/b", "/srv:/a:ro"], &["type=tmpfs,dst=/t,tmpfs-size=1m"]);
        let points = prepare(d.path(), "c1", &a, &[], &[], &mut no_from).unwrap();
        let mounts = mounts_for(d.path(), "c1", &points, &rootfs).unwrap();
        let dsts: Vec<&str> = mounts.iter().map(|m| m["destination"].as_str().unwrap()).collect();
        assert_eq!(dsts, ["/a", "/t", "/a/b"]);
        assert_eq!(mounts[0]["options"], json!(["rbind", "ro", "rprivate"]));
        assert_eq!(mounts[1]["options"], json!(["rw", "nosuid", "nodev", "noexec", "size=1048576"]));
        let data = d.path().join("volumes/v1/_data");
        assert_eq!(mounts[2]["source"], data.to_string_lossy().as_ref());
        assert_eq!(std::fs::read_to_string(data.join("seed")).unwrap(), "from image");
        deactivate(d.path(), "c1").unwrap();
        assert_eq!(release(d.path(), "c1", true).unwrap(), Vec::<String>::new(), "v1 is named: kept");
    }
}
