//! The build context and the Dockerfile, found as docker's CLI finds them: a
//! directory (the Dockerfile `-f` relative to the current directory, else
//! `<dir>/Dockerfile`), a tar archive (plain, gzip or zstd; `-f` a path in
//! it), or `-` (stdin holds a Dockerfile — no context — or an archive). An
//! archive is unpacked into a scratch directory of the store, removed when
//! the build ends. `.dockerignore` at the context's root applies to every
//! source a COPY or ADD reads.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::BuildError;
use super::ignore::{self, Matcher};

/// A directory removed with everything in it when dropped.
#[derive(Debug)]
pub(crate) struct Scratch {
    pub path: PathBuf,
}

impl Scratch {
    /// A new directory `<parent>/<prefix>-<pid>-<nanos>`.
    pub(crate) fn new(parent: &Path, prefix: &str) -> Result<Scratch, BuildError> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let path = parent.join(format!("{prefix}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).map_err(|source| BuildError::Io { op: "create", path: path.clone(), source })?;
        Ok(Scratch { path })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), error = %e, "remove build scratch directory");
        }
    }
}

#[derive(Debug)]
pub(crate) struct Context {
    /// Where the context's files are.
    pub root: PathBuf,
    /// `.dockerignore` (with docker's exceptions for the Dockerfile itself).
    pub ignore: Matcher,
    /// The Dockerfile's text and the name errors give it.
    pub dockerfile: String,
    pub dockerfile_name: String,
    _scratch: Option<Scratch>,
}

fn prepare_err(message: String) -> BuildError {
    BuildError::Context(message)
}

/// Load the context `arg` (`-`, a directory or an archive) with the
/// Dockerfile `file` (`-f`); archives are unpacked under `scratch_parent`.
pub(crate) fn load(arg: &str, file: Option<&str>, scratch_parent: &Path) -> Result<Context, BuildError> {
    if arg == "-" {
        let mut data = Vec::new();
        std::io::stdin().read_to_end(&mut data).map_err(|source| BuildError::Io {
            op: "read",
            path: "<stdin>".into(),
            source,
        })?;
        if is_archive(&data) {
            return from_archive(&data[..], file, scratch_parent);
        }
        let scratch = Scratch::new(scratch_parent, "context")?;
        let text = dockerfile_text(data, "Dockerfile")?;
        return Ok(Context {
            root: scratch.path.clone(),
            ignore: Matcher::default(),
            dockerfile: text,
            dockerfile_name: "Dockerfile".into(),
            _scratch: Some(scratch),
        });
    }
    if arg.contains("://") || arg.starts_with("git@") {
        return Err(prepare_err(format!("unable to prepare context: remote context {arg:?} is not supported")));
    }
    let path = Path::new(arg);
    let meta = std::fs::metadata(path)
        .map_err(|_| prepare_err(format!("unable to prepare context: path {arg:?} not found")))?;
    if meta.is_file() {
        let f = std::fs::File::open(path).map_err(|source| BuildError::Io { op: "open", path: path.into(), source })?;
        return from_archive(f, file, scratch_parent);
    }
    from_dir(path, file)
}

fn from_dir(dir: &Path, file: Option<&str>) -> Result<Context, BuildError> {
    let root = std::fs::canonicalize(dir).map_err(|e| {
        prepare_err(format!("unable to prepare context: unable to evaluate symlinks in context path: {e}"))
    })?;
    let (text, name) = match file {
        Some("-") => {
            let mut data = Vec::new();
            std::io::stdin().read_to_end(&mut data).map_err(|source| BuildError::Io {
                op: "read",
                path: "<stdin>".into(),
                source,
            })?;
            (dockerfile_text(data, "Dockerfile")?, "Dockerfile".to_string())
        }
        Some(f) => {
            // docker: `-f` is relative to the current directory, not the context.
            let abs = std::path::absolute(f).unwrap_or_else(|_| PathBuf::from(f));
            (read_dockerfile(&abs)?, f.to_string())
        }
        None => {
            let mut p = root.join("Dockerfile");
            if !p.exists() && root.join("dockerfile").exists() {
                p = root.join("dockerfile");
            }
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            (read_dockerfile(&p)?, name)
        }
    };
    let ignore = read_ignore(&root)?;
    Ok(Context { root, ignore, dockerfile: text, dockerfile_name: name, _scratch: None })
}

