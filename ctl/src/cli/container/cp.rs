//! `cp`, both ways, with docker's path rules (moby pkg/archive/copy.go
//! `PrepareArchiveCopy`, docker/cli `cp`): a file onto a file or into a
//! directory, a directory into a directory or as a new one, `SRC/.` for a
//! directory's contents, `-` for a tar on stdin/stdout, `-L` to follow a
//! symlink at SRC, `-a` to keep owners going in.
//!
//! Both sides go through a tar stream over a pipe: `pack` reads the source
//! (through fds, never following a link) and `unpack` writes the
//! destination. Inside the container both resolve every path with openat2
//! `RESOLVE_IN_ROOT` in its root (`container::fsview`), so a link such as
//! `/etc/x -> /../../../../etc/shadow` means the container's /etc/shadow,
//! never the host's.

use std::ffi::{OsStr, OsString};
use std::io::{self, IsTerminal, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};

use crate::config::Config;
use crate::container::fsview::{self, Access, Located};
use crate::container::lifecycle;
use crate::container::record::Container;
use crate::container::store::Store;
use crate::pack::{self, PackOptions};
use crate::unpack::{self, UnpackOptions};

use super::commit::daemon_error;

#[derive(Debug, clap::Args)]
pub(crate) struct CpArgs {
    /// Archive mode (copy all uid/gid information)
    #[arg(short = 'a', long)]
    pub archive: bool,
    /// Always follow symbol link in SRC_PATH
    #[arg(short = 'L', long = "follow-link")]
    pub follow_link: bool,
    /// Suppress progress output during copy
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// CONTAINER:SRC_PATH or SRC_PATH|-
    pub src: String,
    /// DEST_PATH|- or CONTAINER:DEST_PATH
    pub dest: String,
}

/// A failure docker reports from its daemon ("Error response from daemon: …").
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct DaemonError(String);

fn not_found(path: &str, container: &str) -> anyhow::Error {
    DaemonError(format!("Could not find the file {path} in container {container}")).into()
}

/// docker/cli `splitCpArg`: an absolute path or one starting with `.` is
/// local; otherwise `NAME:PATH` names a container.
fn split(arg: &str) -> (Option<&str>, &str) {
    if arg.starts_with('/') {
        return (None, arg);
    }
    match arg.split_once(':') {
        Some((c, p)) if !c.starts_with('.') => (Some(c), p),
        _ => (None, arg),
    }
}

pub(crate) fn run(config: &Config, a: &CpArgs) -> anyhow::Result<i32> {
    let result = match (split(&a.src), split(&a.dest)) {
        ((Some(_), _), (Some(_), _)) => Err(anyhow!("copying between containers is not supported")),
        ((None, _), (None, _)) => Err(anyhow!("must specify at least one container source")),
        // `NAME:` names no path: docker 20.10's daemon refuses it going out
        // (its words, run together as it prints them), its client going in.
        ((Some(_), ""), (None, _)) => Err(DaemonError("bad parameter: pathcannot be empty".into()).into()),
        ((None, src), (Some(_), "")) if src != "-" => Err(anyhow!("no such directory")),
        ((Some(c), src), (None, dest)) => copy_out(config, a, c, src, dest),
        ((None, src), (Some(c), dest)) => copy_in(config, a, c, src, dest),
    };
    match result {
        Ok(()) => Ok(0),
        // A reader that went away (`| head`) is not an error worth a line.
        Err(e) if is_broken_pipe(&e) => Ok(0),
        Err(e) if e.is::<DaemonError>() || e.is::<crate::container::store::StoreError>() => Ok(daemon_error(&e)),
        Err(e) => {
            eprintln!("{}", super::message(&e));
            Ok(1)
        }
    }
}

pub(crate) fn is_broken_pipe(e: &anyhow::Error) -> bool {
    matches!(e.downcast_ref::<pack::PackError>(), Some(pack::PackError::Write(w)) if w.kind() == io::ErrorKind::BrokenPipe)
}

fn lookup(config: &Config, name: &str) -> anyhow::Result<Container> {
    let mut store = Store::open(&config.data_root)?;
    lifecycle::lookup(config, &mut store, name)
}

/// Where an archive is extracted and the name its top entry takes there.
struct Plan {
    dir: PathBuf,
    name: PathBuf,
}

