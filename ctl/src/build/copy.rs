//! COPY and ADD: the sources (context paths with `.dockerignore` applied,
//! wildcards as Go's `filepath.Match`, another stage's or image's files,
//! heredocs, ADD's URLs and local archives), their checksum for the cache
//! (names, kinds, modes, owners, sizes, contents and link targets — not
//! times, as docker's), and a tar of what the step writes, laid out at its
//! destination with docker's rules (a trailing `/` or an existing directory
//! takes the source's name; a directory's contents are copied, not the
//! directory; missing parents are made 0755). The tar is applied to the
//! step's rootfs by `unpack`, whose openat2-confined creation keeps every
//! path inside it whatever symlinks the image holds.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest as _, Sha256};

use super::BuildError;
use super::ignore::{self, Matcher};

/// Where a COPY reads from: the context (with its ignore rules) or the
/// root of another stage's or image's filesystem.
pub(crate) struct Scope<'a> {
    pub root: &'a Path,
    pub ignore: Option<&'a Matcher>,
    /// Names `--from=` in errors (None for the context).
    pub from: Option<&'a str>,
}

#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// A file or directory (its contents are copied) on the host.
    Path { path: PathBuf, rel: String, is_dir: bool },
    /// A heredoc or a downloaded URL: one file.
    Data { name: String, data: Vec<u8>, mode: u32, mtime: u64 },
}

fn copy_err(what: &str, message: String) -> BuildError {
    BuildError::Step(format!("{what} failed: {message}"))
}

/// Whether docker treats the source as a pattern.
fn has_wildcards(s: &str) -> bool {
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '*' | '?' | '[' => return true,
            _ => {}
        }
    }
    false
}

/// The sources one argument of COPY/ADD names in `scope`.
pub(crate) fn collect(scope: &Scope<'_>, src: &str, what: &str) -> Result<Vec<Source>, BuildError> {
    let rel = ignore::clean(src.trim_start_matches('/'));
    if rel == ".." || rel.starts_with("../") {
        return Err(copy_err(what, format!("forbidden path outside the build context: {src} ()")));
    }
    if has_wildcards(&rel) {
        let pattern = ignore::Glob::new(&rel).map_err(|_| copy_err(what, format!("bad pattern {src:?}")))?;
        let mut out = Vec::new();
        walk(scope, Path::new(""), &mut |rel_path, path, is_dir| {
            if pattern.matches(rel_path) {
                out.push(Source::Path { path: path.to_path_buf(), rel: rel_path.to_string(), is_dir });
            }
        })?;
        if out.is_empty() {
            return Err(copy_err(what, "no source files were specified".into()));
        }
        return Ok(out);
    }
    let excluded = scope.ignore.is_some_and(|m| rel != "." && m.matches(&rel));
    let resolved = resolve_in_scope(scope.root, &rel);
    let meta = resolved.as_ref().ok().and_then(|p| std::fs::metadata(p).ok());
    match (meta, excluded) {
        (Some(m), false) => Ok(vec![Source::Path { path: resolved.unwrap_or_default(), rel, is_dir: m.is_dir() }]),
        _ => Err(copy_err(
            what,
            match scope.from {
                None => format!(
                    "file not found in build context or excluded by .dockerignore: stat {rel}: file does not exist"
                ),
                Some(_) => format!("stat {}: file does not exist", Path::new("/").join(&rel).display()),
            },
        )),
    }
}

/// docker's `FollowSymlinkInScope`: resolve `rel` inside `root`, symlinks
/// included, never leaving it.
pub(crate) fn resolve_in_scope(root: &Path, rel: &str) -> io::Result<PathBuf> {
    let mut done = PathBuf::new();
    let mut todo: Vec<String> = rel.split('/').rev().map(str::to_string).collect();
    let mut hops = 0;
    while let Some(part) = todo.pop() {
        match part.as_str() {
            "" | "." => continue,
            ".." => {
                done.pop();
                continue;
            }
            _ => {}
        }
        let candidate = done.join(&part);
        match std::fs::symlink_metadata(root.join(&candidate)) {
            Ok(m) if m.file_type().is_symlink() => {
                hops += 1;
                if hops > 40 {
                    return Err(io::Error::from_raw_os_error(libc::ELOOP));
                }
                let target = std::fs::read_link(root.join(&candidate))?;
                let t = target.to_string_lossy().into_owned();
                if t.starts_with('/') {
                    done = PathBuf::new();
                }
                todo.extend(t.split('/').rev().map(str::to_string));
            }
            _ => done = candidate,
        }
    }
    Ok(root.join(done))
}

