//! `commit`, `diff`, `export` and `cp` as a docker user checks them: the
//! committed image runs with the change and its `-c` config, diff's A/C/D
//! lines, export's tar, cp both ways (archive mode, tars on stdin/stdout)
//! with running and stopped containers, a symlink that points out of the
//! rootfs staying inside it, and a failed commit leaving nothing behind.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Stdio;

use crate::containers::Ctl;
use crate::support::Run;

/// A stopped container `name` that ran `script` in busybox.
fn ran(ctl: &Ctl, name: &str, script: &str) {
    ctl.run(["--name", name, "busybox", "sh", "-c", script]).success();
}

/// A running container `name` (sleeps until stopped).
fn running(ctl: &Ctl, name: &str, setup: &str) {
    let script = format!("{setup}; trap 'exit 0' TERM; while true; do sleep 1; done");
    ctl.run(["-d", "--name", name, "busybox", "sh", "-c", &script]).success();
    ctl.wait_for(name, "{{.State.Status}}", "running");
}

/// The names in a tar, in order.
pub fn tar_names(tar: &[u8]) -> Vec<String> {
    let mut a = tar::Archive::new(tar);
    a.entries().unwrap().map(|e| String::from_utf8_lossy(&e.unwrap().path_bytes()).into_owned()).collect()
}

/// (uid, content) of one entry of a tar.
fn tar_file(tar: &[u8], name: &str) -> Option<(u64, Vec<u8>)> {
    let mut a = tar::Archive::new(tar);
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path_bytes().as_ref() == name.as_bytes() {
            let uid = e.header().uid().unwrap();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut data).unwrap();
            return Some((uid, data));
        }
    }
    None
}

fn count(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

#[test]
#[ignore = "needs root"]
fn commit_then_run_sees_the_change_and_the_new_config() {
    let ctl = Ctl::new();
    ran(&ctl, "c1", "echo hi > /new; rm /etc/group");
    let id = ctl
        .cmd([
            "commit",
            "-a",
            "Ann <ann@example.com>",
            "-m",
            "added new",
            "-c",
            r#"CMD ["cat", "/new"]"#,
            "-c",
            "ENV A=1",
            "-c",
            "HEALTHCHECK --interval=3s CMD true",
            "-c",
            "STOPSIGNAL SIGUSR1",
        ])
        .args(["c1", "mine:v1"])
        .success();
    assert!(id.trim().starts_with("sha256:") && id.trim().len() == 71, "{id}");
    assert_eq!(ctl.run(["--rm", "mine:v1"]).success(), "hi\n");
    let out = ctl.run(["--rm", "mine:v1", "sh", "-c", "echo $A; test -e /etc/group || echo gone"]).success();
    assert_eq!(out, "1\ngone\n");
    let history = ctl.cmd(["history", "--format", "{{.CreatedBy}}|{{.Comment}}", "mine:v1"]).success();
    assert_eq!(history.lines().next(), Some("sh -c echo hi > /new; rm /etc/group|added new"), "{history}");
    assert_eq!(ctl.inspect("mine:v1", "{{.Author}} {{len .RootFS.Layers}}"), "Ann <ann@example.com> 2");
    assert_eq!(ctl.inspect("mine:v1", "{{.Config.StopSignal}}"), "SIGUSR1");
    let health: serde_json::Value =
        serde_json::from_str(&ctl.inspect("mine:v1", "{{json .Config.Healthcheck}}")).unwrap();
    assert_eq!(health, serde_json::json!({"Test": ["CMD-SHELL", "true"], "Interval": 3_000_000_000u64}));
    assert_eq!(ctl.inspect("mine:v1", "{{.Id}}"), id.trim());
    // Without a name: a dangling image, shown by its id.
    let id2 = ctl.cmd(["commit", "c1"]).success();
    assert!(ctl.cmd(["images", "-q", "--no-trunc"]).success().contains(id2.trim()));
}

#[test]
#[ignore = "needs root"]
fn commit_of_a_running_container_resumes_it() {
    let ctl = Ctl::new();
    running(&ctl, "r1", "echo live > /state");
    ctl.cmd(["commit", "r1", "snap"]).success();
    assert_eq!(ctl.inspect("r1", "{{.State.Status}}"), "running");
    ctl.cmd(["commit", "--pause=false", "r1", "snap:2"]).success();
    assert_eq!(ctl.run(["--rm", "snap:2", "cat", "/state"]).success(), "live\n");
    // Nothing changed: docker's empty layer, recorded as such.
    ran(&ctl, "same", "true");
    ctl.cmd(["commit", "same", "same-img"]).success();
    assert_eq!(ctl.inspect("same-img", "{{len .RootFS.Layers}}"), "1");
}

#[test]
#[ignore = "needs root"]
fn failed_commit_leaves_nothing_behind() {
    let ctl = Ctl::new();
    ran(&ctl, "c1", "echo hi > /new");
    let root = &ctl.store.root;
    let before = (count(&root.join("content/blobs/sha256")), count(&root.join("snapshots")));
    let out = ctl.cmd(["commit", "-c", "ADD x /", "c1", "bad"]).failure();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "Error response from daemon: ADD is not a valid change command\n");
    let out = ctl.cmd(["commit", "nosuch"]).failure();
    assert_eq!(String::from_utf8_lossy(&out.stderr), "Error response from daemon: No such container: nosuch\n");
    assert_eq!((count(&root.join("content/blobs/sha256")), count(&root.join("snapshots"))), before);
    assert_eq!(count(&root.join("content/ingest")), 0);
    assert!(!ctl.cmd(["images"]).success().contains("bad"));
}

