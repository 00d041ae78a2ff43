//! The COPY/ADD step: sources expanded and collected (`copy.rs`), the
//! checksum in the history line (`COPY file:<sha256> in /dst `) and so in
//! the cache key, then on a miss the tar of the copied entries applied to
//! the step's rootfs and packed into its layer. `--from` names an earlier
//! stage (name or index) or an image, whose layers are mounted read-only
//! for the copy. `--chown` is looked up in the image's /etc/passwd and
//! /etc/group as docker does (a lone name is both user and group).

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::copy::{self, Owner, Scope, Source, TarOut};
use super::exec::{Builder, StageState, lex_err};
use super::instruction::Copy;
use super::mount::StepRoot;
use super::{BuildError, cache, lex};

fn is_heredoc_word(s: &str) -> bool {
    let rest = s.trim_start_matches(|c: char| c.is_ascii_digit());
    rest.starts_with("<<") && rest.len() > 2
}

pub(crate) fn copy_step(b: &mut Builder<'_>, state: &mut StageState, c: &Copy) -> Result<(), BuildError> {
    let what = if c.add { "ADD" } else { "COPY" };
    let vars = state.vars();
    let esc = b.escape;
    let word = |s: &str| lex::process_word(s, esc, &vars).map_err(lex_err);
    let dest_raw = word(&c.dest)?;
    let chown = c.chown.as_deref().map(&word).transpose()?.filter(|s| !s.is_empty());
    let chmod = c.chmod.as_deref().map(&word).transpose()?.map(|m| parse_mode(&m)).transpose()?;
    let from = c.from.as_deref().map(&word).transpose()?;
    let from_root = match &from {
        Some(f) => Some(mount_from(b, f)?),
        None => None,
    };
    let from_path = from_root.as_ref().map(StepRoot::rootfs);
    let scope = match (&from, &from_path) {
        (Some(f), Some(p)) => Scope { root: p, ignore: None, from: Some(f) },
        _ => Scope { root: &b.ctx.root, ignore: Some(&b.ctx.ignore), from: None },
    };
    let sources = sources(c, &scope, &word, &vars, esc, what)?;
    let sum = copy::checksum(&scope, &sources)?;
    let kind = match sources.as_slice() {
        [Source::Path { is_dir: true, .. }] => "dir",
        [_] => "file",
        _ => "multi",
    };
    let mut by = super::step::shell_of(&state.config);
    // docker's classic builder writes the flag right against the hash.
    let chown_note = chown.as_deref().map_or(String::new(), |c| format!("--chown={c}"));
    by.push(format!("#(nop) {what} {chown_note}{kind}:{sum} in {dest_raw} "));
    let created_by = by.join(" ");
    let key = cache::key(&state.parent_id(), &created_by, &state.config, &sum);
    if b.probe_cache(state, &key)? {
        return Ok(());
    }
    let work = StepRoot::mount(&b.scratch.path, state.image.as_ref())?;
    let rootfs = work.rootfs();
    let owner = resolve_owner(&rootfs, chown.as_deref(), chmod)?;
    let workdir = state.config.get("WorkingDir").and_then(|v| v.as_str()).unwrap_or("").to_string();
    let dest = copy::dest(&dest_raw, &workdir, sources.len(), |p| super::step::is_dir_in(&rootfs, p), what)?;
    let tar_path = work.scratch().join("copy.tar");
    let mut t = TarOut::create(&tar_path)?;
    let mut made = HashSet::new();
    let parents_owner = Owner { chmod: None, ..owner };
    for src in &sources {
        match src {
            Source::Path { is_dir: true, .. } => {
                parents(&mut t, &rootfs, &dest.path, &parents_owner, &mut made, true)?;
                t.source(&scope, src, &dest.path, &owner)?;
            }
            Source::Path { path, .. } if c.add && copy::archive_reader(path).is_some() => {
                parents(&mut t, &rootfs, &dest.path, &parents_owner, &mut made, true)?;
                let reader = copy::archive_reader(path).expect("checked just above");
                t.archive(reader, &dest.path)?;
            }
            Source::Path { rel, .. } => {
                let name = Path::new(rel).file_name().map(PathBuf::from).unwrap_or_default();
                let target = if dest.is_dir { dest.path.join(name) } else { dest.path.clone() };
                parents(&mut t, &rootfs, &target, &parents_owner, &mut made, false)?;
                t.source(&scope, src, &target, &owner)?;
            }
            Source::Data { name, data, mode, mtime } => {
                let target = if dest.is_dir { dest.path.join(name) } else { dest.path.clone() };
                parents(&mut t, &rootfs, &target, &parents_owner, &mut made, false)?;
                t.data(&target, data, *mode, &owner, *mtime)?;
            }
        }
    }
    let mut f = t.finish()?;
    f.flush().map_err(|source| BuildError::Io { op: "write", path: tar_path.clone(), source })?;
    drop(f);
    drop(from_root);
    let tar = std::fs::File::open(&tar_path).map_err(|source| BuildError::Io {
        op: "open",
        path: tar_path.clone(),
        source,
    })?;
    crate::unpack::unpack(tar, &rootfs).map_err(|e| BuildError::Step(format!("{what} failed: {e}")))?;
    let layer = work.finish(&mut b.store, state.image.as_ref())?;
    let author = state.maintainer.clone();
    b.commit(state, &key, layer, created_by, author)
}