/// Walk `scope` below `rel` in name order: `f(rel_path, host_path, is_dir)`
/// for each entry not excluded; excluded directories are still entered when
/// an exception pattern could bring something back, as docker does.
fn walk(scope: &Scope<'_>, rel: &Path, f: &mut dyn FnMut(&str, &Path, bool)) -> Result<(), BuildError> {
    let dir = scope.root.join(rel);
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .map_err(|source| BuildError::Io { op: "read directory", path: dir.clone(), source })?
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    names.sort();
    for name in names {
        let r = rel.join(&name);
        let r_str = r.to_string_lossy().into_owned();
        let path = scope.root.join(&r);
        let is_dir = std::fs::symlink_metadata(&path).map(|m| m.is_dir()).unwrap_or(false);
        let excluded = scope.ignore.is_some_and(|m| m.matches(&r_str));
        if !excluded {
            f(&r_str, &path, is_dir);
        }
        if is_dir && (!excluded || scope.ignore.is_some_and(Matcher::has_exclusions)) {
            walk(scope, &r, f)?;
        }
    }
    Ok(())
}

/// One file system entry to copy, relative to its source.
struct Item {
    /// Path below the source (`""` for a file source itself).
    rel: PathBuf,
    path: PathBuf,
    meta: std::fs::Metadata,
}

/// The entries of a path source, sorted, excluded ones left out.
fn items(scope: &Scope<'_>, src: &Source) -> Result<Vec<Item>, BuildError> {
    let Source::Path { path, rel, is_dir } = src else { return Ok(vec![]) };
    let meta =
        |p: &Path| std::fs::symlink_metadata(p).map_err(|source| BuildError::Io { op: "stat", path: p.into(), source });
    if !is_dir {
        return Ok(vec![Item {
            rel: PathBuf::new(),
            path: path.clone(),
            meta: std::fs::metadata(path).map_err(|source| BuildError::Io {
                op: "stat",
                path: path.clone(),
                source,
            })?,
        }]);
    }
    let mut out = Vec::new();
    // Entries below a directory source are walked from the resolved path;
    // ignore rules are matched against their context-relative names.
    let sub = Scope { root: path, ignore: None, from: scope.from };
    let prefix = if rel == "." { String::new() } else { format!("{rel}/") };
    let mut err = None;
    walk(&sub, Path::new(""), &mut |r, p, _| {
        if scope.ignore.is_some_and(|m| m.matches(&format!("{prefix}{r}"))) {
            return;
        }
        match meta(p) {
            Ok(m) => out.push(Item { rel: PathBuf::from(r), path: p.to_path_buf(), meta: m }),
            Err(e) => err = Some(e),
        }
    })?;
    if let Some(e) = err {
        return Err(e);
    }
    Ok(out)
}

/// The checksum docker's cache compares: every copied entry's name, kind,
/// mode, owner, size, content and link target; times are left out.
pub(crate) fn checksum(scope: &Scope<'_>, sources: &[Source]) -> Result<String, BuildError> {
    let mut h = Sha256::new();
    for src in sources {
        match src {
            Source::Data { name, data, mode, .. } => {
                h.update(format!("data\0{name}\0{mode:o}\0{}\0", data.len()));
                h.update(data);
            }
            Source::Path { rel, is_dir, .. } => {
                h.update(format!("path\0{rel}\0{is_dir}\0"));
                for item in items(scope, src)? {
                    hash_item(&mut h, &item)?;
                }
            }
        }
    }
    Ok(format!("{:x}", h.finalize()))
}

