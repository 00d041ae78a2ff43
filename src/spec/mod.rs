//! config.json: load it once into oci-spec's types, validate it before anything
//! touches the system, and generate runc's default (`berth spec`).
//!
//! Nothing below this module re-reads raw JSON.

#[cfg(test)]
mod fuzz;
mod generate;
mod validate;

use std::path::{Path, PathBuf};

pub use generate::{default_spec, rootless_spec};
pub use oci_spec::runtime::Spec;
pub use validate::validate;

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
    #[error("write {path:?}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl SpecError {
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        SpecError::Invalid { field: field.into(), reason: reason.into() }
    }
}

/// Parse config.json text; the error names the file, line, column and the JSON
/// field path where the document did not match the spec's types.
pub fn parse(path: &Path, text: &str) -> Result<Spec, SpecError> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        SpecError::Parse {
            path: path.to_path_buf(),
            line: inner.line(),
            column: inner.column(),
            field: if field == "." { "config".into() } else { field },
            source: inner,
        }
    })
}

/// Load and validate `<bundle>/config.json`.
pub fn load(bundle: &Path) -> Result<Spec, SpecError> {
    let path = bundle.join("config.json");
    let text = std::fs::read_to_string(&path).map_err(|source| SpecError::Read { path: path.clone(), source })?;
    let spec = parse(&path, &text)?;
    validate(&spec)?;
    Ok(spec)
}

/// The rootfs directory of `spec`, resolved against `bundle` when relative.
pub fn rootfs_path(spec: &Spec, bundle: &Path) -> PathBuf {
    let root = spec.root().as_ref().map(|r| r.path().clone()).unwrap_or_else(|| "rootfs".into());
    if root.is_absolute() { root } else { bundle.join(root) }
}
