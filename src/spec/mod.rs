//! config.json: load it once into oci-spec's types, validate it before anything
//! touches the system, and generate runc's default (`berth spec`).
//!
//! Nothing below this module re-reads raw JSON.

#[cfg(test)]
mod fuzz;
mod generate;
pub(crate) mod jsonpath;
#[cfg(test)]
mod tests;
mod validate;

use std::path::{Path, PathBuf};

pub use generate::{default_spec, rootless_spec};
pub use oci_spec::runtime::Spec;
pub use validate::validate;

/// The runtime-spec version berth implements (`berth spec`, `features`).
pub const OCI_VERSION: &str = "1.2.0";

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("read {path:?}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("parse {path:?}:{line}:{column}: {field}")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        field: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
}

impl SpecError {
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        SpecError::Invalid { field: field.into(), reason: reason.into() }
    }
}

/// Parse config.json text; the error names the file, line, column and the JSON
/// field path where the document did not match the spec's types.
pub fn parse(path: &Path, text: &str) -> Result<Spec, SpecError> {
    let e = match serde_json::from_str(text) {
        Ok(spec) => return Ok(spec),
        Err(e) => e,
    };
    let field = jsonpath::field_of(text, &e);
    if field.starts_with("process.capabilities.")
        && let Some(spec) = without_unknown_capabilities(text, &["process", "capabilities"])
    {
        return Ok(spec);
    }
    Err(SpecError::Parse {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        field: if field == "." { "config".into() } else { field },
        source: e,
    })
}

/// The document in `text` with the capability names oci-spec does not know
/// removed from the capability sets at `at` (a path of object keys), and a
/// warning naming them: runc ignores them the same way ("ignoring unknown or
/// unavailable capabilities: [CAP_X CAP_Y]", sorted). None when the document
/// still does not parse; the caller reports its first error then.
pub(crate) fn without_unknown_capabilities<T: serde::de::DeserializeOwned>(text: &str, at: &[&str]) -> Option<T> {
    let mut doc: serde_json::Value = serde_json::from_str(text).ok()?;
    let caps = at.iter().try_fold(&mut doc, |v, key| v.get_mut(*key))?.as_object_mut()?;
    let mut unknown = std::collections::BTreeSet::new();
    for set in caps.values_mut().filter_map(serde_json::Value::as_array_mut) {
        set.retain(|c| match c.as_str() {
            Some(name) if capability(name).is_none() => {
                unknown.insert(name.to_string());
                false
            }
            _ => true,
        });
    }
    // Through text (`from_str`), not `from_value`: another instantiation of the
    // spec's deserializer would add ~190 kB to the binary.
    let parsed = serde_json::from_str(&doc.to_string()).ok()?;
    warn_unknown_capabilities(&unknown.iter().map(String::as_str).collect::<Vec<_>>());
    Some(parsed)
}

/// A capability name (`CAP_KILL`) as config.json's parser reads it; None when
/// oci-spec does not know it. Through text, so the parser's one instance serves.
pub(crate) fn capability(name: &str) -> Option<oci_spec::runtime::Capability> {
    serde_json::from_str(&serde_json::to_string(name).ok()?).ok()
}

/// runc's warning for the capability names it goes on without (none: nothing).
pub(crate) fn warn_unknown_capabilities(names: &[&str]) {
    if !names.is_empty() {
        tracing::warn!("ignoring unknown or unavailable capabilities: [{}]", names.join(" "));
    }
}

/// The largest config.json or process.json read: podman's and docker's configs,
/// seccomp profile included, are some 100 KB.
pub const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// Read a JSON document given to berth (config.json, `exec --process`): a regular
/// file (symlinks followed) of at most [`MAX_CONFIG_BYTES`]. A config linked to
/// /dev/zero or a fifo would otherwise be read until memory runs out, or forever.
pub fn read_document(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let kind = file.metadata()?.file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() { "a directory" } else { "not a regular file" };
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, what));
    }
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        let msg = format!("larger than {} MiB", MAX_CONFIG_BYTES >> 20);
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, msg));
    }
    Ok(as_go_reads_it(bytes))
}

/// The text as Go's encoding/json (runc) reads it: bytes that are not UTF-8, and
/// `\u` escapes of unpaired UTF-16 surrogates, become U+FFFD instead of making
/// the whole document unreadable.
fn as_go_reads_it(bytes: Vec<u8>) -> String {
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
    if !text.contains("\\u") {
        return text;
    }
    let surrogate = |s: &str| u16::from_str_radix(s, 16).ok().filter(|u| (0xd800..0xe000).contains(u));
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let esc = rest.get(..6).filter(|e| e.as_bytes()[1] == b'u');
        match esc.and_then(|e| surrogate(&e[2..])) {
            Some(high) if (0xd800..0xdc00).contains(&high) => {
                let low = rest.get(6..12).filter(|e| e.starts_with("\\u")).and_then(|e| surrogate(&e[2..]));
                if low.is_some_and(|l| l >= 0xdc00) {
                    out.push_str(&rest[..12]);
                    rest = &rest[12..];
                } else {
                    out.push_str("\\ufffd");
                    rest = &rest[6..];
                }
            }
            Some(_) => {
                out.push_str("\\ufffd");
                rest = &rest[6..];
            }
            None => {
                // Any other escape, `\\` included: copied whole, so its second
                // character is never read as the start of another.
                let len = rest[1..].chars().next().map_or(1, |c| 1 + c.len_utf8());
                out.push_str(&rest[..len]);
                rest = &rest[len..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Load and validate `<bundle>/config.json`.
pub fn load(bundle: &Path) -> Result<Spec, SpecError> {
    let path = bundle.join("config.json");
    let text = read_document(&path).map_err(|source| SpecError::Read { path: path.clone(), source })?;
    let mut spec = parse(&path, &text)?;
    normalize(&mut spec);
    validate(&spec)?;
    Ok(spec)
}

/// What the runtime spec says a config means, made explicit once so that no step
/// reads it otherwise:
/// - no `linux` object is a `linux` with nothing in it: no namespace (every one is
///   the runtime's), no masked or read-only path, no resources. oci-spec's
///   `Linux::default()` is a sample container instead (namespaces, masked paths).
/// - a relative mount destination is relative to "/" (deprecated, but runtimes
///   MUST accept it, config.md "Mounts"); warned about, as runc does.
pub fn normalize(spec: &mut Spec) {
    if spec.linux().is_none() {
        spec.set_linux(Some(empty_linux()));
    }
    for (i, m) in spec.mounts_mut().iter_mut().flatten().enumerate() {
        if !m.destination().is_absolute() {
            let abs = Path::new("/").join(m.destination());
            tracing::warn!(
                "mounts[{i}].destination: {:?} is not absolute: taken as {abs:?} (relative destinations are deprecated)",
                m.destination()
            );
            m.set_destination(abs);
        }
    }
}

/// A `linux` object with no field set.
pub fn empty_linux() -> oci_spec::runtime::Linux {
    let mut linux = oci_spec::runtime::Linux::default();
    linux.set_resources(None).set_namespaces(None).set_masked_paths(None).set_readonly_paths(None);
    linux
}

/// The rootfs directory of `spec`, resolved against `bundle` when relative.
pub fn rootfs_path(spec: &Spec, bundle: &Path) -> PathBuf {
    let root = spec.root().as_ref().map(|r| r.path().clone()).unwrap_or_else(|| "rootfs".into());
    if root.is_absolute() { root } else { bundle.join(root) }
}