/// The step's sources in order: heredocs, URLs (ADD), then paths.
// A Vec, not a slice: `lex::Vars` is what the lexer takes as `&dyn`.
#[allow(clippy::ptr_arg)]
fn sources(
    c: &Copy,
    scope: &Scope<'_>,
    word: &dyn Fn(&str) -> Result<String, BuildError>,
    vars: &Vec<(String, String)>,
    esc: char,
    what: &str,
) -> Result<Vec<Source>, BuildError> {
    let mut docs = c.heredocs.iter();
    let mut out = Vec::new();
    for src in &c.sources {
        if is_heredoc_word(src)
            && let Some(d) = docs.next()
        {
            let mut content = super::step::chomped(d);
            if d.expand {
                content = lex::expand_only(&content, esc, vars).map_err(lex_err)?;
            }
            out.push(Source::Data { name: d.name.clone(), data: content.into_bytes(), mode: 0o644, mtime: 0 });
            continue;
        }
        let src = word(src)?;
        if c.add && (src.starts_with("http://") || src.starts_with("https://")) {
            out.push(fetch(&src)?);
            continue;
        }
        out.extend(copy::collect(scope, &src, what)?);
    }
    Ok(out)
}

/// Dir entries for the missing directories down to `target` (its parent
/// only, unless `including` itself), 0755 and owned as docker's
/// `MkdirAllAndChownNew` makes them.
fn parents(
    t: &mut TarOut,
    rootfs: &Path,
    target: &Path,
    owner: &Owner,
    made: &mut HashSet<PathBuf>,
    including: bool,
) -> Result<(), BuildError> {
    let last = if including { Some(target) } else { target.parent() };
    let Some(last) = last else { return Ok(()) };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let mut p = PathBuf::from("/");
    for comp in last.components().skip(1) {
        p.push(comp);
        if made.contains(&p) || super::step::is_dir_in(rootfs, &p) {
            continue;
        }
        t.dir(&p, 0o755, owner, now)?;
        made.insert(p.clone());
    }
    Ok(())
}

/// `--chmod=0755`: octal permission bits.
fn parse_mode(s: &str) -> Result<u32, BuildError> {
    u32::from_str_radix(s, 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| BuildError::Step(format!("invalid chmod parameter: {s}")))
}