/// `PrepareArchiveCopy`: `src_dir`/`src_name` describe the source (its
/// base name, `.` for a directory's contents); `dest` is the destination as
/// given, `exists`/`is_dir` what is there.
fn plan(src_dir: bool, src_name: &Path, dest: &Path, exists: bool, is_dir: bool) -> Result<Plan, String> {
    let dest_s = dest.as_os_str().as_bytes();
    let asserts_dir = dest_s.ends_with(b"/") || dest_s.ends_with(b"/.");
    let base = dest.file_name().map(PathBuf::from).unwrap_or_else(|| src_name.to_path_buf());
    let parent = dest.parent().map(Path::to_path_buf).filter(|p| !p.as_os_str().is_empty());
    let parent = parent.unwrap_or_else(|| PathBuf::from("."));
    match (exists, is_dir) {
        (true, true) => Ok(Plan { dir: dest.to_path_buf(), name: src_name.to_path_buf() }),
        (true, false) if src_dir => Err("cannot copy directory".into()),
        (false, _) if !src_dir && asserts_dir => Err("no such directory".into()),
        _ => Ok(Plan { dir: parent, name: base }),
    }
}

/// The top entry's name of a source as typed: `.` for `dir/.` (contents),
/// else its base name.
fn source_name(typed: &str, path: &Path) -> PathBuf {
    if typed.ends_with("/.") || typed == "." {
        return PathBuf::from(".");
    }
    path.file_name().map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."))
}

// ----------------------------------------------------------------- out

fn copy_out(config: &Config, a: &CpArgs, name: &str, src: &str, dest: &str) -> anyhow::Result<()> {
    let local = if dest == "-" { None } else { Some(local_dest(dest)?) };
    let c = lookup(config, name)?;
    let opts = PackOptions::default();
    let copied = fsview::with_root(config, &c, Access::Read, |root| -> anyhow::Result<u64> {
        let found = fsview::locate(root, Path::new(src), false).map_err(|_| not_found(src, name))?;
        let found = match a.follow_link && found.is_symlink() {
            true => fsview::locate(root, Path::new(src), true).map_err(|_| not_found(src, name))?,
            false => found,
        };
        if found.stat.is_none() {
            return Err(not_found(src, name));
        }
        if src.ends_with('/') && !found.is_dir() {
            return Err(DaemonError(format!("{src}: not a directory")).into());
        }
        let src_name = source_name(src, Path::new(&fsview::clean(Path::new(src))));
        let Some((dest, exists, is_dir)) = &local else {
            // docker/cli writes the daemon's archive of the link's target as
            // it comes: named after the target (the rename is for local copies).
            let src_name = if a.follow_link { source_name(src, &found.path) } else { src_name };
            let mut out = Counting::new(io::BufWriter::with_capacity(256 * 1024, io::stdout().lock()));
            pack::pack_entry(found.parent.as_fd(), &found.name, &src_name, &mut out, &opts)?;
            return Ok(out.n);
        };
        let p = plan(found.is_dir(), &src_name, dest, *exists, *is_dir).map_err(|e| anyhow!(e))?;
        let (uid, gid) = (nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw());
        let target = std::fs::File::open(&p.dir).with_context(|| format!("open {:?}", p.dir))?;
        let uopts = UnpackOptions { literal_names: true, owner: Some((uid, gid)) };
        stream(&found.parent, &found.name, &p.name, &opts, target.as_fd(), &uopts)
    })??;
    progress(a, copied, dest);
    Ok(())
}

/// The local destination: docker/cli's `ValidateOutputPath` (its directory
/// must exist), then what is there (symlinks followed, as
/// `CopyInfoDestinationPath`).
fn local_dest(dest: &str) -> anyhow::Result<(PathBuf, bool, bool)> {
    let path = PathBuf::from(dest);
    let dir = fsview::clean(&path);
    let dir =
        if path.is_absolute() { dir.parent().map(Path::to_path_buf) } else { path.parent().map(Path::to_path_buf) };
    if let Some(d) = dir.filter(|d| !d.as_os_str().is_empty())
        && !d.exists()
    {
        bail!("invalid output path: directory {:?} does not exist", d);
    }
    resolve_dest_links(path)
}

/// docker's `CopyInfoDestinationPath`: a symlink at DEST is followed (up to
/// 10 links, relative targets joined to the link's directory), so the copy
/// writes its target, and a dangling link's target is created (its
/// directory must exist); the link itself stays. Returns the path to write,
/// whether it exists, and whether it is a directory.
fn resolve_dest_links(mut path: PathBuf) -> anyhow::Result<(PathBuf, bool, bool)> {
    let original = path.clone();
    let mut hops = 0;
    loop {
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => {
                hops += 1;
                if hops > 10 {
                    bail!("too many symlinks in {}", original.display());
                }
                let target = std::fs::read_link(&path).with_context(|| format!("readlink {}", path.display()))?;
                path = match path.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                };
            }
            Ok(m) => return Ok((path, true, m.is_dir())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
                match std::fs::metadata(parent) {
                    Ok(m) if m.is_dir() => return Ok((path, false, false)),
                    Ok(_) => bail!("{}: not a directory", parent.display()),
                    Err(e) => bail!("stat {}: {}", parent.display(), io_text(&e)),
                }
            }
            Err(e) => bail!("lstat {}: {}", path.display(), io_text(&e)),
        }
    }
}

