//! `volume create|ls|inspect|rm|prune` against a private store: docker's
//! output, messages and rules (names, labels, options, anonymous volumes,
//! prune only anonymous unless `-a`). Each test checks that nothing
//! outside its own data root changed.

use std::path::Path;

use crate::support::{Outside, Run, Store};

fn inspect(store: &Store, name: &str) -> serde_json::Value {
    let out = store.berthctl(["volume", "inspect", name]).success();
    let v: serde_json::Value = serde_json::from_str(&out).expect("volume inspect prints JSON");
    v[0].clone()
}

#[test]
fn create_by_name_flag_and_positional_then_inspect() {
    let outside = Outside::snapshot();
    let store = Store::new();
    assert_eq!(store.berthctl(["volume", "create", "--name=vol1"]).success(), "vol1\n");
    assert_eq!(
        store.berthctl(["volume", "create", "vol2", "--label", "team=db", "--label", "bare"]).success(),
        "vol2\n"
    );
    let v = inspect(&store, "vol1");
    let mountpoint = store.root.join("volumes/vol1/_data");
    assert_eq!(v["Name"], "vol1");
    assert_eq!(v["Driver"], "local");
    assert_eq!(v["Scope"], "local");
    assert_eq!(v["Mountpoint"], mountpoint.to_string_lossy().as_ref());
    assert_eq!(v["Labels"], serde_json::json!({}));
    assert!(mountpoint.is_dir());
    let created = v["CreatedAt"].as_str().unwrap();
    assert!(chrono_like(created), "CreatedAt {created:?} is not RFC 3339 in seconds");
    assert_eq!(inspect(&store, "vol2")["Labels"], serde_json::json!({"bare": "", "team": "db"}));
    // idempotent, as docker's
    assert_eq!(store.berthctl(["volume", "create", "vol1"]).success(), "vol1\n");
    let both = store.berthctl(["volume", "create", "--name", "x1", "x2"]).failure();
    assert!(String::from_utf8_lossy(&both.stderr).contains("conflicting options"));
    let fmt =
        store.berthctl(["volume", "inspect", "--format", "{{.Name}} {{.Driver}} {{.Labels.team}}", "vol2"]).success();
    assert_eq!(fmt, "vol2 local db\n");
    outside.assert_unchanged(&store);
}

/// `2026-12-02T15:04:05Z` or with an offset.
fn chrono_like(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 20 && b[4] == b'-' && b[10] == b'T' && b[13] == b':' && !s.contains('.')
}

#[test]
fn invalid_names_are_refused_with_dockers_message() {
    let outside = Outside::snapshot();
    let store = Store::new();
    for bad in ["a", "_lead", "has/slash", "../up", "sp ace"] {
        let out = store.berthctl(["volume", "create", bad]).failure();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("\"{bad}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed")),
            "{bad}: {err}"
        );
    }
    assert!(
        !store.root.join("volumes").exists() || std::fs::read_dir(store.root.join("volumes")).unwrap().count() == 0
    );
    outside.assert_unchanged(&store);
}

#[test]
fn options_and_drivers() {
    let outside = Outside::snapshot();
    let store = Store::new();
    store
        .berthctl([
            "volume",
            "create",
            "-d",
            "local",
            "-o",
            "type=tmpfs",
            "-o",
            "device=tmpfs",
            "-o",
            "o=size=1m",
            "tv",
        ])
        .success();
    let v = inspect(&store, "tv");
    assert_eq!(v["Options"], serde_json::json!({"device": "tmpfs", "o": "size=1m", "type": "tmpfs"}));
    let out = store.berthctl(["volume", "create", "-o", "bogus=1", "bv"]).failure();
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid option key: \"bogus\""));
    let out = store.berthctl(["volume", "create", "-d", "nfs", "nv"]).failure();
    assert!(String::from_utf8_lossy(&out.stderr).contains("volume driver \"nfs\" not found"));
    assert!(!store.root.join("volumes/bv").exists() && !store.root.join("volumes/nv").exists());
    outside.assert_unchanged(&store);
}

