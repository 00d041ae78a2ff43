//! Mount options of config.json, as runc's table reads them: flags to set, flags
//! to clear, propagation, recursive attributes, and the rest as fs data.

use nix::mount::MsFlags;

use crate::sys::mount as sm;

/// A parsed `mounts[].options` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOptions {
    pub flags: MsFlags,
    pub clear: MsFlags,
    pub propagation: Vec<MsFlags>,
    /// MOUNT_ATTR_* set and cleared recursively (`rro`, `rnosuid`, ...).
    pub rec_set: u64,
    pub rec_clear: u64,
    /// Options passed to the filesystem (`mode=755`, `size=65536k`).
    pub data: Vec<String>,
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            flags: MsFlags::empty(),
            clear: MsFlags::empty(),
            propagation: Vec::new(),
            rec_set: 0,
            rec_clear: 0,
            data: Vec::new(),
        }
    }
}

impl MountOptions {
    pub fn is_bind(&self) -> bool {
        self.flags.contains(MsFlags::MS_BIND)
    }

    pub fn data(&self) -> Option<String> {
        (!self.data.is_empty()).then(|| self.data.join(","))
    }
}

/// Parse options; `tmpcopyup` and unknown `x-` options are accepted and ignored
/// by the kernel call (runc does the same for `x-*`).
pub fn parse(options: &[String]) -> MountOptions {
    let mut o = MountOptions::default();
    for opt in options {
        let (set, clear): (MsFlags, MsFlags) = match opt.as_str() {
            "defaults" => (MsFlags::empty(), MsFlags::empty()),
            "ro" => (MsFlags::MS_RDONLY, MsFlags::empty()),
            "rw" => (MsFlags::empty(), MsFlags::MS_RDONLY),
            "suid" => (MsFlags::empty(), MsFlags::MS_NOSUID),
            "nosuid" => (MsFlags::MS_NOSUID, MsFlags::empty()),
            "dev" => (MsFlags::empty(), MsFlags::MS_NODEV),
            "nodev" => (MsFlags::MS_NODEV, MsFlags::empty()),
            "exec" => (MsFlags::empty(), MsFlags::MS_NOEXEC),
            "noexec" => (MsFlags::MS_NOEXEC, MsFlags::empty()),
            "sync" => (MsFlags::MS_SYNCHRONOUS, MsFlags::empty()),
            "async" => (MsFlags::empty(), MsFlags::MS_SYNCHRONOUS),
            "dirsync" => (MsFlags::MS_DIRSYNC, MsFlags::empty()),
            "remount" => (MsFlags::MS_REMOUNT, MsFlags::empty()),
            "mand" => (MsFlags::MS_MANDLOCK, MsFlags::empty()),
            "nomand" => (MsFlags::empty(), MsFlags::MS_MANDLOCK),
            "atime" => (MsFlags::empty(), MsFlags::MS_NOATIME),
            "noatime" => (MsFlags::MS_NOATIME, MsFlags::empty()),
            "diratime" => (MsFlags::empty(), MsFlags::MS_NODIRATIME),
            "nodiratime" => (MsFlags::MS_NODIRATIME, MsFlags::empty()),
            "relatime" => (MsFlags::MS_RELATIME, MsFlags::empty()),
            "norelatime" => (MsFlags::empty(), MsFlags::MS_RELATIME),
            "strictatime" => (MsFlags::MS_STRICTATIME, MsFlags::empty()),
            "nostrictatime" => (MsFlags::empty(), MsFlags::MS_STRICTATIME),
            "iversion" => (MsFlags::MS_I_VERSION, MsFlags::empty()),
            "noiversion" => (MsFlags::empty(), MsFlags::MS_I_VERSION),
            "lazytime" => (MsFlags::MS_LAZYTIME, MsFlags::empty()),
            "nolazytime" => (MsFlags::empty(), MsFlags::MS_LAZYTIME),
            "silent" | "loud" => (MsFlags::empty(), MsFlags::empty()),
            "bind" => (MsFlags::MS_BIND, MsFlags::empty()),
            "rbind" => (MsFlags::MS_BIND | MsFlags::MS_REC, MsFlags::empty()),
            "private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave" | "unbindable" | "runbindable" => {
                o.propagation.push(propagation(opt));
                continue;
            }
            other => {
                if let Some((set, clear)) = recursive(other) {
                    o.rec_set |= set;
                    o.rec_clear |= clear;
                } else if other != "tmpcopyup" && !other.starts_with("x-") {
                    o.data.push(other.to_string());
                }
                continue;
            }
        };
        o.flags.insert(set);
        o.flags.remove(clear);
        o.clear.insert(clear);
        o.clear.remove(set);
    }
    o
}

