//! Volumes in containers, as docker's volumes tutorial uses them: a named
//! volume shared by two containers, an anonymous one shown by inspect, a
//! read-only bind, the `--volumes-from` backup and restore, prune; plus
//! copy-up with owners and xattrs, `rm -v` against plain `rm`, the driver's
//! tmpfs option, and the safety cases (symlinks planted in the container or
//! in a volume never lead a mount, a copy or a removal out of its root).
//! Each test checks that nothing outside its own data root changed.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::containers::Ctl;
use crate::support::{Outside, Run};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn mounts(ctl: &Ctl, name: &str) -> Vec<Value> {
    let json = ctl.inspect(name, "{{json .Mounts}}");
    serde_json::from_str::<Vec<Value>>(&json).unwrap_or_else(|e| panic!("Mounts of {name} ({json}): {e}"))
}

fn volume_names(ctl: &Ctl) -> Vec<String> {
    ctl.cmd(["volume", "ls", "-q"]).success().lines().map(str::to_string).collect()
}

/// A host directory of the test's own, inside its temp dir.
fn host_dir(ctl: &Ctl, name: &str) -> PathBuf {
    let d = ctl.store.path().join(name);
    std::fs::create_dir_all(&d).expect("create a host dir");
    d
}

#[test]
#[ignore = "needs root"]
fn tutorial_named_volume_shared_by_two_containers() {
    let outside = Outside::snapshot();
    let ctl = Ctl::new();
    assert_eq!(ctl.cmd(["volume", "create", "--name=vol1"]).success(), "vol1\n");
    // One container keeps running with the volume while another writes to it.
    ctl.run(["-d", "--name", "reader", "-v", "vol1:/mydata", "busybox", "sleep", "60"]).success();
    ctl.run(["--rm", "-v", "vol1:/mydata", "busybox", "sh", "-c", "echo shared > /mydata/note"]).success();
    let out = ctl.cmd(["exec", "reader", "cat", "/mydata/note"]).success();
    assert_eq!(out, "shared\n");
    let m = mounts(&ctl, "reader");
    assert_eq!(m.len(), 1);
    let data = ctl.store.root.join("volumes/vol1/_data");
    assert_eq!(m[0]["Type"], "volume");
    assert_eq!(m[0]["Name"], "vol1");
    assert_eq!(m[0]["Source"], data.to_string_lossy().as_ref());
    assert_eq!(m[0]["Destination"], "/mydata");
    assert_eq!(m[0]["Driver"], "local");
    assert_eq!(m[0]["Mode"], "z");
    assert_eq!(m[0]["RW"], true);
    assert_eq!(m[0]["Propagation"], "");
    let busy = ctl.cmd(["volume", "rm", "vol1"]).failure();
    let id = ctl.inspect("reader", "{{.Id}}");
    assert!(stderr(&busy).contains(&format!("remove vol1: volume is in use - [{id}]")), "{}", stderr(&busy));
    ctl.cmd(["rm", "-f", "-v", "reader"]).success();
    assert_eq!(std::fs::read_to_string(data.join("note")).expect("the note outlives the containers"), "shared\n");
    ctl.cmd(["volume", "rm", "vol1"]).success();
    ctl.assert_clean();
    outside.assert_unchanged(&ctl.store);
}

