//! `push` against a registry of the test's own: docker's words, only missing
//! blobs uploaded (the registry's log is the witness), cross-repository
//! mounts, skopeo's digest equal to berthctl's; credentials from `login`
//! used by push and pull on the htpasswd registry.

use std::process::Command;

use crate::support::{self, AUTH_PASSWORD, AUTH_USER, Registry, Run, Store};

fn uploads(reg: &Registry) -> usize {
    reg.log().lines().filter(|l| l.contains("PUT /v2/") && l.contains("/blobs/uploads/")).count()
}

#[test]
#[ignore = "needs root"]
fn push_uploads_only_missing_blobs_and_mounts_across_repositories() {
    let images = support::images();
    let reg = Registry::start(false);
    let store = Store::new();
    store.berthctl(["load", "-i"]).arg(images.oci_archive("nginx")).success();
    let first = reg.reference("mine/nginx:v1");
    store.berthctl(["tag", "nginx", &first]).success();
    let out = store.berthctl(["push", &first]).success();
    assert!(out.starts_with(&format!("The push refers to repository [{}]\n", reg.reference("mine/nginx"))), "{out}");
    assert_eq!(out.matches(": Pushed\n").count(), 2, "{out}");
    let digest = images.digest("nginx");
    assert!(out.ends_with(&format!("v1: digest: {digest} size: 508\n")), "{out}");
    assert_eq!(reg.skopeo_digest("mine/nginx:v1"), digest);
    let after_first = uploads(&reg);
    assert_eq!(after_first, 3, "two layers and the config:\n{}", reg.log());

    // Again: nothing uploaded.
    let out = store.berthctl(["push", &first]).success();
    assert_eq!(out.matches(": Layer already exists\n").count(), 2, "{out}");
    assert_eq!(uploads(&reg), after_first);

    // Another repository of the same registry: mounted, not uploaded.
    let second = reg.reference("other/nginx:v2");
    store.berthctl(["tag", "nginx", &second]).success();
    let out = store.berthctl(["push", &second]).success();
    assert_eq!(out.matches(": Mounted from mine/nginx\n").count(), 2, "{out}");
    assert_eq!(uploads(&reg), after_first + 1, "only the config may be uploaded:\n{out}");
    assert_eq!(reg.skopeo_digest("other/nginx:v2"), digest);
    let repo_digests = store.berthctl(["image", "inspect", "--format", "{{json .RepoDigests}}", "nginx"]).success();
    assert!(repo_digests.contains(&format!("{}@{digest}", reg.reference("other/nginx"))), "{repo_digests}");
}

#[test]
#[ignore = "needs root"]
fn push_of_a_loaded_docker_archive_makes_a_manifest_skopeo_reads() {
    let images = support::images();
    let reg = Registry::start(false);
    let store = Store::new();
    store.berthctl(["load", "-i"]).arg(images.busybox_docker_archive()).success();
    let target = reg.reference("loaded/busybox:1");
    store.berthctl(["tag", "busybox", &target]).success();
    assert_eq!(store.berthctl(["push", "-q", &target]).success(), format!("{target}\n"));
    let raw = Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--raw"])
        .arg(format!("docker://{target}"))
        .success();
    let manifest: serde_json::Value = serde_json::from_str(&raw).expect("manifest JSON");
    let id = store.berthctl(["image", "inspect", "--format", "{{.Id}}", "busybox"]).success();
    assert_eq!(manifest["config"]["digest"].as_str(), Some(id.trim()));
    // And back: a fresh store pulls it with the same id.
    let other = Store::new();
    other.berthctl(["pull", "-q", &target]).success();
    let pulled = other.berthctl(["image", "inspect", "--format", "{{.Id}}", &target]).success();
    assert_eq!(pulled, id);
}

#[test]
#[ignore = "needs root"]
fn pull_and_push_on_the_auth_registry_use_the_login() {
    let reg = support::auth_registry();
    let store = Store::new();
    let source = reg.reference("busybox:latest");
    let out = store.berthctl(["pull", &source]).failure();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&reg.addr), "the error names the registry: {err}");
    let out = store.login(&reg.addr, AUTH_USER, AUTH_PASSWORD);
    assert!(out.status.success(), "{out:?}");
    store.berthctl(["pull", "-q", &source]).success();
    let target = reg.reference("pushed/busybox:authed");
    store.berthctl(["tag", &source, &target]).success();
    let out = store.berthctl(["push", &target]).success();
    // The layer is in the busybox repository already: mounted.
    assert!(out.contains("Mounted from busybox"), "{out}");
    assert_eq!(reg.skopeo_digest("pushed/busybox:authed"), support::images().digest("busybox"));
    store.berthctl(["logout", &reg.addr]).success();
    let out = store.berthctl(["push", &target]).failure();
    assert!(String::from_utf8_lossy(&out.stderr).contains(&reg.addr), "{out:?}");
}