fn hash_item(h: &mut Sha256, item: &Item) -> Result<(), BuildError> {
    let m = &item.meta;
    h.update(format!("{}\0{:o}\0{}\0{}\0{}\0", item.rel.display(), m.mode(), m.uid(), m.gid(), m.len()));
    if m.file_type().is_symlink() {
        let t = std::fs::read_link(&item.path).map_err(|source| BuildError::Io {
            op: "read link",
            path: item.path.clone(),
            source,
        })?;
        h.update(t.to_string_lossy().as_bytes());
    } else if m.is_file() {
        let mut f =
            File::open(&item.path).map_err(|source| BuildError::Io { op: "open", path: item.path.clone(), source })?;
        io::copy(&mut f, h).map_err(|source| BuildError::Io { op: "read", path: item.path.clone(), source })?;
    }
    h.update(b"\n");
    Ok(())
}

/// How entries are owned and moded at the destination.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Owner {
    pub uid: u32,
    pub gid: u32,
    /// `--chmod`: replaces the permission bits of files and directories.
    pub chmod: Option<u32>,
}

/// Where one COPY writes: the absolute destination and whether it names a
/// directory.
#[derive(Debug, Clone)]
pub(crate) struct Dest {
    pub path: PathBuf,
    pub is_dir: bool,
}

/// docker's destination rule: relative to WORKDIR, a trailing `/` (or `.`)
/// makes it a directory; several sources need one.
pub(crate) fn dest(
    raw: &str,
    workdir: &str,
    sources: usize,
    exists_as_dir: impl Fn(&Path) -> bool,
    what: &str,
) -> Result<Dest, BuildError> {
    let slash = raw.ends_with('/') || raw.ends_with("/.") || raw == ".";
    let joined = if raw.starts_with('/') {
        raw.to_string()
    } else {
        format!("{}/{raw}", if workdir.is_empty() { "/" } else { workdir })
    };
    let path = PathBuf::from(ignore::clean(&joined));
    if sources > 1 && !slash {
        return Err(BuildError::Step(format!(
            "When using {what} with more than one source file, the destination must be a directory and end with a /"
        )));
    }
    let is_dir = slash || exists_as_dir(&path);
    Ok(Dest { path, is_dir })
}

/// Writes the step's tar.
pub(crate) struct TarOut {
    builder: tar::Builder<File>,
}

impl TarOut {
    pub(crate) fn create(path: &Path) -> Result<TarOut, BuildError> {
        let f = File::create(path).map_err(|source| BuildError::Io { op: "create", path: path.into(), source })?;
        Ok(TarOut { builder: tar::Builder::new(f) })
    }

    pub(crate) fn finish(self) -> Result<File, BuildError> {
        self.builder.into_inner().map_err(|source| BuildError::Io { op: "write", path: "layer tar".into(), source })
    }

    fn header(kind: tar::EntryType, mode: u32, owner: &Owner, mtime: u64, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(owner.uid.into());
        h.set_gid(owner.gid.into());
        h.set_mtime(mtime);
        h.set_size(size);
        h
    }

    fn io(e: io::Error) -> BuildError {
        BuildError::Io { op: "write", path: "layer tar".into(), source: e }
    }

    /// A directory entry (the destination or a missing parent).
    pub(crate) fn dir(&mut self, name: &Path, mode: u32, owner: &Owner, mtime: u64) -> Result<(), BuildError> {
        let mode = owner.chmod.unwrap_or(mode & 0o7777);
        let mut h = Self::header(tar::EntryType::Directory, mode, owner, mtime, 0);
        self.builder.append_data(&mut h, rel_name(name), io::empty()).map_err(Self::io)
    }

    pub(crate) fn data(
        &mut self,
        name: &Path,
        data: &[u8],
        mode: u32,
        owner: &Owner,
        mtime: u64,
    ) -> Result<(), BuildError> {
        let mode = owner.chmod.unwrap_or(mode);
        let mut h = Self::header(tar::EntryType::Regular, mode, owner, mtime, data.len() as u64);
        self.builder.append_data(&mut h, rel_name(name), data).map_err(Self::io)
    }