/// `--chown=user[:group]` against the rootfs's /etc/passwd and /etc/group.
fn resolve_owner(rootfs: &Path, chown: Option<&str>, chmod: Option<u32>) -> Result<Owner, BuildError> {
    let Some(spec) = chown else { return Ok(Owner { uid: 0, gid: 0, chmod }) };
    let (user, group) = spec.split_once(':').unwrap_or((spec, spec));
    let read = |rel: &str| {
        copy::resolve_in_scope(rootfs, rel).ok().and_then(|p| std::fs::read_to_string(p).ok()).unwrap_or_default()
    };
    let lookup = |name: &str, file: &str, what: &str, kind: &str| -> Result<u32, BuildError> {
        if let Ok(n) = name.parse::<u32>() {
            return Ok(n);
        }
        read(file)
            .lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f.first() == Some(&name) && f.len() > 2)
            .and_then(|f| f[2].parse().ok())
            .ok_or_else(|| {
                BuildError::Step(format!(
                    "unable to convert {what} {name} to {kind}: unable to find {what} {name}: no matching entries in {} file",
                    if what == "user" { "passwd" } else { "group" }
                ))
            })
    };
    let uid = lookup(user, "etc/passwd", "user", "uid")?;
    let gid = lookup(group, "etc/group", "group", "gid")?;
    Ok(Owner { uid, gid, chmod })
}

/// ADD <url>: one GET over plain HTTP (docker's file: mode 0600, the URL's
/// last path element as its name).
fn fetch(url: &str) -> Result<Source, BuildError> {
    let fail = |m: String| BuildError::Step(format!("ADD failed: {url}: {m}"));
    let rest = url.strip_prefix("http://").ok_or_else(|| fail("only http:// URLs are supported".into()))?;
    let (host, path) = rest.split_once('/').map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let addr = if host.contains(':') { host.to_string() } else { format!("{host}:80") };
    let mut s = std::net::TcpStream::connect(&addr).map_err(|e| fail(e.to_string()))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: berthctl\r\n\r\n")
        .map_err(|e| fail(e.to_string()))?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| fail(e.to_string()))?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| fail("malformed response".into()))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if !status.starts_with('2') {
        return Err(fail(format!("status {status}")));
    }
    let name = path.split(['?', '#']).next().unwrap_or("").rsplit('/').next().unwrap_or("").to_string();
    let name = if name.is_empty() { "__unnamed__".to_string() } else { name };
    Ok(Source::Data { name, data: raw[split + 4..].to_vec(), mode: 0o600, mtime: 0 })
}

/// Mount `--from`'s filesystem: an earlier stage's image or any image.
fn mount_from(b: &mut Builder<'_>, from: &str) -> Result<StepRoot, BuildError> {
    let image = match b.stage_index(from, b.results.len()) {
        Some(i) => b.results[i].clone(),
        None => Some(b.base_image(from)?),
    };
    StepRoot::mount(&b.scratch.path, image.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chown_by_name_and_number() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("etc")).unwrap();
        std::fs::write(d.path().join("etc/passwd"), "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n")
            .unwrap();
        std::fs::write(d.path().join("etc/group"), "root:x:0:\napp:x:1000:\nstaff:x:50:\n").unwrap();
        let o = resolve_owner(d.path(), Some("app"), None).unwrap();
        assert_eq!((o.uid, o.gid), (1000, 1000));
        let o = resolve_owner(d.path(), Some("app:staff"), Some(0o600)).unwrap();
        assert_eq!((o.uid, o.gid, o.chmod), (1000, 50, Some(0o600)));
        let o = resolve_owner(d.path(), Some("7:8"), None).unwrap();
        assert_eq!((o.uid, o.gid), (7, 8));
        let e = resolve_owner(d.path(), Some("nobody"), None).unwrap_err().to_string();
        assert!(e.contains("unable to find user nobody"), "{e}");
    }

    #[test]
    fn modes_and_heredoc_words() {
        assert_eq!(parse_mode("755").unwrap(), 0o755);
        assert!(parse_mode("9").is_err());
        assert!(is_heredoc_word("<<EOF"));
        assert!(is_heredoc_word("<<-EOF"));
        assert!(!is_heredoc_word("file"));
    }
}
