//! A container's mount flags as docker parses them: `-v` (moby
//! `volume/mounts/linux_parser.go` `ParseMountRaw`), `--mount` (docker/cli
//! `opts/mount.go`) and `--volumes-from` (`daemon/volumes.go`), into
//! [`MountPoint`]s, the record a container keeps of each mount.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// docker's default propagation of a bind mount.
pub(crate) const DEFAULT_PROPAGATION: &str = "rprivate";

const PROPAGATIONS: [&str; 6] = ["shared", "slave", "private", "rshared", "rslave", "rprivate"];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum SpecError {
    #[error("invalid spec: {0}: empty section between colons")]
    EmptySection(String),
    #[error("invalid volume specification: '{0}'")]
    Invalid(String),
    #[error("invalid mode: {0}")]
    Mode(String),
    #[error(
        "invalid volume specification: '{spec}': invalid mount config for type \"{kind}\": invalid mount path: '{path}' mount path must be absolute"
    )]
    Relative { spec: String, kind: &'static str, path: String },
    #[error("invalid specification: destination can't be '/'")]
    Root,
    #[error("invalid argument {spec:?} for \"--mount\" flag: {reason}")]
    MountFlag { spec: String, reason: String },
    #[error("invalid mount config for type \"{kind}\": {reason}")]
    MountConfig { kind: &'static str, reason: String },
    #[error("Duplicate mount point: {0}")]
    Duplicate(String),
}

/// bind, volume or tmpfs, in docker's spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kind {
    Bind,
    Volume,
    Tmpfs,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Bind => "bind",
            Kind::Volume => "volume",
            Kind::Tmpfs => "tmpfs",
        }
    }
}

/// One mount of a container, as its record keeps it: docker's MountPoint
/// fields plus what starting it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct MountPoint {
    #[serde(rename = "Type")]
    pub kind: Kind,
    /// The volume's name (empty for binds, tmpfs and a volume not yet
    /// created: an anonymous one gets its name when taken).
    pub name: String,
    /// The host path: a bind's source, a volume's `_data`.
    pub source: String,
    pub destination: String,
    pub driver: String,
    /// The mode as given (`ro,z`), `z` for a `-v` volume without one.
    pub mode: String,
    #[serde(rename = "RW")]
    pub rw: bool,
    pub propagation: String,
    /// Copy the image's content at the destination into an empty volume.
    pub copy_data: bool,
    /// `-v` creates a missing bind source; `--mount` refuses it.
    #[serde(default)]
    pub create_source: bool,
    /// `--mount volume-opt=…` for a volume this creates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_options: Option<BTreeMap<String, String>>,
    /// tmpfs mount data (`size=…`, `mode=…`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tmpfs_options: Vec<String>,
    /// Non-recursive bind (`bind-nonrecursive`).
    #[serde(default)]
    pub non_recursive: bool,
}

impl MountPoint {
    fn new(kind: Kind, destination: String) -> MountPoint {
        MountPoint {
            kind,
            name: String::new(),
            source: String::new(),
            destination,
            driver: String::new(),
            mode: String::new(),
            rw: true,
            propagation: String::new(),
            copy_data: kind == Kind::Volume,
            create_source: false,
            volume_options: None,
            tmpfs_options: Vec::new(),
            non_recursive: false,
        }
    }

    /// An anonymous volume for a path of the image's `Volumes`.
    pub(crate) fn image_volume(destination: &str) -> MountPoint {
        MountPoint::new(Kind::Volume, clean(destination))
    }

    /// docker's `Mounts` entry of container inspect.
    pub(crate) fn inspect(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("Type".into(), json!(self.kind.name()));
        if self.kind == Kind::Volume {
            m.insert("Name".into(), json!(self.name));
        }
        m.insert("Source".into(), json!(self.source));
        m.insert("Destination".into(), json!(self.destination));
        if self.kind == Kind::Volume {
            m.insert("Driver".into(), json!(self.driver));
        }
        m.insert("Mode".into(), json!(self.mode));
        m.insert("RW".into(), json!(self.rw));
        m.insert("Propagation".into(), json!(self.propagation));
        Value::Object(m)
    }
}