    fn item(&mut self, name: &Path, item: &Item, owner: &Owner) -> Result<(), BuildError> {
        let m = &item.meta;
        let mtime = m.mtime().max(0) as u64;
        let ft = m.file_type();
        if ft.is_dir() {
            return self.dir(name, m.mode(), owner, mtime);
        }
        if ft.is_symlink() {
            let target = std::fs::read_link(&item.path).map_err(|source| BuildError::Io {
                op: "read link",
                path: item.path.clone(),
                source,
            })?;
            let mut h = Self::header(tar::EntryType::Symlink, 0o777, owner, mtime, 0);
            return self.builder.append_link(&mut h, rel_name(name), target).map_err(Self::io);
        }
        if !ft.is_file() {
            return Ok(());
        }
        let f =
            File::open(&item.path).map_err(|source| BuildError::Io { op: "open", path: item.path.clone(), source })?;
        let mode = owner.chmod.unwrap_or(m.mode() & 0o7777);
        let mut h = Self::header(tar::EntryType::Regular, mode, owner, mtime, m.len());
        self.builder.append_data(&mut h, rel_name(name), f).map_err(Self::io)
    }

    /// The entries of one path source at `target` (its contents for a directory).
    pub(crate) fn source(
        &mut self,
        scope: &Scope<'_>,
        src: &Source,
        target: &Path,
        owner: &Owner,
    ) -> Result<(), BuildError> {
        for item in items(scope, src)? {
            let name = if item.rel.as_os_str().is_empty() { target.to_path_buf() } else { target.join(&item.rel) };
            self.item(&name, &item, owner)?;
        }
        Ok(())
    }

    /// ADD of a local archive: its entries below `target`, owners kept.
    pub(crate) fn archive(&mut self, reader: impl Read, target: &Path) -> Result<(), BuildError> {
        let mut a = tar::Archive::new(reader);
        let bad = |e: io::Error| BuildError::Step(format!("ADD failed: read archive: {e}"));
        for e in a.entries().map_err(bad)? {
            let mut e = e.map_err(bad)?;
            let raw = e.path().map_err(bad)?.into_owned();
            if raw.components().any(|c| c == Component::ParentDir) {
                return Err(BuildError::Step(format!("ADD failed: archive entry {raw:?} leaves its destination")));
            }
            let name = target.join(raw);
            let mut h = e.header().clone();
            let link = e.link_name().map_err(bad)?.map(|l| l.into_owned());
            match link {
                Some(l) if h.entry_type() == tar::EntryType::Link => {
                    let l = target.join(l);
                    self.builder.append_link(&mut h, rel_name(&name), rel_name(&l)).map_err(Self::io)?;
                }
                Some(l) => self.builder.append_link(&mut h, rel_name(&name), l).map_err(Self::io)?,
                None => {
                    let mut data = Vec::new();
                    e.read_to_end(&mut data).map_err(bad)?;
                    self.builder.append_data(&mut h, rel_name(&name), &data[..]).map_err(Self::io)?;
                }
            }
        }
        Ok(())
    }
}

/// A tar name for an absolute destination: no leading `/`.
fn rel_name(p: &Path) -> PathBuf {
    p.strip_prefix("/").unwrap_or(p).to_path_buf()
}

