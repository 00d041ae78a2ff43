//! docker's output rules as a user meets them on the command line: `version`
//! and `info` with `--format` templates and `json`, and the exit statuses of
//! template errors (64 for a template that does not parse, 1 for one that
//! fails on the data), printed bare as docker prints them.

use std::io::Write;
use std::process::Stdio;

use crate::support::{Run, Store};

/// `import -` of a one-file rootfs as `name`.
fn import(store: &Store, name: &str) {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_path("hello").unwrap();
    h.set_size(name.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append(&h, name.as_bytes()).unwrap();
    let data = b.into_inner().unwrap();
    let mut child = store
        .berthctl(["import", "-", name])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "import {name}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn version_format_reaches_docker_fields() {
    let store = Store::new();
    let out = store.berthctl(["version", "--format", "{{.Client.Version}} {{.Client.Os}}"]).success();
    assert_eq!(out, format!("{} linux\n", env!("CARGO_PKG_VERSION")));
    let json = store.berthctl(["version", "-f", "json"]).success();
    let v: serde_json::Value = serde_json::from_str(&json).expect("version -f json is JSON");
    let names: Vec<&str> =
        v["Server"]["Components"].as_array().unwrap().iter().map(|c| c["Name"].as_str().unwrap()).collect();
    assert_eq!(names[0], "Engine");
    // The runtime, then docker-init when `--init` has a binary (tini-static).
    assert!(names.len() == 2 || (names.len() == 3 && names[2] == "docker-init"), "{json}");
}

#[test]
fn version_default_layout_is_aligned_like_dockers() {
    let store = Store::new();
    let out = store.berthctl(["version"]).success();
    assert!(out.starts_with("Client: berthctl\n Version:           "), "{out}");
    assert!(out.contains("\nServer: berthctl (daemonless)\n Engine:\n  Version:          "), "{out}");
}

#[test]
fn info_shows_counts_host_and_roots() {
    let store = Store::new();
    let out = store.berthctl(["info"]).success();
    for line in ["\n Containers: ", "\n  Running: ", "\n Images: ", "\n Storage Driver: overlay2\n", "\n CPUs: "] {
        assert!(out.contains(line), "{line:?} missing in:\n{out}");
    }
    assert!(out.contains(&format!(" Docker Root Dir: {}\n", store.root.display())), "{out}");
    assert!(out.contains(&format!(" Run Root Dir: {}\n", store.runroot.display())), "{out}");
    let fields = store.berthctl(["info", "-f", "{{.Driver}} {{.OSType}} {{.CgroupVersion}}"]).success();
    assert!(fields == "overlay2 linux 1\n" || fields == "overlay2 linux 2\n", "{fields}");
}

#[test]
fn info_counts_the_images_in_the_store() {
    let store = Store::new();
    assert_eq!(store.berthctl(["info", "-f", "{{.Images}}"]).success(), "0\n");
    assert!(!store.root.join("berth.db").exists(), "info created a database");
    import(&store, "one:1");
    import(&store, "two:1");
    assert_eq!(store.berthctl(["info", "-f", "{{.Images}} {{.Containers}}"]).success(), "2 0\n");
    assert!(store.berthctl(["info"]).success().contains("\n Images: 2\n"));
}

#[test]
fn images_quiet_repeats_an_id_per_tag_as_docker() {
    let store = Store::new();
    import(&store, "one:1");
    store.berthctl(["tag", "one:1", "one:2"]).success();
    let ids = store.berthctl(["images", "-q"]).success();
    let lines: Vec<&str> = ids.lines().collect();
    assert_eq!(lines.len(), 2, "{ids}");
    assert_eq!(lines[0], lines[1]);
    let table = store.berthctl(["images", "--format", "table {{.Repository}}:{{.Tag}}"]).success();
    let mut rows: Vec<&str> = table.lines().skip(1).collect();
    rows.sort_unstable();
    assert_eq!(rows, ["one:1", "one:2"], "{table}");
}

#[test]
fn template_that_does_not_parse_exits_64_with_dockers_words() {
    let store = Store::new();
    let out = store.berthctl(["info", "--format", "{{.Driver"]).failure();
    assert_eq!(out.status.code(), Some(64));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "template parsing error: template: :1: unclosed action\n");
    let out = store.berthctl(["version", "-f", "{{nosuch .}}"]).failure();
    assert_eq!(out.status.code(), Some(64));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err, "template parsing error: template: version:1: function \"nosuch\" not defined\n");
    assert!(out.stdout.is_empty());
}

#[test]
fn template_that_fails_on_the_data_exits_1() {
    let store = Store::new();
    let out = store.berthctl(["info", "--format", "{{.NoSuchField}}"]).failure();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NoSuchField"));
}

#[test]
fn inspect_template_errors_keep_dockers_words_and_status() {
    let store = Store::new();
    let out = store.berthctl(["network", "inspect", "-f", "{{.Name", "bridge"]).failure();
    assert_eq!(out.status.code(), Some(64));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "template parsing error: template: :1: unclosed action\n");
    assert!(out.stdout.is_empty());
    import(&store, "img:1");
    let out = store.berthctl(["image", "inspect", "-f", "{{.Nope}}", "img:1"]).failure();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err, "template parsing error: map has no entry for key \"Nope\"\n");
}

#[test]
fn inspect_finds_any_kind_of_object_in_dockers_order() {
    let store = Store::new();
    import(&store, "img:1");
    store.berthctl(["volume", "create", "vol1"]).success();
    let out = store.berthctl(["inspect", "-f", "{{.Name}}", "bridge", "vol1"]).success();
    assert_eq!(out, "bridge\nvol1\n");
    assert_eq!(store.berthctl(["inspect", "-f", "{{.Os}}", "img:1"]).success(), "linux\n");
    let out = store.berthctl(["inspect", "-f", "{{.Name}}", "vol1", "nosuch"]).failure();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "vol1\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "Error: No such object: nosuch\n");
    let out = store.berthctl(["inspect", "--type", "volume", "bridge"]).failure();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "[]\n");
    let out = store.berthctl(["inspect", "--type", "bogus", "x"]).failure();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("unknown type: \"bogus\": must be one of \"config\""));
}

#[test]
#[ignore = "needs root"]
fn inspect_and_info_see_containers() {
    let store = Store::new();
    import(&store, "img:1");
    store.berthctl(["create", "--name", "c1", "img:1", "/hello"]).success();
    let out = store.berthctl(["inspect", "-f", "{{.Name}} {{.State.Status}}", "c1"]).success();
    assert_eq!(out, "/c1 created\n");
    let out = store.berthctl(["inspect", "--type", "container", "img:1"]).failure();
    assert_eq!(String::from_utf8_lossy(&out.stderr), "Error: No such object: img:1\n");
    let counts = store.berthctl(["info", "-f", "{{.Containers}} {{.ContainersStopped}} {{.Images}}"]).success();
    assert_eq!(counts, "1 1 1\n");
    store.berthctl(["rm", "c1"]).success();
}
