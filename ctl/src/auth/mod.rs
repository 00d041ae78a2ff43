//! Registry credentials, kept as docker keeps them: a `config.json` whose
//! `auths` map a server to base64 `user:password`, or whose `credHelpers` /
//! `credsStore` name a `docker-credential-<name>` program that holds them
//! (docker's credential-helper protocol: `get`/`store`/`erase`, JSON on
//! stdin/stdout). Reading goes through the `docker_credential` crate; storing
//! and erasing, which it does not do, are here. Other keys of the file are
//! kept as they are. Which file: see [`file_path`].
//!
//! Checking credentials against a registry (`login`) is in `verify.rs`.

mod verify;

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use serde_json::{Map, Value, json};

pub(crate) use verify::verify;

/// The key docker files Docker Hub's credentials under.
pub(crate) const DOCKER_HUB_SERVER: &str = "https://index.docker.io/v1/";

#[derive(Debug, thiserror::Error)]
pub(crate) enum AuthError {
    #[error("{op} {path:?}")]
    Io { op: &'static str, path: PathBuf, source: io::Error },
    #[error("{path:?}: not docker's config.json format")]
    Parse { path: PathBuf, source: serde_json::Error },
    #[error("credentials for {server} in {path:?}: {detail}")]
    Read { server: String, path: PathBuf, detail: String },
    #[error("credential helper docker-credential-{helper}: {op} for {server}: {detail}")]
    Helper { helper: String, op: &'static str, server: String, detail: String },
    #[error("login to {server}: {detail}")]
    Login { server: String, detail: String },
}

/// What a registry accepts from us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Credentials {
    Basic {
        username: String,
        password: String,
    },
    /// An OAuth refresh token (`identitytoken`), as Docker Hub's SSO stores.
    IdentityToken(String),
}

/// The credentials file: `--config DIR` (or `DOCKER_CONFIG`) gives
/// `DIR/config.json`, as docker's `--config`; otherwise `~/.docker/config.json`
/// when it exists, so that a docker user's logins and helpers work here too;
/// otherwise berthctl's own `<data-root>/config.json`.
pub(crate) fn file_path(config_dir: Option<&Path>, data_root: &Path) -> PathBuf {
    if let Some(dir) = config_dir {
        return dir.join("config.json");
    }
    if let Some(home) = std::env::var_os("HOME") {
        let docker = Path::new(&home).join(".docker/config.json");
        if docker.is_file() {
            return docker;
        }
    }
    data_root.join("config.json")
}

/// The key a registry's credentials are filed under, as docker's
/// `ConvertToHostname`: no scheme, no path; Docker Hub's names all map to
/// [`DOCKER_HUB_SERVER`].
pub(crate) fn server_key(registry: &str) -> String {
    let host = registry.trim_start_matches("https://").trim_start_matches("http://");
    let host = host.split('/').next().unwrap_or(host);
    match host {
        "" | "docker.io" | "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB_SERVER.to_string(),
        h => h.to_string(),
    }
}

/// The credentials stored for `registry`, if any.
pub(crate) fn lookup(path: &Path, registry: &str) -> Result<Option<Credentials>, AuthError> {
    use docker_credential::{CredentialRetrievalError as E, DockerCredential};
    let server = server_key(registry);
    let file = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(AuthError::Io { op: "open", path: path.to_path_buf(), source }),
    };
    match docker_credential::get_credential_from_reader(io::BufReader::new(file), &server) {
        Ok(DockerCredential::UsernamePassword(username, password)) => {
            Ok(Some(Credentials::Basic { username, password }))
        }
        Ok(DockerCredential::IdentityToken(t)) => Ok(Some(Credentials::IdentityToken(t))),
        Err(E::NoCredentialConfigured) => Ok(None),
        // A helper with nothing for this server says so on stdout and fails.
        Err(E::HelperFailure { stdout, .. }) if stdout.contains("credentials not found") => Ok(None),
        Err(e) => Err(AuthError::Read { server, path: path.to_path_buf(), detail: e.to_string() }),
    }
}

/// Where [`store`] put the credentials.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum StoredIn {
    /// In the file itself (base64, unencrypted).
    File,
    /// With `docker-credential-<name>`.
    Helper(String),
}

/// Store `username`/`password` for `registry`: with the helper the file names
/// for it (`credHelpers`, then `credsStore`), else in the file's `auths`.
pub(crate) fn store(path: &Path, registry: &str, username: &str, password: &str) -> Result<StoredIn, AuthError> {
    let server = server_key(registry);
    let mut doc = read_doc(path)?;
    if let Some(helper) = helper_for(&doc, &server) {
        let input = json!({"ServerURL": server, "Username": username, "Secret": password}).to_string();
        run_helper(&helper, "store", &server, &input)?;
        return Ok(StoredIn::Helper(helper));
    }
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    let auths = doc.entry("auths").or_insert_with(|| json!({}));
    let Some(auths) = auths.as_object_mut() else {
        return Err(AuthError::Read { server, path: path.to_path_buf(), detail: "\"auths\" is not an object".into() });
    };
    auths.insert(server, json!({ "auth": auth }));
    write_doc(path, &doc)?;
    Ok(StoredIn::File)
}

