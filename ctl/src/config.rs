//! Global options resolved once: where the store and the run state live and
//! which OCI runtime berthctl drives. Everything below takes a `&Config`
//! instead of reading flags or the environment itself.

use std::path::{Path, PathBuf};

/// The default store, as docker's `/var/lib/docker`.
pub(crate) const DEFAULT_DATA_ROOT: &str = "/var/lib/berth";
/// The default run state (runtime `--root`, netns files, sockets).
pub(crate) const DEFAULT_RUNROOT: &str = "/run/berthctl";

#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfigError {
    #[error("runtime {0:?} not found (next to berthctl or on PATH)")]
    RuntimeNotFound(String),
    #[error("{flag} {path:?}: must be an absolute path")]
    NotAbsolute { flag: &'static str, path: PathBuf },
}

#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub data_root: PathBuf,
    pub runroot: PathBuf,
    /// The runtime as given (`berth`, `runc`, a path), for messages and `info`.
    pub runtime_name: String,
    /// The runtime program resolved to a path.
    pub runtime: PathBuf,
    /// `--config DIR` / `DOCKER_CONFIG`: where registry credentials live.
    pub client_config: Option<PathBuf>,
}

impl Config {
    pub(crate) fn new(data_root: &Path, runroot: &Path, runtime: &str) -> Result<Self, ConfigError> {
        for (flag, path) in [("--data-root", data_root), ("--runroot", runroot)] {
            if !path.is_absolute() {
                return Err(ConfigError::NotAbsolute { flag, path: path.to_path_buf() });
            }
        }
        Ok(Config {
            data_root: data_root.to_path_buf(),
            runroot: runroot.to_path_buf(),
            runtime_name: runtime.to_string(),
            runtime: resolve_runtime(runtime)?,
            client_config: None,
        })
    }

    /// The docker-format credentials file (`crate::auth::file_path`).
    pub(crate) fn auth_file(&self) -> PathBuf {
        crate::auth::file_path(self.client_config.as_deref(), &self.data_root)
    }
}

/// A name with a slash is a path; `berth` prefers the binary beside berthctl
/// (the two are built and installed together); anything else is looked up on
/// PATH, as docker's `--add-runtime` and podman's `--runtime` do.
pub(crate) fn resolve_runtime(name: &str) -> Result<PathBuf, ConfigError> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        return if p.is_file() { Ok(p) } else { Err(ConfigError::RuntimeNotFound(name.to_string())) };
    }
    if name == "berth"
        && let Some(dir) = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf))
        && dir.join("berth").is_file()
    {
        return Ok(dir.join("berth"));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| ConfigError::RuntimeNotFound(name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_data_root_is_refused() {
        let err = Config::new(Path::new("rel"), Path::new("/run/x"), "/bin/sh").unwrap_err();
        assert!(err.to_string().contains("--data-root"), "{err}");
    }

    #[test]
    fn runtime_path_must_exist() {
        let err = Config::new(Path::new("/a"), Path::new("/b"), "/nonexistent/runc").unwrap_err();
        assert!(matches!(err, ConfigError::RuntimeNotFound(_)));
    }

    #[test]
    fn runtime_is_found_on_path() {
        let c = Config::new(Path::new("/a"), Path::new("/b"), "sh").unwrap();
        assert!(c.runtime.ends_with("sh"));
    }
}
