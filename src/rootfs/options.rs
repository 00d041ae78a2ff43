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
    /// `tmpcopyup`: fill a fresh tmpfs with what the rootfs had at its destination.
    pub tmpcopyup: bool,
    /// `idmap`/`ridmap` (runc 1.2): an idmapped bind mount, `ridmap` for the whole tree.
    pub idmap: Option<bool>,
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
            tmpcopyup: false,
            idmap: None,
            data: Vec::new(),
        }
    }
}

impl MountOptions {
    pub fn is_bind(&self) -> bool {
        self.flags.contains(MsFlags::MS_BIND)
    }

    /// Whether any atime option was given; a bind remount then takes the given
    /// mode instead of the source mount's.
    pub fn has_atime(&self) -> bool {
        (self.flags | self.clear)
            .intersects(MsFlags::MS_NOATIME | MsFlags::MS_RELATIME | MsFlags::MS_STRICTATIME | MsFlags::MS_NODIRATIME)
    }

    /// Whether the mount needs more once it exists: a propagation change or
    /// recursive attributes (see `mount::finish`).
    pub fn has_after_mount(&self) -> bool {
        !self.propagation.is_empty() || self.rec_set != 0 || self.rec_clear != 0
    }

    pub fn data(&self) -> Option<String> {
        (!self.data.is_empty()).then(|| self.data.join(","))
    }
}

/// MS_NOSYMFOLLOW (Linux 5.10), which nix 0.29 does not name.
pub const MS_NOSYMFOLLOW: MsFlags = MsFlags::from_bits_retain(256);

/// The per-mount attributes (MOUNT_ATTR_* to set, to clear) that a bind remount
/// with `flags` leaves a mount with, as the kernel's path_mount reads them: the
/// flags given are set and the others cleared; an atime mode given replaces the
/// mount's (strictatime over noatime over relatime), none keeps it. Superblock
/// flags are not the mount's and are left out, as a bind remount ignores them.
pub fn remount_attrs(flags: MsFlags) -> (u64, u64) {
    let bits = [
        (MsFlags::MS_RDONLY, sm::MOUNT_ATTR_RDONLY),
        (MsFlags::MS_NOSUID, sm::MOUNT_ATTR_NOSUID),
        (MsFlags::MS_NODEV, sm::MOUNT_ATTR_NODEV),
        (MsFlags::MS_NOEXEC, sm::MOUNT_ATTR_NOEXEC),
        (MS_NOSYMFOLLOW, sm::MOUNT_ATTR_NOSYMFOLLOW),
    ];
    let (mut set, mut clear) = (0, 0);
    for (flag, attr) in bits {
        if flags.contains(flag) { set |= attr } else { clear |= attr }
    }
    let atime = MsFlags::MS_NOATIME | MsFlags::MS_RELATIME | MsFlags::MS_STRICTATIME | MsFlags::MS_NODIRATIME;
    if flags.intersects(atime) {
        clear |= sm::MOUNT_ATTR_ATIME_MASK | sm::MOUNT_ATTR_NODIRATIME;
        set |= if flags.contains(MsFlags::MS_STRICTATIME) {
            sm::MOUNT_ATTR_STRICTATIME
        } else if flags.contains(MsFlags::MS_NOATIME) {
            sm::MOUNT_ATTR_NOATIME
        } else {
            sm::MOUNT_ATTR_RELATIME
        };
        if flags.contains(MsFlags::MS_NODIRATIME) {
            set |= sm::MOUNT_ATTR_NODIRATIME;
        }
    }
    (set, clear & !set)
}