#[test]
fn ls_quiet_filters_and_format() {
    let outside = Outside::snapshot();
    let store = Store::new();
    store.berthctl(["volume", "create", "web-data", "--label", "app=web"]).success();
    store.berthctl(["volume", "create", "db-data", "--label", "app=db", "--label", "tier=back"]).success();
    let anon = store.berthctl(["volume", "create"]).success().trim().to_string();
    assert_eq!(anon.len(), 64, "a name-less create gets docker's 64-hex name");
    let table = store.berthctl(["volume", "ls"]).success();
    // Sorted by name: where the random hex name falls depends on its first digit.
    let mut names = [anon.as_str(), "db-data", "web-data"];
    names.sort_unstable();
    let want =
        format!("DRIVER    VOLUME NAME\nlocal     {}\nlocal     {}\nlocal     {}\n", names[0], names[1], names[2]);
    assert_eq!(table, want);
    assert_eq!(store.berthctl(["volume", "ls", "-q", "--filter", "name=data"]).success(), "db-data\nweb-data\n");
    assert_eq!(store.berthctl(["volume", "ls", "-q", "-f", "label=app=db"]).success(), "db-data\n");
    assert_eq!(store.berthctl(["volume", "ls", "-q", "-f", "label=app", "-f", "label=tier"]).success(), "db-data\n");
    assert_eq!(store.berthctl(["volume", "ls", "-q", "-f", "dangling=true", "-f", "name=web"]).success(), "web-data\n");
    assert_eq!(store.berthctl(["volume", "ls", "-q", "-f", "dangling=false"]).success(), "");
    let custom = store
        .berthctl(["volume", "ls", "-f", "name=web", "--format", "{{.Name}}: {{.Labels}} {{.Label \"app\"}}"])
        .success();
    assert_eq!(custom, "web-data: app=web web\n");
    // "db-" and not "db": the anonymous volume's random hex name may contain "db".
    let json = store.berthctl(["volume", "ls", "-f", "name=db-", "--format", "json"]).success();
    let row: serde_json::Value = serde_json::from_str(json.trim()).expect("one JSON object per line");
    assert_eq!(row["Name"], "db-data");
    assert_eq!(row["Mountpoint"], store.root.join("volumes/db-data/_data").to_string_lossy().as_ref());
    let bad = store.berthctl(["volume", "ls", "-f", "colour=red"]).failure();
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid filter 'colour'"));
    outside.assert_unchanged(&store);
}

#[test]
fn rm_and_inspect_missing_volumes() {
    let outside = Outside::snapshot();
    let store = Store::new();
    store.berthctl(["volume", "create", "gone"]).success();
    std::fs::write(store.root.join("volumes/gone/_data/file"), b"data").expect("write into the volume");
    assert_eq!(store.berthctl(["volume", "rm", "gone"]).success(), "gone\n");
    assert!(!store.root.join("volumes/gone").exists());
    let out = store.berthctl(["volume", "rm", "gone"]).failure();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("No such volume: gone"));
    store.berthctl(["volume", "rm", "-f", "gone"]).success();
    let out = store.berthctl(["volume", "inspect", "gone"]).failure();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "[]\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("No such volume: gone"));
    outside.assert_unchanged(&store);
}

#[test]
fn prune_takes_anonymous_volumes_unless_all() {
    let outside = Outside::snapshot();
    let store = Store::new();
    store.berthctl(["volume", "create", "named"]).success();
    let anon = store.berthctl(["volume", "create"]).success().trim().to_string();
    std::fs::write(store.root.join("volumes").join(&anon).join("_data/f"), vec![7u8; 1500]).expect("fill");
    let out = store.berthctl(["volume", "prune", "-f"]).success();
    assert_eq!(out, format!("Deleted Volumes:\n{anon}\n\nTotal reclaimed space: 1.5kB\n"));
    assert_eq!(store.berthctl(["volume", "ls", "-q"]).success(), "named\n");
    // Without -f it asks; anything but y keeps everything.
    let mut cmd = store.berthctl(["volume", "prune", "-a"]);
    let out = with_stdin(&mut cmd, "n\n");
    assert!(out.contains("WARNING! This will remove all local volumes not used by at least one container."), "{out}");
    assert_eq!(store.berthctl(["volume", "ls", "-q"]).success(), "named\n");
    let mut cmd = store.berthctl(["volume", "prune", "-a"]);
    assert!(with_stdin(&mut cmd, "y\n").contains("Deleted Volumes:\nnamed\n"));
    assert_eq!(store.berthctl(["volume", "ls", "-q"]).success(), "");
    assert_eq!(store.berthctl(["volume", "prune", "-f"]).success(), "Total reclaimed space: 0B\n");
    outside.assert_unchanged(&store);
}

fn with_stdin(cmd: &mut std::process::Command, input: &str) -> String {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    child.stdin.take().expect("piped stdin").write_all(input.as_bytes()).expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn volume_symlinks_never_reach_another_volume_on_rm_or_prune() {
    let outside = Outside::snapshot();
    let store = Store::new();
    store.berthctl(["volume", "create", "victim"]).success();
    store.berthctl(["volume", "create", "evil"]).success();
    let victim = store.root.join("volumes/victim/_data");
    std::fs::write(victim.join("precious"), b"keep me").expect("write");
    let evil = store.root.join("volumes/evil/_data");
    std::os::unix::fs::symlink("../../victim/_data", evil.join("rel")).expect("symlink");
    std::os::unix::fs::symlink(&victim, evil.join("abs")).expect("symlink");
    std::os::unix::fs::symlink("/", evil.join("root")).expect("symlink");
    store.berthctl(["volume", "rm", "evil"]).success();
    assert_eq!(std::fs::read(victim.join("precious")).expect("victim's file"), b"keep me");
    assert!(Path::new("/etc/passwd").exists());
    outside.assert_unchanged(&store);
}