#[cfg(feature = "test-hooks")]
#[test]
#[ignore = "needs root"]
fn commit_killed_mid_layer_leaves_nothing_after_recovery() {
    let ctl = Ctl::new();
    ran(&ctl, "c1", "echo hi > /new");
    let root = &ctl.store.root;
    let before = (count(&root.join("content/blobs/sha256")), count(&root.join("snapshots")));
    let out = ctl.cmd(["commit", "c1", "half"]).env("BERTH_TEST_FAULT", "commit:layer").output_of();
    assert!(!out.status.success());
    assert!(!ctl.cmd(["images"]).success().contains("half"));
    // The next writer clears what the killed one left; its own commit adds one layer.
    ctl.cmd(["commit", "c1", "whole"]).success();
    let after = (count(&root.join("content/blobs/sha256")), count(&root.join("snapshots")));
    assert_eq!(after, (before.0 + 3, before.1 + 1), "a blob each for layer, config, manifest");
    assert_eq!(count(&root.join("content/ingest")), 0);
}

#[test]
#[ignore = "needs root"]
fn diff_lists_added_changed_and_deleted_paths() {
    let ctl = Ctl::new();
    ran(&ctl, "d1", "echo hi > /new; rm /etc/group; echo x >> /etc/passwd; mkdir -p /srv/a/b");
    let out = ctl.cmd(["diff", "d1"]).success();
    assert_eq!(out, "C /etc\nD /etc/group\nC /etc/passwd\nA /new\nA /srv\nA /srv/a\nA /srv/a/b\n");
    // A fresh container has none (the runtime's mount targets are not changes).
    ran(&ctl, "d2", "true");
    assert_eq!(ctl.cmd(["diff", "d2"]).success(), "");
    let out = ctl.cmd(["diff", "nosuch"]).failure();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
#[ignore = "needs root"]
fn export_writes_the_flattened_rootfs() {
    let ctl = Ctl::new();
    ran(&ctl, "e1", "echo hi > /new; rm /etc/group");
    let file = ctl.store.path().join("e1.tar");
    ctl.cmd(["export", "-o"]).arg(&file).arg("e1").success();
    let tar = std::fs::read(&file).unwrap();
    let names = tar_names(&tar);
    assert!(names.contains(&"bin/busybox".to_string()) && names.contains(&"proc/".to_string()), "{names:?}");
    assert!(!names.iter().any(|n| n == "etc/group" || n.starts_with("proc/") && n != "proc/"), "{names:?}");
    assert_eq!(tar_file(&tar, "new").unwrap().1, b"hi\n");
    // To stdout: the same bytes.
    let out = ctl.cmd(["export", "e1"]).output_of();
    assert_eq!(out.stdout, tar);
    // A running container exports its rootfs without its mounts.
    running(&ctl, "e2", "echo up > /up");
    let out = ctl.cmd(["export", "e2"]).output_of();
    assert!(out.status.success());
    assert_eq!(tar_file(&out.stdout, "up").unwrap().1, b"up\n");
    assert!(!tar_names(&out.stdout).iter().any(|n| n.starts_with("proc/") && n != "proc/"));
}

#[test]
#[ignore = "needs root"]
fn cp_out_of_and_into_containers() {
    let ctl = Ctl::new();
    let tmp = ctl.store.path().join("cp");
    std::fs::create_dir_all(&tmp).unwrap();
    ran(&ctl, "s1", "mkdir -p /data/sub; echo one > /data/one; echo two > /data/sub/two");
    running(&ctl, "r1", "mkdir -p /data; echo run > /data/run");
    for c in ["s1", "r1"] {
        let dest = tmp.join(c);
        std::fs::create_dir_all(&dest).unwrap();
        // A directory into an existing one, then its contents with `/.`, then a file renamed.
        ctl.cmd(["cp", &format!("{c}:/data")]).arg(&dest).success();
        assert!(dest.join("data").is_dir());
        ctl.cmd(["cp", &format!("{c}:/data/.")]).arg(dest.join("flat")).success();
        ctl.cmd(["cp", &format!("{c}:/etc/passwd")]).arg(dest.join("pw")).success();
        assert!(std::fs::read_to_string(dest.join("pw")).unwrap().starts_with("root:"));
        let missing = ctl.cmd(["cp", &format!("{c}:/nope")]).arg(&dest).failure();
        assert_eq!(
            String::from_utf8_lossy(&missing.stderr),
            format!("Error response from daemon: Could not find the file /nope in container {c}\n")
        );
        // Into the container: a file under a new name, owned by root without -a, kept with it.
        let local = tmp.join(format!("{c}-owned"));
        std::fs::write(&local, "mine\n").unwrap();
        std::os::unix::fs::chown(&local, Some(1234), Some(4321)).unwrap();
        ctl.cmd(["cp"]).arg(&local).arg(format!("{c}:/data/plain")).success();
        ctl.cmd(["cp", "-a"]).arg(&local).arg(format!("{c}:/data/kept")).success();
        let tar = ctl.cmd(["cp", &format!("{c}:/data"), "-"]).output_of().stdout;
        assert_eq!(tar_file(&tar, "data/plain").unwrap(), (0, b"mine\n".to_vec()));
        assert_eq!(tar_file(&tar, "data/kept").unwrap().0, 1234);
    }
    assert_eq!(std::fs::read_to_string(tmp.join("s1/data/sub/two")).unwrap(), "two\n");
    assert_eq!(std::fs::read_to_string(tmp.join("s1/flat/one")).unwrap(), "one\n");
    assert_eq!(std::fs::read_to_string(tmp.join("r1/flat/run")).unwrap(), "run\n");
    // Copied out, files belong to the caller (docker's NoLchown).
    assert_eq!(std::fs::metadata(tmp.join("s1/data/one")).unwrap().uid(), 0);
    // What went into the stopped container is in its upper dir, seen by the next look.
    let tar = ctl.cmd(["cp", "s1:/data/plain", "-"]).output_of().stdout;
    assert_eq!(tar_names(&tar), vec!["plain"]);
}

#[test]
#[ignore = "needs root"]
fn cp_tar_streams_on_stdin_and_stdout() {
    let ctl = Ctl::new();
    running(&ctl, "t1", "mkdir /in");
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_path("from-stdin").unwrap();
    h.set_size(6);
    h.set_mode(0o640);
    h.set_cksum();
    b.append(&h, &b"piped\n"[..]).unwrap();
    let tar = b.into_inner().unwrap();
    let mut child = ctl.cmd(["cp", "-", "t1:/in"]).stdin(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(&tar).unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(ctl.cmd(["exec", "t1", "cat", "/in/from-stdin"]).success(), "piped\n");
    let out = ctl.cmd(["cp", "t1:/in/from-stdin", "-"]).output_of();
    assert_eq!(tar_names(&out.stdout), vec!["from-stdin"]);
    // stdin's tar needs a directory.
    let mut child =
        ctl.cmd(["cp", "-", "t1:/in/from-stdin"]).stdin(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("must be a directory"), "{out:?}");
    let out = ctl.cmd(["cp", "t1:/in", "t1:/x"]).failure();
    assert_eq!(String::from_utf8_lossy(&out.stderr), "copying between containers is not supported\n");
}

/// CVE-2019-14271-style: a link in the container naming a host path is
/// resolved inside the container's rootfs, both ways, running or stopped.
#[test]
#[ignore = "needs root"]
fn cp_never_follows_a_symlink_out_of_the_rootfs() {
    let ctl = Ctl::new();
    let host = ctl.store.path().join("host-secret");
    std::fs::write(&host, "host\n").unwrap();
    let dir = host.parent().unwrap().display().to_string();
    let link = format!("ln -s /../../../../..{} /etc/x", host.display());
    // Through the link to a directory the container does not have: docker's error.
    ran(&ctl, "nodir", &link);
    let out = ctl.cmd(["cp"]).arg(&host).arg("nodir:/etc/x").failure();
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("Error response from daemon: Could not find the file {dir} in container nodir\n")
    );
    let link = format!("mkdir -p {dir}; {link}");
    ran(&ctl, "s1", &link);
    running(&ctl, "r1", &link);
    let incoming = ctl.store.path().join("incoming");
    std::fs::write(&incoming, "container\n").unwrap();
    for c in ["s1", "r1"] {
        // Followed (-L), the link names a file the container does not have.
        let out = ctl.cmd(["cp", "-L", &format!("{c}:/etc/x"), "-"]).failure();
        assert!(String::from_utf8_lossy(&out.stderr).contains("Could not find the file"), "{out:?}");
        // Not followed, the link itself comes out.
        let tar = ctl.cmd(["cp", &format!("{c}:/etc/x"), "-"]).output_of().stdout;
        assert_eq!(tar_names(&tar), vec!["x"]);
        // Written through, it lands at the link's target inside the container.
        ctl.cmd(["cp"]).arg(&incoming).arg(format!("{c}:/etc/x")).success();
        assert_eq!(std::fs::read_to_string(&host).unwrap(), "host\n", "{c}: wrote the host's file");
    }
    assert_eq!(ctl.cmd(["exec", "r1", "cat", &host.display().to_string()]).success(), "container\n");
    let tar = ctl.cmd(["cp", &format!("s1:{}", host.display()), "-"]).output_of().stdout;
    assert_eq!(tar_file(&tar, "host-secret").unwrap().1, b"container\n");
    // Out to a local dir: files are created inside it only.
    let out = ctl.store.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    ctl.cmd(["cp", "r1:/etc"]).arg(&out).success();
    assert!(std::fs::symlink_metadata(out.join("etc/x")).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_to_string(&host).unwrap(), "host\n");
}

/// `cp` where docker's rules have corners (each checked with dockerd
/// 20.10): a dangling link at DEST is written through, both ways (in the
/// container its target is created; a link whose target's directory is
/// missing is "Could not find the file"); `NAME:` with no path is refused
/// with docker's words.
#[test]
#[ignore = "needs root"]
fn cp_through_dangling_links_and_empty_paths() {
    let ctl = Ctl::new();
    let tmp = ctl.store.path().join("cp");
    std::fs::create_dir_all(&tmp).unwrap();
    ran(&ctl, "l1", "ln -s /nowhere/x /dl; ln -s /missing /dl2");
    let local = tmp.join("f.txt");
    std::fs::write(&local, "hello\n").unwrap();
    ctl.cmd(["cp"]).arg(&local).arg("l1:/dl2").success();
    let tar = ctl.cmd(["cp", "l1:/missing", "-"]).output_of().stdout;
    assert_eq!(tar_file(&tar, "missing").unwrap().1, b"hello\n".to_vec());
    let out = ctl.cmd(["cp"]).arg(&local).arg("l1:/dl").failure();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err, "Error response from daemon: Could not find the file /nowhere in container l1\n");
    // Out onto a local dangling link: its target is created, the link stays.
    std::os::unix::fs::symlink(tmp.join("target"), tmp.join("dang")).unwrap();
    ctl.cmd(["cp", "l1:/missing"]).arg(tmp.join("dang")).success();
    assert!(std::fs::symlink_metadata(tmp.join("dang")).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_to_string(tmp.join("target")).unwrap(), "hello\n");
    // NAME: with no path.
    let out = ctl.cmd(["cp", "l1:", "-"]).failure();
    assert_eq!(
        (out.status.code(), String::from_utf8_lossy(&out.stderr).as_ref()),
        (Some(1), "Error response from daemon: bad parameter: pathcannot be empty\n")
    );
    let out = ctl.cmd(["cp"]).arg(&local).arg("l1:").failure();
    assert_eq!((out.status.code(), String::from_utf8_lossy(&out.stderr).as_ref()), (Some(1), "no such directory\n"));
    ctl.cmd(["rm", "l1"]).success();
    ctl.assert_clean();
}
