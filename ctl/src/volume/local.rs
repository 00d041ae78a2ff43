//! docker's `local` driver options (`-o type=… -o device=… -o o=…`): with a
//! type, the volume's `_data` is a mount point for that filesystem while a
//! container uses it (`type=tmpfs,device=tmpfs,o=size=64m`,
//! `type=none,device=/srv/data,o=bind`, `type=nfs,…`), as docker's
//! `volume/local` does with `mount -t TYPE -o O DEVICE _data`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags, mount, umount2};

#[derive(Debug, thiserror::Error)]
pub(crate) enum LocalError {
    #[error("invalid option key: {0:?}")]
    UnknownKey(String),
    #[error("option \"device\" is required with \"type\"")]
    NoDevice,
    #[error("option \"type\" is required with \"device\" and \"o\"")]
    NoType,
    #[error("bind device {0:?}: must be an absolute path to an existing directory")]
    BindDevice(PathBuf),
    #[error("mount {device:?} on {target:?} (type {fstype}, options {data:?})")]
    Mount {
        device: String,
        target: PathBuf,
        fstype: String,
        data: String,
        #[source]
        source: nix::Error,
    },
    #[error("unmount {target:?}")]
    Unmount {
        target: PathBuf,
        #[source]
        source: nix::Error,
    },
}

/// The parsed `-o` options of a local volume.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LocalOptions {
    pub fstype: String,
    pub device: String,
    pub o: String,
}

impl LocalOptions {
    /// docker's validOpts: `type`, `device`, `o` (and `size`, which needs
    /// filesystem quotas docker only has on xfs; not offered here).
    pub(crate) fn parse(options: Option<&BTreeMap<String, String>>) -> Result<LocalOptions, LocalError> {
        let mut out = LocalOptions::default();
        for (k, v) in options.into_iter().flatten() {
            match k.as_str() {
                "type" => out.fstype = v.clone(),
                "device" => out.device = v.clone(),
                "o" => out.o = v.clone(),
                _ => return Err(LocalError::UnknownKey(k.clone())),
            }
        }
        Ok(out)
    }

    /// Whether the options make sense before any mount is tried.
    pub(crate) fn check(&self, _name: &str) -> Result<(), LocalError> {
        if self.fstype.is_empty() {
            return if self.device.is_empty() && self.o.is_empty() { Ok(()) } else { Err(LocalError::NoType) };
        }
        if self.device.is_empty() {
            return Err(LocalError::NoDevice);
        }
        if self.is_bind() && !Path::new(&self.device).is_absolute() {
            return Err(LocalError::BindDevice(PathBuf::from(&self.device)));
        }
        Ok(())
    }

    /// A volume with a type is mounted while in use; a plain one is just a
    /// directory.
    pub(crate) fn needs_mount(&self) -> bool {
        !self.fstype.is_empty()
    }

    fn is_bind(&self) -> bool {
        self.o.split(',').any(|w| w == "bind" || w == "rbind")
    }

    /// Mount on `target` (the volume's `_data`). Flag words of `o` become
    /// mount flags, the rest the filesystem's data, as moby's
    /// `mount.ParseOptions` splits them.
    pub(crate) fn mount(&self, target: &Path) -> Result<(), LocalError> {
        let (flags, data) = split_options(&self.o);
        if self.is_bind() && !Path::new(&self.device).is_dir() {
            return Err(LocalError::BindDevice(PathBuf::from(&self.device)));
        }
        let fstype = (self.fstype != "none").then_some(self.fstype.as_str());
        let data_arg = (!data.is_empty()).then_some(data.as_str());
        let err = |source| LocalError::Mount {
            device: self.device.clone(),
            target: target.to_path_buf(),
            fstype: self.fstype.clone(),
            data: data.clone(),
            source,
        };
        // A bind with `ro` needs a remount to take the flag (mount(2)).
        let bind_ro = flags.contains(MsFlags::MS_BIND) && flags.contains(MsFlags::MS_RDONLY);
        mount(Some(self.device.as_str()), target, fstype, flags, data_arg).map_err(err)?;
        if bind_ro {
            let again = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
            if let Err(e) = mount(None::<&str>, target, None::<&str>, again, None::<&str>) {
                let _ = umount2(target, MntFlags::MNT_DETACH);
                return Err(err(e));
            }
        }
        Ok(())
    }
}