/// `path.Clean` of a container path.
fn clean(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// moby's `ValidMountMode`: at most one of each class.
fn valid_mode(mode: &str) -> bool {
    if mode.is_empty() {
        return true;
    }
    let mut counts = [0u8; 5];
    for word in mode.split(',') {
        let class = match word {
            "rw" | "ro" => 0,
            "z" | "Z" => 1,
            w if PROPAGATIONS.contains(&w) => 2,
            "nocopy" => 3,
            "consistent" | "cached" | "delegated" => 4,
            _ => return false,
        };
        counts[class] += 1;
        if counts[class] > 1 {
            return false;
        }
    }
    true
}

fn mode_has(mode: &str, word: &str) -> bool {
    mode.split(',').any(|w| w == word)
}

/// One `-v` value.
pub(crate) fn parse_volume_flag(raw: &str) -> Result<MountPoint, SpecError> {
    if raw.split(':').any(str::is_empty) && raw.contains(':') {
        return Err(SpecError::EmptySection(raw.to_string()));
    }
    let arr: Vec<&str> = raw.split(':').collect();
    let (source, target, mode) = match arr.as_slice() {
        [dst] => ("", *dst, ""),
        [_, m] if valid_mode(m) && !m.starts_with('/') => return Err(SpecError::Invalid(raw.to_string())),
        [src, dst] => (*src, *dst, ""),
        [src, dst, mode] => (*src, *dst, *mode),
        _ => return Err(SpecError::Invalid(raw.to_string())),
    };
    if !valid_mode(mode) {
        return Err(SpecError::Mode(mode.to_string()));
    }
    let kind = if source.starts_with('/') { Kind::Bind } else { Kind::Volume };
    if !target.starts_with('/') {
        return Err(SpecError::Relative { spec: raw.to_string(), kind: kind.name(), path: target.to_string() });
    }
    let mut mp = MountPoint::new(kind, clean(target));
    if mp.destination == "/" {
        return Err(SpecError::Root);
    }
    mp.rw = !mode_has(mode, "ro");
    mp.mode = mode.to_string();
    match kind {
        Kind::Bind => {
            mp.source = clean(source);
            mp.create_source = true;
            mp.propagation =
                PROPAGATIONS.iter().find(|p| mode_has(mode, p)).unwrap_or(&DEFAULT_PROPAGATION).to_string();
            mp.copy_data = false;
        }
        _ => {
            mp.name = source.to_string();
            mp.copy_data = !mode_has(mode, "nocopy");
            if mp.mode.is_empty() {
                // moby daemon/volumes_linux.go setBindModeIfNull.
                mp.mode = "z".into();
            }
        }
    }
    Ok(mp)
}

fn parse_bool(spec: &str, key: &str, value: Option<&str>) -> Result<bool, SpecError> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None | Some("1") | Some("true") => Ok(true),
        Some("0") | Some("false") => Ok(false),
        Some(v) => {
            Err(SpecError::MountFlag { spec: spec.to_string(), reason: format!("invalid value for {key}: {v}") })
        }
    }
}

/// The fields of one `--mount` value, as written.
#[derive(Default)]
struct MountFields {
    kind: Option<Kind>,
    source: String,
    target: String,
    readonly: bool,
    nocopy: bool,
    nonrec: bool,
    propagation: Option<String>,
    volume_opts: Option<BTreeMap<String, String>>,
    size: Option<String>,
    mode: Option<String>,
}