/// Forget the credentials of `registry`; false when there were none.
pub(crate) fn erase(path: &Path, registry: &str) -> Result<bool, AuthError> {
    let server = server_key(registry);
    if !path.exists() {
        return Ok(false);
    }
    let mut doc = read_doc(path)?;
    if let Some(helper) = helper_for(&doc, &server) {
        return match run_helper(&helper, "erase", &server, &server) {
            Ok(_) => Ok(true),
            Err(AuthError::Helper { detail, .. }) if detail.contains("not found") => Ok(false),
            Err(e) => Err(e),
        };
    }
    let Some(auths) = doc.get_mut("auths").and_then(Value::as_object_mut) else { return Ok(false) };
    // docker may have filed it with a scheme (`https://host`): drop every spelling.
    let keys: Vec<String> = auths.keys().filter(|k| server_key(k) == server).cloned().collect();
    for k in &keys {
        auths.remove(k);
    }
    if keys.is_empty() {
        return Ok(false);
    }
    write_doc(path, &doc)?;
    Ok(true)
}

fn helper_for(doc: &Map<String, Value>, server: &str) -> Option<String> {
    doc.get("credHelpers")
        .and_then(|h| h.get(server))
        .or_else(|| doc.get("credsStore"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Run `docker-credential-<helper> <op>` with `input` on stdin; its stdout.
fn run_helper(helper: &str, op: &'static str, server: &str, input: &str) -> Result<String, AuthError> {
    let err = |detail: String| AuthError::Helper { helper: helper.to_string(), op, server: server.to_string(), detail };
    let mut child = Command::new(format!("docker-credential-{helper}"))
        .arg(op)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| err(format!("run: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes()).map_err(|e| err(format!("write to its stdin: {e}")))?;
    }
    let out = child.wait_with_output().map_err(|e| err(format!("wait: {e}")))?;
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(err(format!("{}: {} {}", out.status, stdout, stderr.trim())));
    }
    Ok(stdout)
}

fn read_doc(path: &Path) -> Result<Map<String, Value>, AuthError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Map::new()),
        Err(source) => return Err(AuthError::Io { op: "read", path: path.to_path_buf(), source }),
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    serde_json::from_slice(&bytes).map_err(|source| AuthError::Parse { path: path.to_path_buf(), source })
}

/// Write the file as docker does: mode 0600 in a 0700 dir, atomically
/// (temp file, fsync, rename), so a crash leaves the old file or the new one.
fn write_doc(path: &Path, doc: &Map<String, Value>) -> Result<(), AuthError> {
    if let Some(dir) = path.parent() {
        fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(|source| AuthError::Io {
            op: "create",
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
    let mut text =
        serde_json::to_vec_pretty(doc).map_err(|source| AuthError::Parse { path: path.to_path_buf(), source })?;
    text.push(b'\n');
    let result = (|| {
        let mut f = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        f.write_all(&text)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(source) = result {
        let _ = fs::remove_file(&tmp);
        return Err(AuthError::Io { op: "write", path: path.to_path_buf(), source });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_names_share_one_key_and_hosts_lose_scheme_and_path() {
        assert_eq!(server_key("docker.io"), DOCKER_HUB_SERVER);
        assert_eq!(server_key("https://index.docker.io/v1/"), DOCKER_HUB_SERVER);
        assert_eq!(server_key("http://127.0.0.1:5000/v2/"), "127.0.0.1:5000");
        assert_eq!(server_key("quay.io"), "quay.io");
    }

    #[test]
    fn store_lookup_erase_round_trip_keeps_other_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("conf/config.json");
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, r#"{"psFormat": "table {{.ID}}"}"#).unwrap();
        assert_eq!(store(&path, "127.0.0.1:5001", "u", "p:w").unwrap(), StoredIn::File);
        let creds = lookup(&path, "http://127.0.0.1:5001").unwrap();
        assert_eq!(creds, Some(Credentials::Basic { username: "u".into(), password: "p:w".into() }));
        let doc: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(doc["psFormat"], "table {{.ID}}");
        assert_eq!(doc["auths"]["127.0.0.1:5001"]["auth"], "dTpwOnc=");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(erase(&path, "127.0.0.1:5001").unwrap());
        assert!(!erase(&path, "127.0.0.1:5001").unwrap());
        assert_eq!(lookup(&path, "127.0.0.1:5001").unwrap(), None);
    }

    #[test]
    fn missing_file_has_no_credentials() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(lookup(&dir.path().join("none.json"), "quay.io").unwrap(), None);
        assert!(!erase(&dir.path().join("none.json"), "quay.io").unwrap());
    }

    #[test]
    fn broken_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        fs::write(&path, "{not json").unwrap();
        let err = store(&path, "quay.io", "u", "p").unwrap_err();
        assert!(err.to_string().contains("config.json"), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "{not json");
    }

    #[test]
    fn missing_helper_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        fs::write(&path, r#"{"credHelpers": {"quay.io": "berth-no-such-helper"}}"#).unwrap();
        let err = store(&path, "quay.io", "u", "p").unwrap_err();
        assert!(err.to_string().contains("docker-credential-berth-no-such-helper"), "{err}");
        // Other registries still go to the file.
        assert_eq!(store(&path, "ghcr.io", "u", "p").unwrap(), StoredIn::File);
    }
}
