//! Crash safety of `pull`: the binary (built with `test-hooks`) kills itself
//! with SIGKILL at each fault point (src/testhook.rs). Afterwards `system
//! check` finds no damage (only garbage, never used), and the next pull
//! completes — without fetching again the blobs that were committed before
//! the kill; where nothing reusable was committed, `--repair` removes the
//! garbage first.

use std::os::unix::process::ExitStatusExt;
use std::process::Command;

use crate::support::{Registry, Run, Store};

/// GET requests for one blob in the registry's log so far.
fn fetches(reg: &Registry, digest: &str) -> usize {
    reg.log().lines().filter(|l| l.contains(&format!("/blobs/{digest}")) && l.contains("GET")).count()
}

fn killed_at(point: &str, image: &str) {
    let reg = Registry::start(false);
    let store = Store::new();
    let name = reg.reference(image);
    let out = store.berthctl(["pull", "-q", &name]).env("BERTH_TEST_FAULT", point).output_of();
    assert_eq!(out.status.signal(), Some(9), "{point}: pull was not killed: {out:?}");
    assert_eq!(store.berthctl(["images", "-q"]).success(), "", "{point}: an image was recorded");

    let check = store.berthctl(["system", "check"]).success();
    assert!(check.ends_with("store is consistent\n"), "{point}: {check}");
    let reuse = point == "pull:blobs" || point == "pull:snapshots";
    if !reuse {
        // Nothing worth keeping was committed: --repair takes the garbage.
        let repaired = store.berthctl(["system", "check", "--repair"]).success();
        assert!(repaired.ends_with("store is consistent\n"), "{point}: {repaired}");
        assert!(!repaired.contains("reclaimable"), "{point}: {repaired}");
    }

    let layers: Vec<String> = {
        let raw = Command::new("skopeo")
            .args(["inspect", "--tls-verify=false", "--raw"])
            .arg(format!("docker://{name}"))
            .success();
        let m: serde_json::Value = serde_json::from_str(&raw).unwrap();
        m["layers"].as_array().unwrap().iter().map(|l| l["digest"].as_str().unwrap().to_string()).collect()
    };
    let before: Vec<usize> = layers.iter().map(|d| fetches(&reg, d)).collect();
    store.berthctl(["pull", "-q", &name]).success();
    let after: Vec<usize> = layers.iter().map(|d| fetches(&reg, d)).collect();
    if reuse {
        assert_eq!(before, after, "{point}: committed blobs were fetched again");
    }
    let check = store.berthctl(["system", "check"]).success();
    assert_eq!(check, "store is consistent\n", "{point}");
    let v: serde_json::Value = serde_json::from_str(&store.berthctl(["image", "inspect", &name]).success()).unwrap();
    let lower = v[0]["GraphDriver"]["Data"]["LowerDir"].as_str().unwrap().to_string();
    assert_eq!(lower.split(':').count(), layers.len());
}

#[test]
#[ignore = "needs root"]
fn pull_killed_after_the_manifest() {
    killed_at("pull:manifest", "nginx:latest");
}

#[test]
#[ignore = "needs root"]
fn pull_killed_in_the_middle_of_a_layer() {
    killed_at("pull:layer", "nginx:latest");
}

#[test]
#[ignore = "needs root"]
fn pull_killed_after_the_blobs_were_committed() {
    killed_at("pull:blobs", "nginx:latest");
}

#[test]
#[ignore = "needs root"]
fn pull_killed_after_the_snapshots_were_committed() {
    killed_at("pull:snapshots", "nginx:latest");
}