fn propagation(opt: &str) -> MsFlags {
    match opt {
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        _ => MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
    }
}

/// Recursive mount attributes (mount_setattr with AT_RECURSIVE), runc 1.1+.
fn recursive(opt: &str) -> Option<(u64, u64)> {
    Some(match opt {
        "rro" => (sm::MOUNT_ATTR_RDONLY, 0),
        "rrw" => (0, sm::MOUNT_ATTR_RDONLY),
        "rnosuid" => (sm::MOUNT_ATTR_NOSUID, 0),
        "rsuid" => (0, sm::MOUNT_ATTR_NOSUID),
        "rnodev" => (sm::MOUNT_ATTR_NODEV, 0),
        "rdev" => (0, sm::MOUNT_ATTR_NODEV),
        "rnoexec" => (sm::MOUNT_ATTR_NOEXEC, 0),
        "rexec" => (0, sm::MOUNT_ATTR_NOEXEC),
        "rnoatime" => (sm::MOUNT_ATTR_NOATIME, 0),
        "rstrictatime" => (sm::MOUNT_ATTR_STRICTATIME, 0),
        "rnodiratime" => (sm::MOUNT_ATTR_NODIRATIME, 0),
        "rnosymfollow" => (sm::MOUNT_ATTR_NOSYMFOLLOW, 0),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(opts: &[&str]) -> MountOptions {
        parse(&opts.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn flags_and_data_split() {
        let o = p(&["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]);
        assert_eq!(o.flags, MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_NODEV);
        assert_eq!(o.data().as_deref(), Some("mode=1777,size=65536k"));
    }

    #[test]
    fn later_option_wins() {
        let o = p(&["ro", "rw"]);
        assert!(!o.flags.contains(MsFlags::MS_RDONLY));
        assert!(o.clear.contains(MsFlags::MS_RDONLY));
    }

    #[test]
    fn rbind_is_recursive_bind() {
        let o = p(&["rbind", "ro"]);
        assert!(o.is_bind());
        assert!(o.flags.contains(MsFlags::MS_REC | MsFlags::MS_RDONLY));
    }

    #[test]
    fn propagation_options() {
        assert_eq!(p(&["rprivate"]).propagation, vec![MsFlags::MS_PRIVATE | MsFlags::MS_REC]);
        assert_eq!(p(&["shared"]).propagation, vec![MsFlags::MS_SHARED]);
        assert_eq!(p(&["rslave"]).propagation, vec![MsFlags::MS_SLAVE | MsFlags::MS_REC]);
        assert_eq!(p(&["unbindable"]).propagation, vec![MsFlags::MS_UNBINDABLE]);
        assert_eq!(p(&["runbindable"]).propagation, vec![MsFlags::MS_UNBINDABLE | MsFlags::MS_REC]);
        assert_eq!(p(&["private"]).propagation, vec![MsFlags::MS_PRIVATE]);
    }

    #[test]
    fn recursive_attributes() {
        let o = p(&["rro", "rnosuid"]);
        assert_eq!(o.rec_set, sm::MOUNT_ATTR_RDONLY | sm::MOUNT_ATTR_NOSUID);
        assert!(o.data.is_empty());
    }
}