/// Split `raw` into its fields (comma-separated, keys case-insensitive), with
/// docker's errors for a malformed or unknown one.
fn mount_fields(raw: &str) -> Result<MountFields, SpecError> {
    let flag_err = |reason: String| SpecError::MountFlag { spec: raw.to_string(), reason };
    let mut f = MountFields::default();
    for field in raw.split(',') {
        let (key, value) = match field.split_once('=') {
            Some((k, v)) => (k.to_ascii_lowercase(), Some(v)),
            None => (field.to_ascii_lowercase(), None),
        };
        let need = |v: Option<&str>| {
            v.map(str::to_string).ok_or_else(|| flag_err(format!("invalid field '{field}' must be a key=value pair")))
        };
        match key.as_str() {
            "type" => {
                f.kind = Some(match need(value)?.as_str() {
                    "bind" => Kind::Bind,
                    "volume" => Kind::Volume,
                    "tmpfs" => Kind::Tmpfs,
                    other => return Err(flag_err(format!("invalid mount type {other:?}"))),
                })
            }
            "source" | "src" => f.source = need(value)?,
            "target" | "dst" | "destination" => f.target = need(value)?,
            "readonly" | "ro" => f.readonly = parse_bool(raw, &key, value)?,
            "volume-nocopy" => f.nocopy = parse_bool(raw, &key, value)?,
            "bind-nonrecursive" => f.nonrec = parse_bool(raw, &key, value)?,
            "bind-propagation" => f.propagation = Some(need(value)?),
            "volume-driver" if value != Some("local") => {
                return Err(flag_err(format!("volume driver {:?} not found", value.unwrap_or(""))));
            }
            "volume-driver" | "consistency" | "volume-label" => {}
            "volume-opt" => {
                let v = need(value)?;
                let (k, val) = v.split_once('=').ok_or_else(|| flag_err(format!("invalid volume-opt '{v}'")))?;
                f.volume_opts.get_or_insert_with(BTreeMap::new).insert(k.to_string(), val.to_string());
            }
            "tmpfs-size" => f.size = Some(need(value)?),
            "tmpfs-mode" => f.mode = Some(need(value)?),
            _ => return Err(flag_err(format!("unexpected key '{key}' in '{field}'"))),
        }
    }
    Ok(f)
}

/// One `--mount` value (comma-separated `key=value` fields).
pub(crate) fn parse_mount_flag(raw: &str) -> Result<MountPoint, SpecError> {
    let flag_err = |reason: String| SpecError::MountFlag { spec: raw.to_string(), reason };
    let MountFields { kind, source, target, readonly, nocopy, nonrec, propagation, volume_opts, size, mode } =
        mount_fields(raw)?;
    let kind = kind.unwrap_or(Kind::Volume);
    if target.is_empty() {
        return Err(flag_err("target is required".into()));
    }
    let config = |reason: String| SpecError::MountConfig { kind: kind.name(), reason };
    if !target.starts_with('/') {
        return Err(config(format!("invalid mount path: '{target}' mount path must be absolute")));
    }
    let mut mp = MountPoint::new(kind, clean(&target));
    if mp.destination == "/" {
        return Err(SpecError::Root);
    }
    mp.rw = !readonly;
    mp.non_recursive = nonrec;
    if propagation.is_some() && kind != Kind::Bind {
        return Err(config("field BindOptions must not be specified".into()));
    }
    match kind {
        Kind::Bind => {
            if source.is_empty() {
                return Err(config("field Source must not be empty".into()));
            }
            if !source.starts_with('/') {
                return Err(config(format!("invalid mount path: '{source}' mount path must be absolute")));
            }
            let p = propagation.unwrap_or_else(|| DEFAULT_PROPAGATION.into());
            if !PROPAGATIONS.contains(&p.as_str()) {
                return Err(flag_err(format!("invalid propagation mode: {p}")));
            }
            mp.source = clean(&source);
            mp.propagation = p;
            mp.copy_data = false;
        }
        Kind::Volume => {
            if source.starts_with('/') {
                return Err(config(format!("invalid volume name {source:?}: it must not be a path")));
            }
            mp.name = source;
            mp.copy_data = !nocopy;
            mp.volume_options = volume_opts;
        }
        Kind::Tmpfs => {
            if !source.is_empty() {
                return Err(config("field Source must not be specified".into()));
            }
            mp.copy_data = false;
            mp.tmpfs_options = tmpfs_options(size.as_deref(), mode.as_deref()).map_err(flag_err)?;
        }
    }
    Ok(mp)
}

