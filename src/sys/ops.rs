//! The test seam of the container's setup: mounts and device nodes
//! ([`MountOps`]), namespaces ([`NsOps`]) and credentials ([`CredOps`]) behind
//! narrow traits. [`Linux`] makes the real calls; the steps of create, init and
//! exec take `&dyn` of these traits, so unit tests pass a [`fake::Recorder`]
//! instead and assert the exact sequence of calls, without root.
//!
//! `&dyn` and not generics: one copy of each step in the binary, and an
//! indirect call costs nothing next to the syscall behind it.

#[cfg(test)]
use std::os::fd::AsRawFd;
use std::os::fd::BorrowedFd;
use std::path::Path;

use nix::errno::Errno;
use nix::mount::MsFlags;
use nix::sched::CloneFlags;
use nix::sys::stat::{Mode, SFlag};
use nix::unistd::{Gid, Uid};

use super::Result;

/// mount(2) and its relatives, and the device nodes made beside them.
pub(crate) trait MountOps {
    /// mount(2). `target` is usually `/proc/self/fd/N` of an opened target.
    fn mount(
        &self,
        src: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: MsFlags,
        data: Option<&str>,
    ) -> std::result::Result<(), Errno>;
    /// move_mount(2) of a detached tree onto an opened target.
    fn move_mount(&self, tree: BorrowedFd<'_>, target: BorrowedFd<'_>) -> Result<()>;
    /// mount_setattr(2) on the mount at `target`, with AT_RECURSIVE when `recursive`.
    fn mount_setattr(&self, target: &Path, set: u64, clear: u64, recursive: bool) -> Result<()>;
    /// mknod(2) of a device node at `path`.
    fn mknod(&self, path: &Path, kind: SFlag, mode: Mode, dev: u64) -> std::result::Result<(), Errno>;
    /// lchown(2) (`fchownat` with AT_SYMLINK_NOFOLLOW).
    fn lchown(&self, path: &Path, uid: Uid, gid: Gid) -> std::result::Result<(), Errno>;
}

/// setns(2) and unshare(2).
pub(crate) trait NsOps {
    fn setns(&self, fd: BorrowedFd<'_>, nstype: CloneFlags) -> std::result::Result<(), Errno>;
    fn unshare(&self, flags: CloneFlags) -> std::result::Result<(), Errno>;
}

/// The process's ids.
pub(crate) trait CredOps {
    fn setgroups(&self, groups: &[Gid]) -> std::result::Result<(), Errno>;
    fn setresgid(&self, gid: Gid) -> std::result::Result<(), Errno>;
    fn setresuid(&self, uid: Uid) -> std::result::Result<(), Errno>;
}

/// The real calls.
pub(crate) struct Linux;

impl MountOps for Linux {
    fn mount(
        &self,
        src: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: MsFlags,
        data: Option<&str>,
    ) -> std::result::Result<(), Errno> {
        nix::mount::mount(src, target, fstype, flags, data)
    }

    fn move_mount(&self, tree: BorrowedFd<'_>, target: BorrowedFd<'_>) -> Result<()> {
        super::mount::move_mount_to(tree, target)
    }

    fn mount_setattr(&self, target: &Path, set: u64, clear: u64, recursive: bool) -> Result<()> {
        super::mount::mount_setattr(target, set, clear, recursive)
    }

    fn mknod(&self, path: &Path, kind: SFlag, mode: Mode, dev: u64) -> std::result::Result<(), Errno> {
        nix::sys::stat::mknod(path, kind, mode, dev)
    }

    fn lchown(&self, path: &Path, uid: Uid, gid: Gid) -> std::result::Result<(), Errno> {
        nix::unistd::fchownat(None, path, Some(uid), Some(gid), nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW)
    }
}

impl NsOps for Linux {
    fn setns(&self, fd: BorrowedFd<'_>, nstype: CloneFlags) -> std::result::Result<(), Errno> {
        nix::sched::setns(fd, nstype)
    }

    fn unshare(&self, flags: CloneFlags) -> std::result::Result<(), Errno> {
        nix::sched::unshare(flags)
    }
}

impl CredOps for Linux {
    fn setgroups(&self, groups: &[Gid]) -> std::result::Result<(), Errno> {
        nix::unistd::setgroups(groups)
    }

    fn setresgid(&self, gid: Gid) -> std::result::Result<(), Errno> {
        nix::unistd::setresgid(gid, gid, gid)
    }

    fn setresuid(&self, uid: Uid) -> std::result::Result<(), Errno> {
        nix::unistd::setresuid(uid, uid, uid)
    }
}

/// What `/proc/self/fd/N` (or an fd) stands for, for the recording: the path the
/// kernel reports for it, else the name as given.
#[cfg(test)]
fn resolve(p: &Path) -> std::path::PathBuf {
    std::fs::read_link(p).unwrap_or_else(|_| p.to_path_buf())
}

#[cfg(test)]
fn fd_path(fd: BorrowedFd<'_>) -> std::path::PathBuf {
    resolve(&Path::new("/proc/self/fd").join(fd.as_raw_fd().to_string()))
}

/// A recording fake of every trait, for unit tests.
#[cfg(test)]
pub(crate) mod fake {
    use std::cell::RefCell;
    use std::path::{Path, PathBuf};

    use super::*;

