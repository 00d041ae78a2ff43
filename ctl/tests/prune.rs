//! `system prune` as a docker user runs it: docker's prompt, stopped
//! containers, unused networks, anonymous volumes (`--volumes`), dangling
//! images (every unused one with `-a`) removed in docker's order with their
//! "Deleted …:" blocks and one "Total reclaimed space:" line, and the space
//! really returned (measured with `du`); nothing a running container or a
//! tagged image needs is touched.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::containers::Ctl;
use crate::support::Run;

fn du(p: &Path) -> u64 {
    let out = Command::new("du").args(["-s", "--block-size=1"]).arg(p).success();
    out.split_whitespace().next().unwrap().parse().unwrap()
}

fn with_stdin(mut cmd: Command, input: &[u8]) -> std::process::Output {
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input).unwrap();
    drop(stdin);
    child.wait_with_output().unwrap()
}

/// A rootfs tar with one file of `size` bytes of one letter.
fn big_layer(letter: u8, size: usize) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_path("big").unwrap();
    h.set_size(size as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append(&h, &vec![letter; size][..]).unwrap();
    b.into_inner().unwrap()
}

#[test]
#[ignore = "needs root"]
fn system_prune_asks_first_and_answering_no_removes_nothing() {
    let ctl = Ctl::new();
    ctl.run(["--name", "stopped", "busybox", "true"]).success();
    ctl.cmd(["network", "create", "unused"]).success();
    let out = with_stdin(ctl.cmd(["system", "prune", "--volumes", "--filter", "label=a=b"]), b"n\n");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  \
         - all anonymous volumes not used by at least one container\n  - all dangling images\n  - unused build cache\n\n  \
         Items to be pruned will be filtered with:\n  - label=a=b\n\nAre you sure you want to continue? [y/N] "
    );
    assert_eq!(ctl.cmd(["ps", "-aq"]).success().lines().count(), 1);
    assert!(ctl.cmd(["network", "ls", "-q", "--filter", "name=unused"]).success().trim().len() == 12);
    let out = ctl.cmd(["system", "prune", "-f", "--volumes", "--filter", "until=1h"]).failure();
    let out = String::from_utf8_lossy(&out.stderr);
    assert!(out.contains(r#"The "until" filter is not supported with "--volumes""#), "{out}");
}

#[test]
#[ignore = "needs root"]
fn system_prune_removes_what_nothing_uses_and_du_sees_the_space() {
    let ctl = Ctl::new();
    let root = ctl.store.root.clone();
    // A dangling image of 4 MiB, a stopped container that wrote 3 MB, one
    // with an anonymous volume of 2 MB, an unused network; and a running
    // container on busybox, which must survive everything.
    let out = with_stdin(ctl.cmd(["import", "-"]), &big_layer(b'd', 4 << 20));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dangling = String::from_utf8_lossy(&out.stdout).trim().to_string();
    ctl.run(["--name", "wrote", "busybox", "sh", "-c", "head -c 3000000 /dev/zero > /big"]).success();
    ctl.run(["--name", "vol", "-v", "/data", "busybox", "sh", "-c", "head -c 2000000 /dev/zero > /data/big"]).success();
    ctl.run(["-d", "--name", "live", "busybox", "sleep", "600"]).success();
    ctl.cmd(["network", "create", "unused"]).success();
    let before = du(&root);

    let out = ctl.cmd(["system", "prune", "-f", "--volumes"]).success();
    let live = ctl.inspect("live", "{{.Id}}");
    assert!(!out.contains(&live), "a running container was pruned: {out}");
    let blocks: Vec<&str> = out.split("\n\n").collect();
    assert!(blocks[0].starts_with("Deleted Containers:\n") && blocks[0].lines().count() == 3, "{out}");
    assert_eq!(blocks[1], "Deleted Networks:\nunused", "{out}");
    assert!(blocks[2].starts_with("Deleted Volumes:\n") && blocks[2].lines().count() == 2, "{out}");
    assert!(blocks[3].starts_with(&format!("Deleted Images:\ndeleted: {dangling}")), "{out}");
    let total = blocks[4].strip_prefix("Total reclaimed space: ").expect("the total line");
    assert!(total.ends_with("MB\n"), "{out}");
    let mb: f64 = total.trim_end_matches("MB\n").parse().unwrap();
    assert!(mb > 9.0, "reclaimed {mb} MB: {out}");
    let after = du(&root);
    assert!(before - after > 9_000_000, "du: {before} -> {after}");

    // busybox is tagged and used: still there, the live container too.
    assert_eq!(ctl.cmd(["ps", "-aq"]).success().lines().count(), 1);
    assert!(ctl.cmd(["images", "-q", "busybox"]).success().trim().len() == 12);
    assert_eq!(ctl.cmd(["system", "prune", "-f"]).success(), "Total reclaimed space: 0B\n");

    // With -a, once nothing runs on it, busybox goes too and every blob
    // and snapshot with it.
    ctl.cmd(["rm", "-f", "live"]).success();
    let out = ctl.cmd(["system", "prune", "-a", "-f"]).success();
    assert!(out.starts_with("Deleted Images:\nuntagged: busybox:latest\ndeleted: sha256:"), "{out}");
    assert_eq!(std::fs::read_dir(root.join("snapshots")).unwrap().count(), 0);
    assert_eq!(std::fs::read_dir(root.join("content/blobs/sha256")).unwrap().count(), 0);
    ctl.assert_clean();
}

/// `system prune` takes the build cache as docker's does (its last pruner,
/// "Deleted build cache objects:"), and its total counts what that freed: a
/// 3 MB layer only the step images of an untagged build held is reclaimed;
/// a tagged image stays, its cache goes, and the next build runs its steps
/// again; `-a` takes the image and its cache.
#[test]
#[ignore = "needs root"]
fn system_prune_reclaims_the_build_cache() {
    let ctl = Ctl::new();
    let ctx = ctl.store.path().join("ctx");
    std::fs::create_dir(&ctx).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM busybox\nRUN head -c 3000000 /dev/urandom > /big\nRUN echo small > /small\n",
    )
    .unwrap();
    let build = |tag: &[&str]| {
        let mut c = ctl.cmd(["build", "--network", "none", "--cgroup-parent", ctl.cgroup_parent()]);
        c.env("DOCKER_BUILDKIT", "0");
        c.args(tag).arg(&ctx);
        c.success()
    };
    build(&[]);
    let root = ctl.store.root.clone();
    let before = du(&root);
    let out = ctl.cmd(["system", "prune", "-f"]).success();
    let blocks: Vec<&str> = out.split("\n\n").collect();
    assert_eq!(blocks.len(), 3, "{out}");
    assert!(blocks[0].starts_with("Deleted Images:\ndeleted: sha256:") && blocks[0].lines().count() == 2, "{out}");
    let cache: Vec<&str> = blocks[1].lines().collect();
    assert_eq!(cache[0], "Deleted build cache objects:", "{out}");
    assert!(cache.len() == 2 && cache[1].len() == 64, "the first step's image: {out}");
    let total = blocks[2].strip_prefix("Total reclaimed space: ").expect("the total line");
    let mb: f64 = total.strip_suffix("MB\n").unwrap_or_else(|| panic!("{out}")).parse().unwrap();
    assert!(mb > 3.0, "reclaimed {mb} MB: {out}");
    assert!(before - du(&root) > 3_000_000, "du: {before} -> {}", du(&root));
    assert_eq!(ctl.cmd(["images", "-aq"]).success().lines().count(), 1, "busybox only");

    // Tagged: the image stays and runs, its cache goes.
    build(&["-t", "small"]);
    let out = ctl.cmd(["system", "prune", "-f"]).success();
    assert!(out.starts_with("Deleted build cache objects:\n"), "{out}");
    assert_eq!(ctl.run(["--rm", "--network", "none", "small", "cat", "/small"]).success(), "small\n");
    assert_eq!(ctl.cmd(["builder", "prune", "-f"]).success(), "Total reclaimed space: 0B\n");
    let again = build(&["-t", "small"]);
    assert!(!again.contains("Using cache"), "{again}");
    let out = ctl.cmd(["system", "prune", "-a", "-f"]).success();
    assert!(out.contains("untagged: small:latest\n"), "{out}");
    assert!(out.contains("\n\nDeleted build cache objects:\n"), "{out}");
    assert_eq!(ctl.cmd(["images", "-aq"]).success(), "", "{out}");
    ctl.assert_clean();
}