/// Split `o` into mount flags and the data string.
fn split_options(o: &str) -> (MsFlags, String) {
    let mut flags = MsFlags::empty();
    let mut data = Vec::new();
    for word in o.split(',').filter(|w| !w.is_empty()) {
        let f = match word {
            "bind" => MsFlags::MS_BIND,
            "rbind" => MsFlags::MS_BIND | MsFlags::MS_REC,
            "ro" => MsFlags::MS_RDONLY,
            "rw" => MsFlags::empty(),
            "nosuid" => MsFlags::MS_NOSUID,
            "nodev" => MsFlags::MS_NODEV,
            "noexec" => MsFlags::MS_NOEXEC,
            "sync" => MsFlags::MS_SYNCHRONOUS,
            "noatime" => MsFlags::MS_NOATIME,
            "nodiratime" => MsFlags::MS_NODIRATIME,
            "relatime" => MsFlags::MS_RELATIME,
            "strictatime" => MsFlags::MS_STRICTATIME,
            _ => {
                data.push(word);
                continue;
            }
        };
        flags |= f;
    }
    (flags, data.join(","))
}

/// Whether something is mounted exactly at `target`.
pub(crate) fn is_mounted(target: &Path) -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else { return false };
    let want = target.as_os_str().as_encoded_bytes();
    info.lines().any(|l| l.split(' ').nth(4).is_some_and(|mp| unescape(mp).as_slice() == want))
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && let Some(v) = b
                .get(i + 1..i + 4)
                .and_then(|o| std::str::from_utf8(o).ok())
                .and_then(|o| u8::from_str_radix(o, 8).ok())
        {
            out.push(v);
            i += 4;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Unmount the driver's filesystem (lazily: a process of a stopped
/// container still holding a file open must not make it fail).
pub(crate) fn unmount(target: &Path) -> Result<(), LocalError> {
    umount2(target, MntFlags::MNT_DETACH).map_err(|source| LocalError::Unmount { target: target.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn unknown_keys_are_refused_as_docker() {
        let err = LocalOptions::parse(Some(&opts(&[("foo", "bar")]))).unwrap_err();
        assert_eq!(err.to_string(), "invalid option key: \"foo\"");
    }

    #[test]
    fn tmpfs_and_bind_options_check() {
        let t = LocalOptions::parse(Some(&opts(&[("type", "tmpfs"), ("device", "tmpfs"), ("o", "size=1m")]))).unwrap();
        t.check("v").unwrap();
        assert!(t.needs_mount());
        assert!(LocalOptions::parse(None).unwrap().check("v").is_ok());
        let rel = LocalOptions::parse(Some(&opts(&[("type", "none"), ("device", "rel"), ("o", "bind")]))).unwrap();
        assert!(matches!(rel.check("v"), Err(LocalError::BindDevice(_))));
        let no_dev = LocalOptions::parse(Some(&opts(&[("type", "tmpfs")]))).unwrap();
        assert!(matches!(no_dev.check("v"), Err(LocalError::NoDevice)));
    }

    #[test]
    fn o_splits_into_flags_and_data() {
        let (f, d) = split_options("bind,ro,size=10m,uid=1000");
        assert!(f.contains(MsFlags::MS_BIND | MsFlags::MS_RDONLY));
        assert_eq!(d, "size=10m,uid=1000");
    }

    #[test]
    fn mountinfo_escapes() {
        assert_eq!(unescape("/a\\040b"), b"/a b");
    }
}
