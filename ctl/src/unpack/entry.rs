//! Creating one entry of a layer under its (confined) parent fd: regular files
//! (holes kept), directories, symlinks, hard links, device nodes, fifos and
//! whiteouts; then owner, mode, xattrs and times, in the order that keeps
//! setuid bits (chown clears them, so chmod comes after it).

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::sys::stat::{FchmodatFlags, Mode, SFlag, UtimensatFlags};
use nix::sys::time::TimeSpec;
use nix::unistd::{Gid, Uid};
use tar::EntryType;

use super::root::{CleanPath, Root, remove_all};
use super::{OPAQUE_MARKER, WHITEOUT_PREFIX};
use crate::sys::fs::{fsetxattr, openat2};

/// overlayfs's own xattrs are written only from whiteout markers: a layer that
/// carries `trusted.overlay.redirect`/`metacopy` itself could make the mount
/// show files from other layers.
const OVERLAY_XATTR_PREFIX: &str = "trusted.overlay.";
const PAX_XATTR_PREFIX: &str = "SCHILY.xattr.";
/// Holes are found by comparing whole chunks with zeros.
const CHUNK: usize = 64 * 1024;

pub(super) enum Created {
    Dir(u64),
    File(u64),
    Other,
}

pub(super) enum CreateError {
    Sys(&'static str, Errno),
    Read(io::Error),
    Unsupported,
}

fn sys(op: &'static str) -> impl Fn(Errno) -> CreateError {
    move |e| CreateError::Sys(op, e)
}

/// Owner, mode, time and xattrs of an entry, with PAX overrides applied.
pub(super) struct Meta {
    uid: u32,
    gid: u32,
    mode: u32,
    mtime: u64,
    xattrs: Vec<(String, Vec<u8>)>,
}

impl Meta {
    pub(super) fn read<R: Read>(e: &mut tar::Entry<'_, R>) -> io::Result<Meta> {
        let h = e.header();
        let mut m = Meta {
            uid: h.uid().unwrap_or(0) as u32,
            gid: h.gid().unwrap_or(0) as u32,
            mode: h.mode().unwrap_or(0o644) & 0o7777,
            mtime: h.mtime().unwrap_or(0),
            xattrs: Vec::new(),
        };
        if let Some(pax) = e.pax_extensions()? {
            for ext in pax.flatten() {
                let Ok(key) = ext.key() else { continue };
                let num = || ext.value().ok().and_then(|v| v.split('.').next()?.parse::<u64>().ok());
                match key {
                    "uid" => m.uid = num().map_or(m.uid, |v| v as u32),
                    "gid" => m.gid = num().map_or(m.gid, |v| v as u32),
                    "mtime" => m.mtime = num().unwrap_or(m.mtime),
                    k => {
                        if let Some(name) = k.strip_prefix(PAX_XATTR_PREFIX) {
                            m.xattrs.push((name.to_string(), ext.value_bytes().to_vec()));
                        }
                    }
                }
            }
        }
        Ok(m)
    }

    pub(super) fn set_owner(&mut self, uid: u32, gid: u32) {
        (self.uid, self.gid) = (uid, gid);
    }
}

/// Create one entry; on EEXIST the old one is replaced (a directory over a
/// directory is kept and gets the new metadata), as docker's applier does.
pub(super) fn create<R: Read>(
    root: &mut Root,
    path: &CleanPath,
    meta: &Meta,
    kind: EntryType,
    data: &mut tar::Entry<'_, R>,
) -> Result<Created, CreateError> {
    let Some(name) = path.name.as_deref() else {
        // `./` itself: only a directory's metadata applies to the root.
        if kind.is_dir() {
            let fd = root.fd().try_clone_to_owned().map_err(|e| CreateError::Sys("dup", super::root::errno_of(e)))?;
            apply_meta(fd.as_fd(), meta)?;
            return Ok(Created::Dir(meta.mtime));
        }
        return Err(CreateError::Unsupported);
    };
    let link = data.link_name_bytes().map(|l| l.into_owned());
    for attempt in 0..2 {
        let parent = root.parent(&path.parent).map_err(sys("open parent"))?;
        let parent = parent.try_clone_to_owned().map_err(|e| CreateError::Sys("dup", super::root::errno_of(e)))?;
        let r = match kind {
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                regular(parent.as_fd(), name, meta, data).map(Created::File)
            }
            EntryType::Directory => directory(parent.as_fd(), name, meta).map(|()| Created::Dir(meta.mtime)),
            EntryType::Symlink => {
                symlink(parent.as_fd(), name, link.as_deref().unwrap_or_default(), meta).map(|()| Created::Other)
            }
            EntryType::Link => hard_link(root, parent.as_fd(), name, link.as_deref().unwrap_or_default()),
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                node(parent.as_fd(), name, kind, meta, data.header()).map(|()| Created::Other)
            }
            _ => return Err(CreateError::Unsupported),
        };
        match r {
            Err(CreateError::Sys(_, Errno::EEXIST)) if attempt == 0 => {
                root.invalidate();
                remove_all(parent.as_fd(), name).map_err(sys("remove existing"))?;
            }
            r => return r,
        }
    }
    Err(CreateError::Sys("create", Errno::EEXIST))
}