/// `tmpfs-size` (docker's RAMInBytes units) and `tmpfs-mode` (octal) as
/// tmpfs mount data.
fn tmpfs_options(size: Option<&str>, mode: Option<&str>) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    if let Some(s) = size {
        let bytes = crate::format::units::ram_in_bytes(s).map_err(|e| format!("tmpfs-size: {e}"))?;
        out.push(format!("size={bytes}"));
    }
    if let Some(m) = mode {
        let bits = u32::from_str_radix(m, 8).map_err(|_| format!("invalid tmpfs-mode {m:?}: not an octal mode"))?;
        out.push(format!("mode={bits:o}"));
    }
    Ok(out)
}

/// One `--volumes-from` value: the container and the mode override.
pub(crate) fn parse_volumes_from(raw: &str) -> Result<(String, Option<bool>), SpecError> {
    match raw.split_once(':') {
        None => Ok((raw.to_string(), None)),
        Some((c, "rw")) => Ok((c.to_string(), Some(true))),
        Some((c, "ro")) => Ok((c.to_string(), Some(false))),
        Some((_, m)) if !valid_mode(m) => Err(SpecError::Mode(m.to_string())),
        Some((c, m)) => Ok((c.to_string(), Some(!mode_has(m, "ro")))),
    }
}

/// The mount points of a container in docker's order: `--volumes-from`
/// first (overridden by the container's own flags at the same
/// destination), then `-v` and `--mount` (the same destination twice is an
/// error), then the image's `Volumes` not already covered (by those or by a
/// `--tmpfs` path).
pub(crate) fn combine(
    from: Vec<MountPoint>,
    own: Vec<MountPoint>,
    image_volumes: &[String],
    tmpfs: &[String],
) -> Result<Vec<MountPoint>, SpecError> {
    let mut out: Vec<MountPoint> = Vec::new();
    for mp in own {
        if out.iter().any(|m| m.destination == mp.destination) {
            return Err(SpecError::Duplicate(mp.destination));
        }
        out.push(mp);
    }
    for mp in from {
        if !out.iter().any(|m| m.destination == mp.destination) {
            out.push(mp);
        }
    }
    let tmpfs: Vec<String> = tmpfs.iter().map(|t| clean(t.split(':').next().unwrap_or(t))).collect();
    for path in image_volumes {
        let mp = MountPoint::image_volume(path);
        if !out.iter().any(|m| m.destination == mp.destination) && !tmpfs.contains(&mp.destination) {
            out.push(mp);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dash_v_forms() {
        let anon = parse_volume_flag("/test_volume_1").unwrap();
        assert_eq!((anon.kind, anon.name.as_str(), anon.mode.as_str(), anon.copy_data), (Kind::Volume, "", "z", true));
        let named = parse_volume_flag("vol1:/mydata").unwrap();
        assert_eq!((named.name.as_str(), named.destination.as_str(), named.rw), ("vol1", "/mydata", true));
        let bind = parse_volume_flag("/srv/x/:/data/:ro,rslave").unwrap();
        assert_eq!(
            (bind.kind, bind.source.as_str(), bind.destination.as_str(), bind.rw, bind.propagation.as_str()),
            (Kind::Bind, "/srv/x", "/data", false, "rslave")
        );
        assert_eq!(bind.mode, "ro,rslave");
        assert!(bind.create_source);
        assert_eq!(parse_volume_flag("/a:/b").unwrap().propagation, "rprivate");
        assert!(!parse_volume_flag("v1:/b:nocopy").unwrap().copy_data);
    }

    #[test]
    fn dash_v_errors_as_docker() {
        assert_eq!(parse_volume_flag("/foo:rw").unwrap_err(), SpecError::Invalid("/foo:rw".into()));
        assert_eq!(parse_volume_flag("a:/b:bogus").unwrap_err().to_string(), "invalid mode: bogus");
        assert_eq!(parse_volume_flag("a:/b:ro,rw").unwrap_err().to_string(), "invalid mode: ro,rw");
        assert!(parse_volume_flag("a:rel").unwrap_err().to_string().contains("mount path must be absolute"));
        assert_eq!(parse_volume_flag("v:/").unwrap_err(), SpecError::Root);
        assert!(parse_volume_flag("a:b:c:d").is_err());
    }

    #[test]
    fn mount_flag_forms() {
        let b = parse_mount_flag("type=bind,src=/srv,dst=/data,readonly,bind-propagation=shared").unwrap();
        assert_eq!((b.kind, b.rw, b.propagation.as_str(), b.create_source), (Kind::Bind, false, "shared", false));
        assert_eq!(b.mode, "");
        let v =
            parse_mount_flag("source=myvol,target=/app,volume-nocopy,volume-opt=type=tmpfs,volume-opt=device=tmpfs")
                .unwrap();
        assert_eq!((v.kind, v.name.as_str(), v.copy_data), (Kind::Volume, "myvol", false));
        assert_eq!(v.volume_options.unwrap()["type"], "tmpfs");
        let t = parse_mount_flag("type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770").unwrap();
        assert_eq!(t.tmpfs_options, ["size=1048576", "mode=1770"]);
        assert!(parse_mount_flag("type=bind,dst=/x").unwrap_err().to_string().contains("Source must not be empty"));
        assert!(parse_mount_flag("src=v").unwrap_err().to_string().contains("target is required"));
        assert!(parse_mount_flag("type=volume,dst=/x,bogus=1").unwrap_err().to_string().contains("unexpected key"));
    }

    #[test]
    fn combine_orders_and_dedups() {
        let own = vec![parse_volume_flag("a1:/data").unwrap()];
        let from = vec![parse_volume_flag("b1:/data").unwrap(), parse_volume_flag("b2:/other").unwrap()];
        let all =
            combine(from, own, &["/data".into(), "/img".into(), "/tmp".into()], &["/tmp:size=1m".into()]).unwrap();
        let names: Vec<(&str, &str)> = all.iter().map(|m| (m.name.as_str(), m.destination.as_str())).collect();
        assert_eq!(names, [("a1", "/data"), ("b2", "/other"), ("", "/img")]);
        assert_eq!(all[2].mode, "", "image volumes have no mode");
        let dup = vec![parse_volume_flag("a:/d").unwrap(), parse_mount_flag("type=tmpfs,dst=/d/").unwrap()];
        assert_eq!(combine(vec![], dup, &[], &[]).unwrap_err(), SpecError::Duplicate("/d".into()));
    }

    #[test]
    fn inspect_shape() {
        let mut v = parse_volume_flag("vol1:/data").unwrap();
        v.source = "/var/lib/berth/volumes/vol1/_data".into();
        v.driver = "local".into();
        let keys: Vec<String> = v.inspect().as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["Type", "Name", "Source", "Destination", "Driver", "Mode", "RW", "Propagation"]);
        let b = parse_volume_flag("/h:/c").unwrap().inspect();
        assert_eq!(
            b,
            json!({"Type": "bind", "Source": "/h", "Destination": "/c", "Mode": "", "RW": true, "Propagation": "rprivate"})
        );
    }

    #[test]
    fn volumes_from_modes() {
        assert_eq!(parse_volumes_from("web").unwrap(), ("web".into(), None));
        assert_eq!(parse_volumes_from("web:ro").unwrap(), ("web".into(), Some(false)));
        assert!(parse_volumes_from("web:bogus").is_err());
    }
}