// ----------------------------------------------------------------- in

fn copy_in(config: &Config, a: &CpArgs, name: &str, src: &str, dest: &str) -> anyhow::Result<()> {
    let source = if src == "-" { None } else { Some(local_source(src, a.follow_link)?) };
    let c = lookup(config, name)?;
    // Without -a everything belongs to the container's root (docker's ChownOpts).
    let owner = if a.archive { None } else { Some((0, 0)) };
    let uopts = UnpackOptions { literal_names: true, owner };
    let copied = fsview::with_root(config, &c, Access::Write, |root| -> anyhow::Result<u64> {
        let followed = fsview::follow_path(root, Path::new(dest));
        let target = fsview::locate(root, &followed, false);
        let Some((parent, src_name, src_is_dir)) = &source else {
            // A tar on stdin goes into DEST, which must be a directory.
            let t = target
                .ok()
                .filter(Located::is_dir)
                .ok_or_else(|| anyhow!("destination \"{name}:{dest}\" must be a directory"))?;
            let dir = open_located_dir(&t)?;
            let mut input = Counting::new(io::stdin().lock());
            unpack::unpack_with(&mut input, &fd_path(&dir), &uopts)?;
            return Ok(input.n);
        };
        let (exists, is_dir) = match &target {
            Ok(t) => (t.stat.is_some(), t.is_dir()),
            Err(_) => (false, false),
        };
        // A symlink at DEST is followed inside the container (docker's LinkTarget).
        let dest_path = if followed != fsview::clean(Path::new(dest)) { followed } else { PathBuf::from(dest) };
        let p = plan(*src_is_dir, src_name, &dest_path, exists, is_dir).map_err(|e| anyhow!(e))?;
        let dir_path = p.dir.to_string_lossy().into_owned();
        let dir = fsview::locate(root, &p.dir, true)
            .ok()
            .filter(Located::is_dir)
            .ok_or_else(|| not_found(&dir_path, name))
            .and_then(|d| open_located_dir(&d))?;
        let (sparent, sname) = parent;
        stream(sparent, sname, &p.name, &PackOptions::default(), dir.as_fd(), &uopts)
    })??;
    progress(a, copied, &format!("{name}:{dest}"));
    Ok(())
}

/// The local source: lstat (stat with -L), its parent opened, its name and
/// the name its entry takes (`CopyInfoSourcePath`).
type Source = ((OwnedFd, OsString), PathBuf, bool);

fn local_source(src: &str, follow: bool) -> anyhow::Result<Source> {
    // `dir/.` is the directory itself (its contents are what goes); a
    // trailing `/` names the same entry.
    let entry = match src.strip_suffix("/.") {
        Some(e) => e,
        None => src.trim_end_matches('/'),
    };
    let abs = std::path::absolute(if entry.is_empty() { "/" } else { entry })?;
    let target = if follow { std::fs::canonicalize(&abs).unwrap_or_else(|_| abs.clone()) } else { abs.clone() };
    let meta = std::fs::symlink_metadata(&target).map_err(|e| anyhow!("lstat {}: {}", abs.display(), io_text(&e)))?;
    let name = target.file_name().map(OsStr::to_os_string).unwrap_or_else(|| ".".into());
    let parent_path = target.parent().unwrap_or(Path::new("/"));
    let parent: OwnedFd = std::fs::File::open(parent_path).with_context(|| format!("open {parent_path:?}"))?.into();
    Ok(((parent, name), source_name(src, &abs), meta.is_dir()))
}

/// The text of an OS error without Rust's "(os error N)".
fn io_text(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => nix::errno::Errno::from_raw(n).desc().to_lowercase(),
        None => e.to_string(),
    }
}

// ----------------------------------------------------------------- both

fn open_located_dir(l: &Located) -> anyhow::Result<OwnedFd> {
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW;
    crate::sys::fs::openat2(l.parent.as_fd(), Path::new(&l.name), flags, 0, 0)
        .map_err(|e| anyhow!("open {:?}: {e}", l.path))
}