fn regular<R: Read>(parent: BorrowedFd<'_>, name: &OsStr, meta: &Meta, data: &mut R) -> Result<u64, CreateError> {
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW;
    let fd = openat2(parent, Path::new(name), flags, 0o600, 0).map_err(|e| CreateError::Sys("create file", e.errno))?;
    let mut file = File::from(fd);
    let size = write_sparse(&mut file, data)?;
    apply_meta(file.as_fd(), meta)?;
    let t = TimeSpec::new(meta.mtime as i64, 0);
    nix::sys::stat::futimens(file.as_raw_fd(), &t, &t).map_err(sys("set times"))?;
    Ok(size)
}

/// Copy `data` into `file`, seeking over all-zero chunks so that sparse files
/// (and zero-filled ones) take no blocks for their holes.
fn write_sparse<R: Read>(file: &mut File, data: &mut R) -> Result<u64, CreateError> {
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    let mut hole = false;
    loop {
        let n = read_full(data, &mut buf).map_err(CreateError::Read)?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        if chunk.iter().all(|&b| b == 0) {
            file.seek(SeekFrom::Current(n as i64)).map_err(|e| CreateError::Sys("seek", super::root::errno_of(e)))?;
            hole = true;
        } else {
            file.write_all(chunk).map_err(|e| CreateError::Sys("write", super::root::errno_of(e)))?;
            hole = false;
        }
        total += n as u64;
    }
    if hole {
        file.set_len(total).map_err(|e| CreateError::Sys("truncate", super::root::errno_of(e)))?;
    }
    Ok(total)
}

/// Fill `buf` unless the stream ends first; returns how much was read.
pub(crate) fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn directory(parent: BorrowedFd<'_>, name: &OsStr, meta: &Meta) -> Result<(), CreateError> {
    match nix::sys::stat::mkdirat(Some(parent.as_raw_fd()), name, Mode::from_bits_truncate(0o700)) {
        Ok(()) => {}
        // An existing directory stays (its children are kept); anything else is replaced.
        Err(Errno::EEXIST) if open_dir(parent, name).is_ok() => {}
        Err(e) => return Err(CreateError::Sys("mkdir", e)),
    }
    let fd = open_dir(parent, name).map_err(sys("open dir"))?;
    apply_meta(fd.as_fd(), meta)
}

fn open_dir(parent: BorrowedFd<'_>, name: &OsStr) -> Result<OwnedFd, Errno> {
    openat2(parent, Path::new(name), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW, 0, 0).map_err(|e| e.errno)
}

fn symlink(parent: BorrowedFd<'_>, name: &OsStr, target: &[u8], meta: &Meta) -> Result<(), CreateError> {
    use std::os::unix::ffi::OsStrExt;
    nix::unistd::symlinkat(OsStr::from_bytes(target), Some(parent.as_raw_fd()), name).map_err(sys("symlink"))?;
    own_nofollow(parent, name, meta)?;
    let t = TimeSpec::new(meta.mtime as i64, 0);
    nix::sys::stat::utimensat(Some(parent.as_raw_fd()), name, &t, &t, UtimensatFlags::NoFollowSymlink)
        .map_err(sys("set times"))
}

/// A hard link's target is another path of this layer, resolved inside the
/// root like any other: it cannot name a file outside it. linkat without
/// AT_SYMLINK_FOLLOW links a symlink itself, never what it points to.
fn hard_link(root: &mut Root, parent: BorrowedFd<'_>, name: &OsStr, target: &[u8]) -> Result<Created, CreateError> {
    let t = super::root::clean(target).ok_or(CreateError::Sys("link target outside the layer", Errno::EXDEV))?;
    let tname = t.name.ok_or(CreateError::Sys("link to the layer root", Errno::EPERM))?;
    let tparent = root
        .open_dir(&t.parent)
        .map_err(sys("open link target"))?
        .ok_or(CreateError::Sys("open link target", Errno::ENOENT))?;
    nix::unistd::linkat(
        Some(tparent.as_raw_fd()),
        tname.as_os_str(),
        Some(parent.as_raw_fd()),
        name,
        nix::fcntl::AtFlags::empty(),
    )
    .map_err(sys("link"))?;
    Ok(Created::Other)
}