/// Whether the file starts like an archive ADD extracts (tar, gzip, zstd).
pub(crate) fn archive_reader(path: &Path) -> Option<Box<dyn Read>> {
    let mut head = [0u8; 512];
    let mut f = File::open(path).ok()?;
    let n = read_full(&mut f, &mut head);
    let f = File::open(path).ok()?;
    if head[..n].starts_with(&[0x1f, 0x8b]) {
        let mut probe = flate2::read::MultiGzDecoder::new(File::open(path).ok()?);
        let mut h = [0u8; 512];
        let k = read_full(&mut probe, &mut h);
        return (k == 512 && &h[257..262] == b"ustar")
            .then(|| Box::new(flate2::read::MultiGzDecoder::new(f)) as Box<dyn Read>);
    }
    if head[..n].starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return zstd::Decoder::new(f).ok().map(|d| Box::new(d) as Box<dyn Read>);
    }
    (n == 512 && &head[257..262] == b"ustar").then(|| Box::new(f) as Box<dyn Read>)
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("dir/sub")).unwrap();
        std::fs::write(d.path().join("a.txt"), "a").unwrap();
        std::fs::write(d.path().join("b.txt"), "b").unwrap();
        std::fs::write(d.path().join("dir/sub/c"), "c").unwrap();
        std::os::unix::fs::symlink("dir/sub", d.path().join("link")).unwrap();
        std::os::unix::fs::symlink("/../../etc", d.path().join("escape")).unwrap();
        d
    }

    fn names(s: &[Source]) -> Vec<String> {
        s.iter()
            .map(|s| match s {
                Source::Path { rel, .. } => rel.clone(),
                Source::Data { name, .. } => name.clone(),
            })
            .collect()
    }

    #[test]
    fn wildcards_and_missing_sources() {
        let d = ctx();
        let scope = Scope { root: d.path(), ignore: None, from: None };
        assert_eq!(names(&collect(&scope, "*.txt", "COPY").unwrap()), vec!["a.txt", "b.txt"]);
        let e = collect(&scope, "nope", "COPY").unwrap_err().to_string();
        assert_eq!(
            e,
            "COPY failed: file not found in build context or excluded by .dockerignore: stat nope: file does not exist"
        );
        let e = collect(&scope, "*.md", "COPY").unwrap_err().to_string();
        assert_eq!(e, "COPY failed: no source files were specified");
        let e = collect(&scope, "../x", "COPY").unwrap_err().to_string();
        assert_eq!(e, "COPY failed: forbidden path outside the build context: ../x ()");
    }

    #[test]
    fn ignored_sources_are_not_found() {
        let d = ctx();
        let m = Matcher::new(&["a.txt".into(), "dir/sub/c".into()]).unwrap();
        let scope = Scope { root: d.path(), ignore: Some(&m), from: None };
        assert!(collect(&scope, "a.txt", "COPY").is_err());
        let all = collect(&scope, ".", "COPY").unwrap();
        let sum_ignored = checksum(&scope, &all).unwrap();
        std::fs::write(d.path().join("dir/sub/c"), "changed").unwrap();
        assert_eq!(checksum(&scope, &all).unwrap(), sum_ignored, "an ignored file does not change the checksum");
        std::fs::write(d.path().join("b.txt"), "changed").unwrap();
        assert_ne!(checksum(&scope, &all).unwrap(), sum_ignored);
    }

    #[test]
    fn symlinks_resolve_inside_the_scope() {
        let d = ctx();
        assert_eq!(resolve_in_scope(d.path(), "link/c").unwrap(), d.path().join("dir/sub/c"));
        assert_eq!(resolve_in_scope(d.path(), "escape").unwrap(), d.path().join("etc"));
    }

    #[test]
    fn checksum_ignores_times_but_not_modes() {
        let d = ctx();
        let scope = Scope { root: d.path(), ignore: None, from: None };
        let s = collect(&scope, "dir", "COPY").unwrap();
        let before = checksum(&scope, &s).unwrap();
        let f = File::options().write(true).open(d.path().join("dir/sub/c")).unwrap();
        f.set_modified(std::time::SystemTime::UNIX_EPOCH).unwrap();
        assert_eq!(checksum(&scope, &s).unwrap(), before);
        std::fs::set_permissions(d.path().join("dir/sub/c"), std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        assert_ne!(checksum(&scope, &s).unwrap(), before);
    }

    #[test]
    fn destination_rules() {
        let no = |_: &Path| false;
        let d = dest("app/", "/work", 1, no, "COPY").unwrap();
        assert_eq!((d.path, d.is_dir), (PathBuf::from("/work/app"), true));
        let d = dest(".", "", 1, no, "COPY").unwrap();
        assert_eq!((d.path, d.is_dir), (PathBuf::from("/"), true));
        let d = dest("/x", "/w", 1, |p| p == Path::new("/x"), "COPY").unwrap();
        assert!(d.is_dir);
        let e = dest("/x", "/", 2, no, "COPY").unwrap_err().to_string();
        assert_eq!(
            e,
            "When using COPY with more than one source file, the destination must be a directory and end with a /"
        );
    }
}