#[test]
#[ignore = "needs root"]
fn tutorial_anonymous_volume_in_inspect_and_rm_v_against_rm() {
    let outside = Outside::snapshot();
    let ctl = Ctl::new();
    ctl.run(["--name", "web", "-v", "/test_volume_1", "busybox", "sh", "-c", "echo x > /test_volume_1/f"]).success();
    let m = mounts(&ctl, "web");
    assert_eq!(m.len(), 1);
    let name = m[0]["Name"].as_str().expect("a volume name").to_string();
    assert_eq!(name.len(), 64, "anonymous volumes have docker's 64-hex names");
    assert_eq!(m[0]["Destination"], "/test_volume_1");
    assert_eq!(m[0]["Source"], ctl.store.root.join("volumes").join(&name).join("_data").to_string_lossy().as_ref());
    let labels = ctl.cmd(["volume", "inspect", "-f", "{{json .Labels}}", &name]).success();
    assert_eq!(labels.trim(), r#"{"com.docker.volume.anonymous":""}"#);
    // Plain rm keeps the anonymous volume…
    ctl.cmd(["rm", "web"]).success();
    assert_eq!(volume_names(&ctl), std::slice::from_ref(&name));
    // …rm -v removes it; run --rm removes its own too.
    ctl.run(["--name", "web2", "-v", "/test_volume_2", "busybox", "true"]).success();
    ctl.cmd(["rm", "-v", "web2"]).success();
    ctl.run(["--rm", "-v", "/test_volume_3", "busybox", "true"]).success();
    assert_eq!(volume_names(&ctl), std::slice::from_ref(&name));
    // rm -v never removes a named volume.
    ctl.run(["--name", "web3", "-v", "keepme:/data", "busybox", "true"]).success();
    ctl.cmd(["rm", "-v", "web3"]).success();
    assert!(volume_names(&ctl).contains(&"keepme".to_string()));
    ctl.assert_clean();
    outside.assert_unchanged(&ctl.store);
}

#[test]
#[ignore = "needs root"]
fn tutorial_read_only_bind_refuses_writes() {
    let outside = Outside::snapshot();
    let ctl = Ctl::new();
    let src = host_dir(&ctl, "src");
    std::fs::write(src.join("index.html"), "hello\n").expect("write");
    let bind = format!("{}:/opt/webapp:ro", src.display());
    let out = ctl.run(["--rm", "-v", &bind, "busybox", "cat", "/opt/webapp/index.html"]).success();
    assert_eq!(out, "hello\n");
    let out = ctl.run(["--rm", "-v", &bind, "busybox", "touch", "/opt/webapp/new"]).failure();
    assert!(String::from_utf8_lossy(&out.stderr).contains("Read-only file system"), "{}", stderr(&out));
    assert!(!src.join("new").exists());
    // --mount refuses a missing source with docker's message; -v creates it.
    let missing = ctl.store.path().join("not-there");
    let spec = format!("type=bind,src={},dst=/x", missing.display());
    let out = ctl.run(["--rm", "--mount", &spec, "busybox", "true"]).failure();
    assert!(
        stderr(&out).contains(&format!(
            "invalid mount config for type \"bind\": bind source path does not exist: {}",
            missing.display()
        )),
        "{}",
        stderr(&out)
    );
    ctl.run(["--rm", "-v", &format!("{}:/x", missing.display()), "busybox", "touch", "/x/made"]).success();
    assert!(missing.join("made").is_file());
    let rw = format!("type=bind,source={},target=/w", src.display());
    ctl.run(["--name", "bnd", "--mount", &rw, "busybox", "touch", "/w/rw"]).success();
    assert!(src.join("rw").is_file());
    let m = mounts(&ctl, "bnd");
    let want = serde_json::json!([{"Type": "bind", "Source": src.to_string_lossy(), "Destination": "/w", "Mode": "", "RW": true, "Propagation": "rprivate"}]);
    assert_eq!(Value::Array(m), want);
    ctl.cmd(["rm", "bnd"]).success();
    ctl.assert_clean();
    outside.assert_unchanged(&ctl.store);
}

#[test]
#[ignore = "needs root"]
fn tutorial_backup_and_restore_with_volumes_from() {
    let outside = Outside::snapshot();
    let ctl = Ctl::new();
    let backup = host_dir(&ctl, "backup");
    ctl.run([
        "--name",
        "dbstore",
        "-v",
        "/dbdata",
        "busybox",
        "sh",
        "-c",
        "mkdir /dbdata/d && echo precious > /dbdata/d/file",
    ])
    .success();
    let b = format!("{}:/backup", backup.display());
    ctl.run(["--rm", "--volumes-from", "dbstore", "-v", &b, "busybox", "tar", "cvf", "/backup/backup.tar", "/dbdata"])
        .success();
    let listing = Command::new("tar").arg("tf").arg(backup.join("backup.tar")).success();
    assert!(listing.lines().any(|l| l.trim_end_matches('/') == "dbdata/d/file"), "{listing}");
    ctl.run(["--name", "dbstore2", "-v", "/dbdata", "busybox", "true"]).success();
    ctl.run([
        "--rm",
        "--volumes-from",
        "dbstore2",
        "-v",
        &b,
        "busybox",
        "sh",
        "-c",
        "cd /dbdata && tar xvf /backup/backup.tar --strip 1",
    ])
    .success();
    let out = ctl.run(["--rm", "--volumes-from", "dbstore2:ro", "busybox", "cat", "/dbdata/d/file"]).success();
    assert_eq!(out, "precious\n");
    let out = ctl.run(["--rm", "--volumes-from", "dbstore2:ro", "busybox", "touch", "/dbdata/x"]).failure();
    assert!(stderr(&out).contains("Read-only file system"), "{}", stderr(&out));
    let out = ctl.run(["--rm", "--volumes-from", "nosuch", "busybox", "true"]).failure();
    assert!(stderr(&out).contains("nosuch"), "{}", stderr(&out));
    ctl.cmd(["rm", "-v", "dbstore", "dbstore2"]).success();
    assert_eq!(volume_names(&ctl), Vec::<String>::new());
    ctl.assert_clean();
    outside.assert_unchanged(&ctl.store);
}

#[test]
#[ignore = "needs root"]
fn tutorial_prune_never_takes_a_volume_in_use() {
    let outside = Outside::snapshot();
    let ctl = Ctl::new();
    ctl.run(["--name", "holder", "-v", "/held", "busybox", "true"]).success();
    let held = mounts(&ctl, "holder")[0]["Name"].as_str().expect("name").to_string();
    let free = ctl.cmd(["volume", "create"]).success().trim().to_string();
    ctl.cmd(["volume", "create", "named"]).success();
    let out = ctl.cmd(["volume", "prune", "-f"]).success();
    assert!(out.starts_with(&format!("Deleted Volumes:\n{free}\n\n")), "{out}");
    let out = ctl.cmd(["volume", "prune", "-a", "-f"]).success();
    assert!(out.starts_with("Deleted Volumes:\nnamed\n\n"), "{out}");
    assert_eq!(volume_names(&ctl), std::slice::from_ref(&held));
    assert_eq!(ctl.cmd(["volume", "ls", "-q", "-f", "dangling=true"]).success(), "");
    ctl.cmd(["rm", "holder"]).success();
    assert_eq!(ctl.cmd(["volume", "ls", "-q", "-f", "dangling=true"]).success(), format!("{held}\n"));
    ctl.cmd(["volume", "prune", "-f"]).success();
    assert_eq!(volume_names(&ctl), Vec::<String>::new());
    ctl.assert_clean();
    outside.assert_unchanged(&ctl.store);
}

/// Import an image from busybox's layer plus a layer built from `dir`
/// (owners kept as they are on disk), with `changes`.
fn import_with(ctl: &Ctl, dir: &Path, changes: &[&str], name: &str) {
    let tar = ctl.store.path().join(format!("{name}.tar"));
    Command::new("tar")
        .args(["--xattrs", "--xattrs-include=user.*", "--numeric-owner", "-cf"])
        .arg(&tar)
        .arg("-C")
        .arg(dir)
        .arg(".")
        .success();
    // The busybox rootfs first, then our files on top.
    let rootfs = ctl.store.path().join(format!("{name}-rootfs"));
    std::fs::create_dir_all(&rootfs).expect("mkdir");
    let layer = crate::containers::busybox_layer();
    Command::new("tar").arg("-xzf").arg(&layer).arg("-C").arg(&rootfs).success();
    Command::new("tar")
        .args(["--xattrs", "--xattrs-include=user.*", "-xpf"])
        .arg(&tar)
        .arg("-C")
        .arg(&rootfs)
        .success();
    let all = ctl.store.path().join(format!("{name}-all.tar"));
    Command::new("tar")
        .args(["--xattrs", "--xattrs-include=user.*", "--numeric-owner", "-cf"])
        .arg(&all)
        .arg("-C")
        .arg(&rootfs)
        .arg(".")
        .success();
    let mut cmd = ctl.cmd(["import"]);
    for c in changes {
        cmd.args(["--change", c]);
    }
    cmd.arg(&all).arg(name).success();
}

#[test]
#[ignore = "needs root"]
fn copy_up_keeps_owners_modes_and_xattrs_unless_nocopy() {
    let outside = Outside::snapshot();
    let ctl = Ctl::new();
    let files = host_dir(&ctl, "files");
    let data = files.join("srv/data");
    std::fs::create_dir_all(data.join("sub")).expect("mkdir");
    std::fs::write(data.join("sub/conf"), "from image\n").expect("write");
    Command::new("chown").args(["-R", "1234:5678"]).arg(files.join("srv")).success();
    Command::new("chmod").args(["0750"]).arg(&data).success();
    Command::new("setfattr").args(["-n", "user.berth", "-v", "kept"]).arg(data.join("sub/conf")).success();
    import_with(&ctl, &files, &["VOLUME /srv/data", r#"CMD ["sh"]"#], "withvol");

    // A named volume: copied on first use, with owners, mode and xattrs.
    let out = ctl
        .run([
            "--rm",
            "-v",
            "cu:/srv/data",
            "withvol",
            "sh",
            "-c",
            "stat -c '%u:%g %a' /srv/data; cat /srv/data/sub/conf",
        ])
        .success();
    assert_eq!(out, "1234:5678 750\nfrom image\n");
    let vol = ctl.store.root.join("volumes/cu/_data");
    let meta = std::fs::metadata(vol.join("sub/conf")).expect("copied file");
    assert_eq!((meta.uid(), meta.gid()), (1234, 5678));
    let attr = Command::new("getfattr").args(["--only-values", "-n", "user.berth"]).arg(vol.join("sub/conf")).success();
    assert_eq!(attr, "kept");
    // Not empty any more: a second container sees its changes, no second copy.
    ctl.run(["--rm", "-v", "cu:/srv/data", "withvol", "sh", "-c", "echo changed > /srv/data/sub/conf"]).success();
    let out = ctl.run(["--rm", "-v", "cu:/srv/data", "withvol", "cat", "/srv/data/sub/conf"]).success();
    assert_eq!(out, "changed\n");
    // nocopy and volume-nocopy leave the volume empty.
    let out = ctl.run(["--rm", "-v", "nc:/srv/data:nocopy", "withvol", "ls", "-A", "/srv/data"]).success();
    assert_eq!(out, "");
    let out = ctl
        .run(["--rm", "--mount", "src=nc2,dst=/srv/data,volume-nocopy", "withvol", "ls", "-A", "/srv/data"])
        .success();
    assert_eq!(out, "");
    // The image's VOLUME becomes an anonymous volume with the image's content.
    let out = ctl.run(["--name", "img", "withvol", "cat", "/srv/data/sub/conf"]).success();
    assert_eq!(out, "from image\n");
    let m = mounts(&ctl, "img");
    assert_eq!((m[0]["Destination"].as_str(), m[0]["Mode"].as_str()), (Some("/srv/data"), Some("")));
    ctl.cmd(["rm", "-v", "img"]).success();
    ctl.assert_clean();
    outside.assert_unchanged(&ctl.store);
}

#[test]
#[ignore = "needs root"]
fn tmpfs_volumes_and_tmpfs_mounts() {
    let outside = Outside::snapshot();
    let ctl = Ctl::new();
    ctl.cmd(["volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=1m", "scratch"]).success();
    let data = ctl.store.root.join("volumes/scratch/_data");
    let out =
        ctl.run(["--rm", "-v", "scratch:/s", "busybox", "sh", "-c", "df -k /s | tail -1; echo x > /s/f"]).success();
    assert!(out.split_whitespace().nth(1) == Some("1024"), "not a 1 MiB tmpfs: {out}");
    let info = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    assert!(!info.contains(&*data.to_string_lossy()), "the tmpfs stays mounted after its last user");
    assert!(!data.join("f").exists(), "tmpfs content lands on disk");
    ctl.cmd(["volume", "rm", "scratch"]).success();
    // --tmpfs and --mount type=tmpfs: sized, and only the latter in Mounts (as docker).
    let df = "df -k /t /m | tail -2 | while read fs size rest; do echo $size; done";
    let out = ctl
        .run([
            "--name",
            "tm",
            "--tmpfs",
            "/t:size=1m",
            "--mount",
            "type=tmpfs,dst=/m,tmpfs-size=2m",
            "busybox",
            "sh",
            "-c",
            df,
        ])
        .success();
    assert_eq!(out, "1024\n2048\n");
    let want = serde_json::json!([{"Type": "tmpfs", "Source": "", "Destination": "/m", "Mode": "", "RW": true, "Propagation": ""}]);
    assert_eq!(Value::Array(mounts(&ctl, "tm")), want);
    ctl.cmd(["rm", "tm"]).success();
    ctl.assert_clean();
    outside.assert_unchanged(&ctl.store);
}

#[test]
#[ignore = "needs root"]
fn planted_symlinks_never_lead_out_of_the_container_or_the_volume() {
    let outside = Outside::snapshot();
    let ctl = Ctl::new();
    let host = host_dir(&ctl, "host-secret");
    std::fs::write(host.join("secret"), "host\n").expect("write");
    let before: Vec<_> = std::fs::read_dir(&host).expect("read").flatten().map(|e| e.file_name()).collect();

    // 1. The image has /data as a symlink to a host path: copy-up and the
    //    mount both resolve it inside the container.
    let files = host_dir(&ctl, "evil-image");
    std::os::unix::fs::symlink(format!("/../../../../..{}", host.display()), files.join("data")).expect("symlink");
    import_with(&ctl, &files, &[r#"CMD ["sh"]"#], "evil");
    ctl.run(["--rm", "-v", "landing:/data", "evil", "sh", "-c", "echo in > /data/written"]).output_of();
    let vol = ctl.store.root.join("volumes/landing/_data");
    assert!(!vol.join("secret").exists(), "copy-up read the host through the image's symlink");

    // 2. A container plants a link in one volume where another is then
    //    mounted: the mount lands inside the container, not on the host.
    let link = format!("ln -s {} /a/b", host.display());
    ctl.run(["--rm", "-v", "outer:/a", "busybox", "sh", "-c", &link]).success();
    ctl.run(["--rm", "-v", "outer:/a", "-v", "inner:/a/b", "busybox", "sh", "-c", "echo inner > /a/b/planted"])
        .output_of();

    // 3. Links in a volume to another volume's data (relative and absolute)
    //    are not followed by removal, sizes or another container.
    ctl.cmd(["volume", "create", "victim"]).success();
    std::fs::write(ctl.store.root.join("volumes/victim/_data/precious"), "keep\n").expect("write");
    let victim = ctl.store.root.join("volumes/victim/_data");
    let plant = format!("ln -s ../../victim/_data /v/rel && ln -s {} /v/abs", victim.display());
    ctl.run(["--rm", "-v", "evilvol:/v", "busybox", "sh", "-c", &plant]).success();
    let out = ctl.run(["--rm", "-v", "evilvol:/v", "busybox", "cat", "/v/abs/precious"]).failure();
    assert!(stderr(&out).contains("No such file"), "{}", stderr(&out));
    ctl.cmd(["volume", "rm", "evilvol", "outer", "inner", "landing"]).success();
    assert_eq!(std::fs::read_to_string(victim.join("precious")).expect("victim intact"), "keep\n");

    let after: Vec<_> = std::fs::read_dir(&host).expect("read").flatten().map(|e| e.file_name()).collect();
    assert_eq!(before, after, "the host directory changed");
    assert_eq!(std::fs::read_to_string(host.join("secret")).expect("secret"), "host\n");
    let info = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    assert!(!info.contains(&*host.to_string_lossy()), "something is mounted on the host directory");
    ctl.assert_clean();
    outside.assert_unchanged(&ctl.store);
}

#[test]
#[ignore = "needs root"]
fn concurrent_volume_rm_and_run_never_leave_a_container_without_its_volume() {
    let outside = Outside::snapshot();
    let ctl = Ctl::new();
    for round in 0..5 {
        ctl.cmd(["volume", "create", "race"]).success();
        let name = format!("racer{round}");
        let mut run = ctl.run(["--name", &name, "-v", "race:/d", "busybox", "sh", "-c", "echo ok > /d/f"]);
        let mut rm = ctl.cmd(["volume", "rm", "race"]);
        let (run_out, rm_out) = std::thread::scope(|s| {
            let a = s.spawn(|| run.output_of());
            let b = s.spawn(|| rm.output_of());
            (a.join().expect("run thread"), b.join().expect("rm thread"))
        });
        assert!(run_out.status.success(), "run: {}", stderr(&run_out));
        // Either rm came first (run created the volume afresh) or rm was refused.
        if !rm_out.status.success() {
            assert!(stderr(&rm_out).contains("volume is in use"), "{}", stderr(&rm_out));
        }
        let data = ctl.store.root.join("volumes/race/_data");
        assert_eq!(std::fs::read_to_string(data.join("f")).expect("the container's volume exists"), "ok\n");
        ctl.cmd(["rm", &name]).success();
        ctl.cmd(["volume", "rm", "race"]).success();
    }
    ctl.assert_clean();
    outside.assert_unchanged(&ctl.store);
}