fn node(
    parent: BorrowedFd<'_>,
    name: &OsStr,
    kind: EntryType,
    meta: &Meta,
    h: &tar::Header,
) -> Result<(), CreateError> {
    let sflag = match kind {
        EntryType::Char => SFlag::S_IFCHR,
        EntryType::Block => SFlag::S_IFBLK,
        _ => SFlag::S_IFIFO,
    };
    let major = h.device_major().ok().flatten().unwrap_or(0);
    let minor = h.device_minor().ok().flatten().unwrap_or(0);
    let dev = nix::sys::stat::makedev(u64::from(major), u64::from(minor));
    nix::sys::stat::mknodat(Some(parent.as_raw_fd()), name, sflag, Mode::from_bits_truncate(0o600), dev)
        .map_err(sys("mknod"))?;
    own_nofollow(parent, name, meta)?;
    // The node was just created under this name by us: following it is safe.
    nix::sys::stat::fchmodat(
        Some(parent.as_raw_fd()),
        name,
        Mode::from_bits_truncate(meta.mode),
        FchmodatFlags::FollowSymlink,
    )
    .map_err(sys("chmod"))?;
    let t = TimeSpec::new(meta.mtime as i64, 0);
    nix::sys::stat::utimensat(Some(parent.as_raw_fd()), name, &t, &t, UtimensatFlags::NoFollowSymlink)
        .map_err(sys("set times"))
}

fn own_nofollow(parent: BorrowedFd<'_>, name: &OsStr, meta: &Meta) -> Result<(), CreateError> {
    nix::unistd::fchownat(
        Some(parent.as_raw_fd()),
        name,
        Some(Uid::from_raw(meta.uid)),
        Some(Gid::from_raw(meta.gid)),
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .map_err(sys("chown"))
}

/// chown, then chmod (chown clears setuid/setgid), then xattrs.
fn apply_meta(fd: BorrowedFd<'_>, meta: &Meta) -> Result<(), CreateError> {
    nix::unistd::fchown(fd.as_raw_fd(), Some(Uid::from_raw(meta.uid)), Some(Gid::from_raw(meta.gid)))
        .map_err(sys("chown"))?;
    nix::sys::stat::fchmod(fd.as_raw_fd(), Mode::from_bits_truncate(meta.mode)).map_err(sys("chmod"))?;
    for (name, value) in &meta.xattrs {
        if name.starts_with(OVERLAY_XATTR_PREFIX) {
            tracing::warn!(xattr = %name, "layer sets an overlayfs xattr itself: skipped");
            continue;
        }
        match fsetxattr(fd, name, value, Path::new(name)) {
            Ok(()) => {}
            // The file system does not take this namespace (security.selinux
            // without SELinux): docker skips these too.
            Err(e) if e.errno == Errno::EOPNOTSUPP => {
                tracing::warn!(xattr = %name, "file system does not support this xattr: skipped");
            }
            Err(e) => return Err(CreateError::Sys("set xattr", e.errno)),
        }
    }
    Ok(())
}

/// `.wh.name` → a 0/0 character device `name`; `.wh..wh..opq` → the parent
/// directory marked opaque; other `.wh..wh.` names (AUFS bookkeeping) are skipped.
pub(super) fn whiteout(root: &mut Root, parent: &Path, marker: &str) -> Result<(), Errno> {
    let dir = root.parent(parent)?;
    if marker == OPAQUE_MARKER {
        return fsetxattr(dir, "trusted.overlay.opaque", b"y", parent).map_err(|e| e.errno);
    }
    let name = &marker[WHITEOUT_PREFIX.len()..];
    if name.starts_with(WHITEOUT_PREFIX) {
        return Ok(());
    }
    let dir = dir.try_clone_to_owned().map_err(super::root::errno_of)?;
    let mk = || {
        nix::sys::stat::mknodat(
            Some(dir.as_raw_fd()),
            name,
            SFlag::S_IFCHR,
            Mode::empty(),
            nix::sys::stat::makedev(0, 0),
        )
    };
    match mk() {
        Err(Errno::EEXIST) => {
            root.invalidate();
            remove_all(dir.as_fd(), OsStr::new(name))?;
            mk()
        }
        r => r,
    }
}

pub(super) fn set_dir_time(root: &Root, path: &CleanPath, mtime: u64) -> Result<(), Errno> {
    let full = match &path.name {
        Some(n) => path.parent.join(n),
        None => path.parent.clone(),
    };
    // Replaced by a later entry of another type: nothing to set.
    let fd = match root.open_dir(&full) {
        Ok(Some(fd)) => fd,
        Ok(None) | Err(Errno::ENOTDIR) => return Ok(()),
        Err(e) => return Err(e),
    };
    let t = TimeSpec::new(mtime as i64, 0);
    nix::sys::stat::futimens(fd.as_raw_fd(), &t, &t)
}
