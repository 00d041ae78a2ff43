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