/// `RepoTags` of every image in a docker-archive's manifest.json.
fn archive_repo_tags(path: &std::path::Path) -> Vec<String> {
    let mut tar = tar::Archive::new(std::fs::File::open(path).expect("open the archive"));
    for entry in tar.entries().expect("read the archive") {
        let mut entry = entry.expect("an entry");
        if entry.path().expect("a path").to_str() == Some("manifest.json") {
            let manifest: serde_json::Value = serde_json::from_reader(&mut entry).expect("manifest.json");
            let mut tags: Vec<String> = manifest
                .as_array()
                .expect("a list")
                .iter()
                .flat_map(|m| m["RepoTags"].as_array().cloned().unwrap_or_default())
                .map(|t| t.as_str().expect("a tag").to_string())
                .collect();
            tags.sort();
            return tags;
        }
    }
    panic!("no manifest.json in {}", path.display());
}

#[test]
#[ignore = "needs root"]
fn push_all_tags_pull_all_tags_and_save_every_tag_docker_loads() {
    let images = support::images();
    let reg = Registry::start(false);
    let store = Store::new();
    store.berthctl(["load", "-i"]).arg(images.busybox_docker_archive()).success();
    store.berthctl(["load", "-i"]).arg(images.oci_archive("nginx")).success();
    let repo = reg.reference("multi/app");
    for (src, tag) in [("busybox", "one"), ("busybox", "two"), ("nginx", "three")] {
        store.berthctl(["tag", src, &format!("{repo}:{tag}")]).success();
    }
    let out = store.berthctl(["push", "-a", &format!("{repo}:one")]).failure();
    assert!(String::from_utf8_lossy(&out.stderr).contains("tag can't be used with --all-tags/-a"), "{out:?}");
    let out = store.berthctl(["push", "--all-tags", &repo]).success();
    assert_eq!(out.matches("The push refers to repository").count(), 1, "{out}");
    for tag in ["one", "two", "three"] {
        assert!(out.contains(&format!("\n{tag}: digest: sha256:")), "{tag}: {out}");
    }
    assert_eq!(reg.skopeo_digest("multi/app:three"), images.digest("nginx"));
    assert_eq!(store.berthctl(["push", "-a", "-q", &repo]).success(), format!("{repo}\n"));

    // A fresh store pulls every tag the registry lists.
    let other = Store::new();
    let out = other.berthctl(["pull", "-a", &format!("{repo}:one")]).failure();
    assert!(String::from_utf8_lossy(&out.stderr).contains("tag can't be used with --all-tags/-a"), "{out:?}");
    let out = other.berthctl(["pull", "--all-tags", &repo]).success();
    for tag in ["one", "two", "three"] {
        assert!(out.contains(&format!("{tag}: Pulling from multi/app\n")), "{tag}: {out}");
    }
    assert_eq!(out.matches("\nDigest: sha256:").count(), 3, "{out}");
    assert!(out.ends_with(&format!("Status: Downloaded newer image for {repo}\n{repo}\n")), "{out}");
    assert!(!out.contains("Using default tag"), "{out}");
    let tags = other.berthctl(["images", "--format", "{{.Tag}}", &repo]).success();
    let mut tags: Vec<&str> = tags.lines().collect();
    tags.sort();
    assert_eq!(tags, ["one", "three", "two"]);
    let again = other.berthctl(["pull", "-a", &repo]).success();
    assert!(again.ends_with(&format!("Status: Image is up to date for {repo}\n{repo}\n")), "{again}");

    // `save REPO` saves every tag of it; docker loads them all.
    let saved = other.path().join("all.tar");
    other.berthctl(["save", "-o"]).arg(&saved).arg(&repo).success();
    let want: Vec<String> = ["one", "three", "two"].iter().map(|t| format!("{repo}:{t}")).collect();
    assert_eq!(archive_repo_tags(&saved), want);
    let docker = support::Dockerd::start();
    let out = docker.docker(["load", "-i"]).arg(&saved).success();
    for t in &want {
        assert!(out.contains(&format!("Loaded image: {t}\n")), "{t}: {out}");
    }
    let ids = |name: &str| docker.docker(["image", "inspect", "--format", "{{.Id}}", name]).success();
    assert_eq!(ids(&want[0]), ids(&want[2]), "one and two are the same image");
    assert_eq!(ids(&want[1]).trim(), other.berthctl(["image", "inspect", "-f", "{{.Id}}", &want[1]]).success().trim());
}