    /// One recorded call. Paths are what the kernel would have acted on
    /// (`/proc/self/fd/N` resolved to the file it names).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(crate) enum Call {
        Mount { src: Option<PathBuf>, target: PathBuf, fstype: Option<String>, flags: MsFlags, data: Option<String> },
        MoveMount { target: PathBuf },
        SetAttr { target: PathBuf, set: u64, clear: u64, recursive: bool },
        Mknod { path: PathBuf, kind: SFlag, dev: u64 },
        Lchown { path: PathBuf },
        Setns { ns: PathBuf, nstype: CloneFlags },
        Unshare(CloneFlags),
        Setgroups(Vec<u32>),
        Setresgid(u32),
        Setresuid(u32),
    }

    /// Records every call, in order, and makes none: each succeeds, except a
    /// mount onto a target listed in `fail_mounts`, which fails with EPERM, and
    /// every mount_setattr when `fail_setattr` names an errno.
    #[derive(Default)]
    pub(crate) struct Recorder {
        pub calls: RefCell<Vec<Call>>,
        pub fail_mounts: Vec<PathBuf>,
        pub fail_setattr: Option<Errno>,
    }

    impl Recorder {
        pub fn calls(&self) -> Vec<Call> {
            self.calls.borrow().clone()
        }

        /// The recorded calls with `root` cut off their paths (and kept only
        /// those under it, or not paths at all), for assertions on a temp rootfs.
        pub fn under(&self, root: &Path) -> Vec<Call> {
            let cut = |p: &PathBuf| p.strip_prefix(root).map(|r| Path::new("/").join(r)).unwrap_or(p.clone());
            self.calls()
                .into_iter()
                .map(|c| match c {
                    Call::Mount { src, target, fstype, flags, data } => {
                        Call::Mount { src: src.as_ref().map(cut), target: cut(&target), fstype, flags, data }
                    }
                    Call::MoveMount { target } => Call::MoveMount { target: cut(&target) },
                    Call::SetAttr { target, set, clear, recursive } => {
                        Call::SetAttr { target: cut(&target), set, clear, recursive }
                    }
                    Call::Mknod { path, kind, dev } => Call::Mknod { path: cut(&path), kind, dev },
                    Call::Lchown { path } => Call::Lchown { path: cut(&path) },
                    other => other,
                })
                .collect()
        }

        fn push(&self, c: Call) {
            self.calls.borrow_mut().push(c);
        }
    }

    impl MountOps for Recorder {
        fn mount(
            &self,
            src: Option<&Path>,
            target: &Path,
            fstype: Option<&str>,
            flags: MsFlags,
            data: Option<&str>,
        ) -> std::result::Result<(), Errno> {
            let target = resolve(target);
            let fail = self.fail_mounts.contains(&target);
            self.push(Call::Mount {
                src: src.map(resolve),
                target,
                fstype: fstype.map(str::to_string),
                flags,
                data: data.map(str::to_string),
            });
            if fail { Err(Errno::EPERM) } else { Ok(()) }
        }

        fn move_mount(&self, _tree: BorrowedFd<'_>, target: BorrowedFd<'_>) -> Result<()> {
            self.push(Call::MoveMount { target: fd_path(target) });
            Ok(())
        }

        fn mount_setattr(&self, target: &Path, set: u64, clear: u64, recursive: bool) -> Result<()> {
            self.push(Call::SetAttr { target: resolve(target), set, clear, recursive });
            match self.fail_setattr {
                Some(e) => Err(crate::sys::Error::new("mount_setattr", e)),
                None => Ok(()),
            }
        }

        fn mknod(&self, path: &Path, kind: SFlag, _mode: Mode, dev: u64) -> std::result::Result<(), Errno> {
            // The path's parent is `/proc/self/fd/N`: resolve that, keep the name.
            let parent = path.parent().map(resolve).unwrap_or_default();
            let path = parent.join(path.file_name().unwrap_or_default());
            self.push(Call::Mknod { path, kind, dev });
            Ok(())
        }

        fn lchown(&self, path: &Path, _uid: Uid, _gid: Gid) -> std::result::Result<(), Errno> {
            let parent = path.parent().map(resolve).unwrap_or_default();
            self.push(Call::Lchown { path: parent.join(path.file_name().unwrap_or_default()) });
            Ok(())
        }
    }

    impl NsOps for Recorder {
        fn setns(&self, fd: BorrowedFd<'_>, nstype: CloneFlags) -> std::result::Result<(), Errno> {
            self.push(Call::Setns { ns: fd_path(fd), nstype });
            Ok(())
        }

        fn unshare(&self, flags: CloneFlags) -> std::result::Result<(), Errno> {
            self.push(Call::Unshare(flags));
            Ok(())
        }
    }

    impl CredOps for Recorder {
        fn setgroups(&self, groups: &[Gid]) -> std::result::Result<(), Errno> {
            self.push(Call::Setgroups(groups.iter().map(|g| g.as_raw()).collect()));
            Ok(())
        }

        fn setresgid(&self, gid: Gid) -> std::result::Result<(), Errno> {
            self.push(Call::Setresgid(gid.as_raw()));
            Ok(())
        }

        fn setresuid(&self, uid: Uid) -> std::result::Result<(), Errno> {
            self.push(Call::Setresuid(uid.as_raw()));
            Ok(())
        }
    }
}
