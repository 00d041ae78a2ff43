//! `login` / `logout` against the htpasswd registry: docker's messages and
//! exit codes, credentials in docker's config.json format (skopeo reads the
//! file berthctl wrote), a credential helper used when the file names one.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use crate::support::{self, AUTH_PASSWORD, AUTH_USER, Run, Store};

#[test]
#[ignore = "needs root"]
fn wrong_password_is_refused_with_status_1_and_nothing_stored() {
    let store = Store::new();
    let reg = support::auth_registry();
    let out = store.login(&reg.addr, AUTH_USER, "not-the-password");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("unauthorized"), "{out:?}");
    assert!(!store.auth_file().exists(), "credentials stored after a failed login");
}

#[test]
#[ignore = "needs root"]
fn login_stores_docker_format_credentials_skopeo_can_use_and_logout_removes_them() {
    let store = Store::new();
    let reg = support::auth_registry();
    let out = store.login(&reg.addr, AUTH_USER, AUTH_PASSWORD);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Login Succeeded\n");
    let mode = fs::metadata(store.auth_file()).expect("config.json written").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    // skopeo reads docker's format: the file berthctl wrote gets it in.
    let digest = Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--format", "{{.Digest}}", "--authfile"])
        .arg(store.auth_file())
        .arg(format!("docker://{}", reg.reference("busybox:latest")))
        .success();
    assert_eq!(digest.trim(), support::images().digest("busybox"));

    let out = store.berthctl(["logout", &reg.addr]).success();
    assert_eq!(out, format!("Removing login credentials for {}\n", reg.addr));
    let doc: serde_json::Value = serde_json::from_str(&support::read(&store.auth_file())).expect("json");
    assert!(doc["auths"].get(&reg.addr).is_none(), "{doc}");
    let out = store.berthctl(["logout", &reg.addr]).success();
    assert_eq!(out, format!("Not logged in to {}\n", reg.addr));
}

#[test]
fn login_without_a_terminal_or_username_fails_as_docker() {
    let store = Store::new();
    let out = store.berthctl(["login", "127.0.0.1:1"]).stdin(Stdio::null()).failure();
    assert!(String::from_utf8_lossy(&out.stderr).contains("Cannot perform an interactive login from a non TTY device"));
    let out = store.berthctl(["login", "--password-stdin", "127.0.0.1:1"]).stdin(Stdio::null()).failure();
    assert!(String::from_utf8_lossy(&out.stderr).contains("Must provide --username with --password-stdin"));
}

/// A `docker-credential-berthtest` that keeps what it is given in a file
/// beside itself: store writes it, get prints it, erase removes it.
fn fake_helper(dir: &std::path::Path) {
    let script = r#"#!/bin/sh
d=$(dirname "$0")
case "$1" in
store) cat > "$d/stored.json" ;;
get) read server; if [ -f "$d/stored.json" ]; then cat "$d/stored.json"; else echo "credentials not found in native keychain"; exit 1; fi ;;
erase) read server; if [ -f "$d/stored.json" ]; then echo "$server" > "$d/erased"; rm "$d/stored.json"; else echo "credentials not found in native keychain"; exit 1; fi ;;
esac
"#;
    let p = dir.join("docker-credential-berthtest");
    fs::write(&p, script).expect("write the helper");
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).expect("chmod the helper");
}

#[test]
#[ignore = "needs root"]
fn credential_helper_named_in_the_file_holds_the_secret() {
    let store = Store::new();
    let reg = support::auth_registry();
    let bin = store.path().join("bin");
    fs::create_dir_all(&bin).expect("mkdir bin");
    fake_helper(&bin);
    fs::create_dir_all(store.docker_config_dir()).expect("mkdir config");
    fs::write(store.auth_file(), r#"{"credsStore": "berthtest"}"#).expect("write config.json");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let mut child = store
        .berthctl(["login", "-u", AUTH_USER, "--password-stdin", &reg.addr])
        .env("PATH", &path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn login");
    writeln!(child.stdin.take().expect("stdin"), "{AUTH_PASSWORD}").expect("write password");
    let out = child.wait_with_output().expect("wait login");
    assert!(out.status.success(), "{out:?}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("unencrypted"), "{out:?}");
    let stored: serde_json::Value =
        serde_json::from_str(&support::read(&bin.join("stored.json"))).expect("helper got JSON");
    assert_eq!(stored["ServerURL"], reg.addr.as_str());
    assert_eq!(stored["Username"], AUTH_USER);
    assert_eq!(stored["Secret"], AUTH_PASSWORD);
    assert!(!support::read(&store.auth_file()).contains("auths"), "secret leaked into the file");

    let out = store.berthctl(["logout", &reg.addr]).env("PATH", &path).success();
    assert!(out.starts_with("Removing login credentials"), "{out}");
    assert_eq!(support::read(&bin.join("erased")).trim(), reg.addr);
}