fn from_archive(reader: impl Read, file: Option<&str>, scratch_parent: &Path) -> Result<Context, BuildError> {
    let scratch = Scratch::new(scratch_parent, "context")?;
    let mut head = [0u8; 4];
    let mut reader = std::io::BufReader::new(reader);
    let n = peek(&mut reader, &mut head);
    let stream: Box<dyn Read> = match &head[..n] {
        [0x1f, 0x8b, ..] => Box::new(flate2::read::MultiGzDecoder::new(reader)),
        [0x28, 0xb5, 0x2f, 0xfd] => {
            Box::new(zstd::Decoder::with_buffer(reader).map_err(|e| prepare_err(format!("read context: {e}")))?)
        }
        _ => Box::new(reader),
    };
    crate::unpack::unpack(stream, &scratch.path)
        .map_err(|e| prepare_err(format!("unable to prepare context: unpack the context archive: {e}")))?;
    let rel = file.unwrap_or("Dockerfile");
    let rel_clean = ignore::clean(rel.trim_start_matches('/'));
    let text = read_dockerfile(&scratch.path.join(&rel_clean))?;
    let ignore = read_ignore(&scratch.path)?;
    Ok(Context {
        root: scratch.path.clone(),
        ignore,
        dockerfile: text,
        dockerfile_name: rel.to_string(),
        _scratch: Some(scratch),
    })
}

/// Fill `buf` from the start of `r` without consuming it.
fn peek(r: &mut std::io::BufReader<impl Read>, buf: &mut [u8]) -> usize {
    use std::io::BufRead;
    match r.fill_buf() {
        Ok(b) => {
            let n = b.len().min(buf.len());
            buf[..n].copy_from_slice(&b[..n]);
            n
        }
        Err(_) => 0,
    }
}

/// docker's `DetectArchiveReader`: a tar (ustar magic) or a compressed stream.
fn is_archive(data: &[u8]) -> bool {
    let compressed = data.starts_with(&[0x1f, 0x8b])
        || data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
        || data.starts_with(b"BZh")
        || data.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]);
    compressed || data.get(257..262) == Some(b"ustar")
}

fn read_dockerfile(path: &Path) -> Result<String, BuildError> {
    let data = std::fs::read(path).map_err(|e| {
        prepare_err(format!(
            "unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat {}: {}",
            path.display(),
            crate::build::go_error_text(&e)
        ))
    })?;
    dockerfile_text(data, &path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
}

fn dockerfile_text(data: Vec<u8>, name: &str) -> Result<String, BuildError> {
    if data.is_empty() {
        return Err(prepare_err(format!("the Dockerfile ({name}) cannot be empty")));
    }
    String::from_utf8(data).map_err(|_| prepare_err(format!("the Dockerfile ({name}) is not UTF-8 text")))
}

/// `.dockerignore`. docker's CLI sends the Dockerfile and `.dockerignore`
/// even when excluded, and its daemon then removes them from the context
/// (`removeDockerfile`): so they are simply excluded like any other file.
fn read_ignore(root: &Path) -> Result<Matcher, BuildError> {
    let path = root.join(".dockerignore");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Matcher::default()),
        Err(source) => return Err(BuildError::Io { op: "read", path, source }),
    };
    Matcher::new(&ignore::read_patterns(&text)).map_err(|e| prepare_err(format!("error checking context: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archives_are_recognised() {
        let mut tar = vec![0u8; 512];
        tar[257..262].copy_from_slice(b"ustar");
        assert!(is_archive(&tar));
        assert!(is_archive(&[0x1f, 0x8b, 8, 0]));
        assert!(!is_archive(b"FROM busybox\n"));
    }

    #[test]
    fn directory_context_with_ignore_and_default_dockerfile() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        std::fs::write(dir.path().join(".dockerignore"), "*\n!keep\n").unwrap();
        let c = load(dir.path().to_str().unwrap(), None, dir.path()).unwrap();
        assert_eq!(c.dockerfile, "FROM scratch\n");
        assert!(c.ignore.matches("other"));
        assert!(!c.ignore.matches("keep"));
        assert!(
            c.ignore.matches("Dockerfile"),
            "an excluded Dockerfile is not in the context (docker's daemon removes it)"
        );
    }

    #[test]
    fn missing_dockerfile_and_context_are_docker_errors() {
        let dir = tempfile::tempdir().unwrap();
        let e = load(dir.path().to_str().unwrap(), None, dir.path()).unwrap_err().to_string();
        assert!(
            e.starts_with("unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat "),
            "{e}"
        );
        assert!(e.ends_with("Dockerfile: no such file or directory"), "{e}");
        let e = load("/nonexistent/ctx", None, dir.path()).unwrap_err().to_string();
        assert_eq!(e, "unable to prepare context: path \"/nonexistent/ctx\" not found");
        std::fs::write(dir.path().join("Dockerfile"), "").unwrap();
        let e = load(dir.path().to_str().unwrap(), None, dir.path()).unwrap_err().to_string();
        assert_eq!(e, "the Dockerfile (Dockerfile) cannot be empty");
    }
}