/// Parse options; unknown `x-` options are accepted and left out of the kernel
/// call (runc does the same for `x-*`).
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
            "nosymfollow" => (MS_NOSYMFOLLOW, MsFlags::empty()),
            "symfollow" => (MsFlags::empty(), MS_NOSYMFOLLOW),
            "tmpcopyup" => {
                o.tmpcopyup = true;
                continue;
            }
            "idmap" | "ridmap" => {
                o.idmap = Some(opt == "ridmap");
                continue;
            }
            "silent" | "loud" => (MsFlags::empty(), MsFlags::empty()),
            "bind" => (MsFlags::MS_BIND, MsFlags::empty()),
            "rbind" => (MsFlags::MS_BIND | MsFlags::MS_REC, MsFlags::empty()),
            "private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave" | "unbindable" | "runbindable" => {
                o.propagation.push(propagation(opt));
                continue;
            }
            other => {
                if let Some((set, clear)) = recursive(other) {
                    if clear == sm::MOUNT_ATTR_ATIME_MASK {
                        // The atime mode is one field: the last option sets all of it.
                        o.rec_set &= !sm::MOUNT_ATTR_ATIME_MASK;
                    }
                    o.rec_set = (o.rec_set & !clear) | set;
                    o.rec_clear = (o.rec_clear & !set) | clear;
                } else if !other.starts_with("x-") {
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

/// Recursive mount attributes (mount_setattr with AT_RECURSIVE), runc 1.1+: the
/// attributes to set and to clear. The atime options each pick the whole atime
/// mode, so they clear MOUNT_ATTR__ATIME as the kernel requires; `ratime`,
/// `rnorelatime` and `rnostrictatime` fall back to relatime, the kernel default.
fn recursive(opt: &str) -> Option<(u64, u64)> {
    const ATIME: u64 = sm::MOUNT_ATTR_ATIME_MASK;
    Some(match opt {
        "rro" => (sm::MOUNT_ATTR_RDONLY, 0),
        "rrw" => (0, sm::MOUNT_ATTR_RDONLY),
        "rnosuid" => (sm::MOUNT_ATTR_NOSUID, 0),
        "rsuid" => (0, sm::MOUNT_ATTR_NOSUID),
        "rnodev" => (sm::MOUNT_ATTR_NODEV, 0),
        "rdev" => (0, sm::MOUNT_ATTR_NODEV),
        "rnoexec" => (sm::MOUNT_ATTR_NOEXEC, 0),
        "rexec" => (0, sm::MOUNT_ATTR_NOEXEC),
        "rnodiratime" => (sm::MOUNT_ATTR_NODIRATIME, 0),
        "rdiratime" => (0, sm::MOUNT_ATTR_NODIRATIME),
        "rnoatime" => (sm::MOUNT_ATTR_NOATIME, ATIME),
        "rstrictatime" => (sm::MOUNT_ATTR_STRICTATIME, ATIME),
        "rrelatime" | "ratime" | "rnorelatime" | "rnostrictatime" => (sm::MOUNT_ATTR_RELATIME, ATIME),
        "rnosymfollow" => (sm::MOUNT_ATTR_NOSYMFOLLOW, 0),
        "rsymfollow" => (0, sm::MOUNT_ATTR_NOSYMFOLLOW),
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
    fn remount_attrs_give_exactly_the_flags() {
        use sm::*;
        let (set, clear) = remount_attrs(p(&["ro", "nosuid", "nodev", "noexec", "relatime"]).flags);
        assert_eq!(set, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
        assert_eq!(clear, MOUNT_ATTR_NOSYMFOLLOW | MOUNT_ATTR_ATIME_MASK | MOUNT_ATTR_NODIRATIME);
        // No atime option: the mount keeps its own mode.
        let (set, clear) = remount_attrs(p(&["nosuid"]).flags);
        assert_eq!(
            (set, clear),
            (MOUNT_ATTR_NOSUID, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NOSYMFOLLOW)
        );
        // strictatime wins over noatime, as in the kernel's path_mount.
        let (set, _) = remount_attrs(p(&["noatime", "strictatime", "nodiratime"]).flags);
        assert_eq!(set, MOUNT_ATTR_STRICTATIME | MOUNT_ATTR_NODIRATIME);
        let (set, clear) = remount_attrs(p(&["noatime"]).flags);
        assert_eq!(set & MOUNT_ATTR_ATIME_MASK, MOUNT_ATTR_NOATIME);
        assert_ne!(clear & MOUNT_ATTR_NODIRATIME, 0);
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
        let o = p(&["rro", "rrw"]);
        assert_eq!((o.rec_set, o.rec_clear), (0, sm::MOUNT_ATTR_RDONLY));
    }

    #[test]
    fn recursive_atime_clears_the_whole_atime_field() {
        let o = p(&["rnoatime"]);
        assert_eq!((o.rec_set, o.rec_clear), (sm::MOUNT_ATTR_NOATIME, sm::MOUNT_ATTR_ATIME_MASK));
        let o = p(&["rnoatime", "rstrictatime"]);
        assert_eq!((o.rec_set, o.rec_clear), (sm::MOUNT_ATTR_STRICTATIME, sm::MOUNT_ATTR_ATIME_MASK));
        let o = p(&["rstrictatime", "ratime"]);
        assert_eq!((o.rec_set, o.rec_clear), (sm::MOUNT_ATTR_RELATIME, sm::MOUNT_ATTR_ATIME_MASK));
    }

    #[test]
    fn nosymfollow_tmpcopyup_and_idmap_are_not_fs_data() {
        let o = p(&["nosymfollow", "tmpcopyup", "ridmap", "x-foo", "size=1m"]);
        assert!(o.flags.contains(MS_NOSYMFOLLOW));
        assert!(o.tmpcopyup);
        assert_eq!(o.idmap, Some(true));
        assert_eq!(o.data().as_deref(), Some("size=1m"));
        assert!(p(&["strictatime"]).has_atime());
        assert!(!p(&["ro"]).has_atime());
    }
}