/// The path through which `unpack` opens a directory fd (`Root::open`).
fn fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// Pack `name` in `parent` as `as_name` and unpack it into `into`, through
/// a pipe (the two ends on two threads). Returns the bytes of tar moved.
fn stream(
    parent: &OwnedFd,
    name: &OsStr,
    as_name: &Path,
    opts: &PackOptions,
    into: BorrowedFd<'_>,
    uopts: &UnpackOptions,
) -> anyhow::Result<u64> {
    let into = into.try_clone_to_owned()?;
    let (mut reader, writer) = io::pipe()?;
    std::thread::scope(|s| {
        let producer = s.spawn(move || {
            let mut out = Counting::new(io::BufWriter::with_capacity(256 * 1024, writer));
            pack::pack_entry(parent.as_fd(), name, as_name, &mut out, opts).map(|_| out.n)
        });
        let unpacked = unpack::unpack_with(&mut reader, &fd_path(&into), uopts)
            .and_then(|_| io::copy(&mut reader, &mut io::sink()).map_err(unpack::UnpackError::Read));
        drop(reader);
        let produced = producer.join().map_err(|_| anyhow!("archive thread panicked"))?;
        match (produced, unpacked) {
            (Err(pack::PackError::Write(e)), Err(u)) if e.kind() == io::ErrorKind::BrokenPipe => Err(u.into()),
            (Err(p), _) => Err(p.into()),
            (Ok(_), Err(u)) => Err(u.into()),
            (Ok(n), Ok(_)) => Ok(n),
        }
    })
}

/// docker's "Successfully copied 2.05kB to DEST", on a terminal only.
fn progress(a: &CpArgs, bytes: u64, dest: &str) {
    if !a.quiet && io::stderr().is_terminal() && dest != "-" {
        eprintln!("Successfully copied {} to {dest}", crate::format::units::human_size(bytes));
    }
}

/// Counts what passes through.
struct Counting<T> {
    inner: T,
    n: u64,
}

impl<T> Counting<T> {
    fn new(inner: T) -> Self {
        Counting { inner, n: 0 }
    }
}

impl<T: Write> Write for Counting<T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<T: Read> Read for Counting<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_args_split_as_docker() {
        assert_eq!(split("c:/etc"), (Some("c"), "/etc"));
        assert_eq!(split("/abs:x"), (None, "/abs:x"));
        assert_eq!(split("./rel:x"), (None, "./rel:x"));
        assert_eq!(split("file"), (None, "file"));
        assert_eq!(split("-"), (None, "-"));
    }

    #[test]
    fn a_link_at_the_local_destination_is_followed_as_docker() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path();
        std::fs::create_dir(dir.join("sub")).unwrap();
        std::os::unix::fs::symlink(dir.join("nowhere"), dir.join("dang")).unwrap();
        std::os::unix::fs::symlink("sub", dir.join("rel")).unwrap();
        std::os::unix::fs::symlink("loop", dir.join("loop")).unwrap();
        std::os::unix::fs::symlink("/no/such/dir/x", dir.join("deep")).unwrap();
        // A dangling link: its target is what gets written.
        assert_eq!(resolve_dest_links(dir.join("dang")).unwrap(), (dir.join("nowhere"), false, false));
        // A relative link to a directory: the directory, joined to the link's.
        assert_eq!(resolve_dest_links(dir.join("rel")).unwrap(), (dir.join("sub"), true, true));
        let err = resolve_dest_links(dir.join("loop")).unwrap_err().to_string();
        assert!(err.starts_with("too many symlinks in "), "{err}");
        let err = resolve_dest_links(dir.join("deep")).unwrap_err().to_string();
        assert_eq!(err, "stat /no/such/dir: no such file or directory");
    }

    #[test]
    fn plans_follow_prepare_archive_copy() {
        let p = |sd, sn: &str, d: &str, e, id| plan(sd, Path::new(sn), Path::new(d), e, id);
        // Into an existing directory, under the source's name.
        let x = p(false, "hosts", "/tmp", true, true).unwrap();
        assert_eq!((x.dir, x.name), (PathBuf::from("/tmp"), PathBuf::from("hosts")));
        // Onto a new or existing file: renamed in its parent.
        let x = p(false, "hosts", "/tmp/h2", false, false).unwrap();
        assert_eq!((x.dir, x.name), (PathBuf::from("/tmp"), PathBuf::from("h2")));
        // A directory as a new one: its contents under the new name.
        let x = p(true, "etc", "/tmp/e2", false, false).unwrap();
        assert_eq!((x.dir, x.name), (PathBuf::from("/tmp"), PathBuf::from("e2")));
        // dir/. into an existing directory: contents.
        let x = p(true, ".", "/tmp", true, true).unwrap();
        assert_eq!(x.name, PathBuf::from("."));
        assert_eq!(p(true, "etc", "/tmp/f", true, false).err().unwrap(), "cannot copy directory");
        assert_eq!(p(false, "hosts", "/tmp/nodir/", false, false).err().unwrap(), "no such directory");
        assert_eq!(source_name("/etc/.", Path::new("/etc")), PathBuf::from("."));
        assert_eq!(source_name("/etc/hosts", Path::new("/etc/hosts")), PathBuf::from("hosts"));
    }
}
