//! Process and rootfs setup where the issue asks for runc's behaviour: each test
//! runs the same bundle under runc 1.1.5 and berth and compares what the
//! container sees. Also a config without a mount namespace.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::common::{Bundle, LOOP, accept_pty, ok, output_of, read_until, runc_run, text};

fn ns_mut(c: &mut Value) -> &mut Vec<Value> {
    c["linux"]["namespaces"].as_array_mut().unwrap()
}

/// `process.cwd` that root may enter and the user may not: entered while init
/// still has root's access, as runc does ("create can chdir if runc has access").
#[test]
#[ignore = "needs root"]
fn cwd_only_root_may_enter_is_entered_as_runc_does() {
    let b = Bundle::with("su-cwd", &["pwd"], |c| {
        c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
        c["process"]["cwd"] = json!("/secret");
    });
    let secret = b.rootfs().join("secret");
    fs::create_dir(&secret).unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o700)).unwrap();
    let (rc, rout, rerr) = runc_run(&b);
    assert_eq!((rc, rout.as_str()), (0, "/secret\n"), "runc: {rerr}");
    assert_eq!(b.run_ok(), rout);
}

/// A bind source under a directory only the host's root may search, in a
/// container with a user namespace: opened before the namespace is entered, as
/// runc does, so the container gets it.
#[test]
#[ignore = "needs root"]
fn bind_source_out_of_the_user_namespaces_reach_is_mounted_as_runc_does() {
    let host = tempfile::tempdir().unwrap();
    let private = host.path().join("private");
    fs::create_dir_all(private.join("data")).unwrap();
    fs::write(private.join("data/file"), "shared\n").unwrap();
    fs::set_permissions(&private, fs::Permissions::from_mode(0o700)).unwrap();
    let b = Bundle::with("su-bindsrc", &["cat", "/data/file"], |c| {
        ns_mut(c).push(json!({"type": "user"}));
        c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
        c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
        crate::common::mount_push(
            c,
            json!({"destination": "/data", "type": "bind", "source": private.join("data"), "options": ["rbind", "ro"]}),
        );
    });
    // The mapped root may not create it in a rootfs the host's root owns.
    fs::create_dir(b.rootfs().join("data")).unwrap();
    let (rc, rout, rerr) = runc_run(&b);
    assert_eq!((rc, rout.as_str()), (0, "shared\n"), "runc: {rerr}");
    assert_eq!(b.run_ok(), rout);
}

/// The terminal of a process running as a user is that user's, with the tty
/// group (devpts' gid=5), as runc's fixStdioPermissions leaves it.
#[test]
#[ignore = "needs root"]
fn pty_belongs_to_the_user_and_the_tty_group_as_runc() {
    let b = Bundle::with("su-pty", &["sh", "-c", "stat -c '%u %g' $(tty)"], |c| {
        c["process"]["terminal"] = json!(true);
        c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    });
    let seen = |runtime: &str| -> String {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("console.sock");
        let listener = UnixListener::bind(&sock).unwrap();
        let root = tempfile::tempdir().unwrap();
        let id = format!("{}-{runtime}", b.id);
        let run = |args: &[&str]| {
            let mut c = Command::new(if runtime == "runc" { "runc" } else { crate::common::BERTH });
            c.arg("--root").arg(root.path()).args(args);
            output_of(c)
        };
        let create = std::thread::scope(|s| {
            let t = s.spawn(|| {
                run(&[
                    "create",
                    "--console-socket",
                    sock.to_str().unwrap(),
                    "--bundle",
                    b.path().to_str().unwrap(),
                    &id,
                ])
            });
            let master = accept_pty(&listener);
            (t.join().unwrap(), master)
        });
        let (out, mut master) = create;
        ok(&out, &format!("{runtime} create"));
        ok(&run(&["start", &id]), &format!("{runtime} start"));
        let got = read_until(&mut master, "\n");
        let _ = run(&["delete", "--force", &id]);
        got.trim().to_string()
    };
    let runc = seen("runc");
    assert_eq!(runc, "1000 5");
    assert_eq!(seen("berth"), runc);
}

/// A read-only /dev gets its submounts and nodes first and is made read-only
/// after them, as runc does.
#[test]
#[ignore = "needs root"]
fn read_only_dev_is_made_read_only_after_its_submounts_as_runc() {
    let b = Bundle::with(
        "su-rodev",
        &[
            "sh",
            "-c",
            "ls /dev/pts/ptmx /dev/shm /dev/null >/dev/null && echo made; touch /dev/x 2>/dev/null || echo ro",
        ],
        |c| {
            for m in c["mounts"].as_array_mut().unwrap() {
                if m["destination"] == "/dev" {
                    m["options"].as_array_mut().unwrap().push(json!("ro"));
                }
            }
        },
    );
    let (rc, rout, rerr) = runc_run(&b);
    assert_eq!((rc, rout.as_str()), (0, "made\nro\n"), "runc: {rerr}");
    assert_eq!(b.run_ok(), rout);
}

/// `--no-pivot`: after the chroot the host's procfs stays in the container's
/// mount namespace, and a process that makes a user namespace of its own (with
/// a mount and pid namespace) may then mount a fresh procfs, one without the
/// masked paths: the kernel allows it while a fully visible procfs exists in the
/// namespace, and the container's own is not (its masks are locked there).
/// berth unmounts or covers the host's first, as runc does since 1.1.6 (runc's
/// no_pivot.bats; runc 1.1.5, the one installed here, still lets it mount).
#[test]
#[ignore = "needs root"]
fn no_pivot_exposes_no_bare_proc_to_a_nested_user_namespace() {
    let b = Bundle::with(
        "su-nopivot",
        &["unshare", "-mrpf", "sh", "-c", "mount -t proc none /tmp/p 2>/dev/null && echo mounted || echo refused"],
        // Mapping uid 0 in a new user namespace takes CAP_SETFCAP (Linux 5.12).
        |c| {
            for set in ["bounding", "effective", "permitted"] {
                c["process"]["capabilities"][set].as_array_mut().unwrap().push(json!("CAP_SETFCAP"));
            }
        },
    );
    fs::create_dir(b.rootfs().join("tmp/p")).unwrap();
    let out = b.berth(&["run", "--no-pivot", "--bundle", b.path().to_str().unwrap(), &b.id]);
    assert_eq!(ok(&out, "berth run --no-pivot"), "refused\n");
}

/// Mount points under `rootfs` in our mount namespace.
fn mounts_under(rootfs: &Path) -> Vec<String> {
    let rootfs = rootfs.to_str().unwrap();
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| m.starts_with(rootfs))
        .map(str::to_string)
        .collect()
}

/// No `mount` in `linux.namespaces`: the container shares the runtime's mount
/// namespace (runtime spec: a type left out is inherited), as with runc and
/// crun; its mounts are made in ours, under the rootfs, and `delete` removes
/// them. Masked and read-only paths need a namespace of its own: refused in
/// runc's words.
#[test]
#[ignore = "needs root"]
fn no_mount_namespace_shares_ours_and_delete_removes_its_mounts() {
    let strip = |c: &mut Value| {
        ns_mut(c).retain(|n| n["type"] != "mount");
        let linux = c["linux"].as_object_mut().unwrap();
        linux.remove("maskedPaths");
        linux.remove("readonlyPaths");
    };
    let ours = fs::read_link("/proc/self/ns/mnt").unwrap().display().to_string();
    let b = Bundle::with("su-nomnt", &["sh", "-c", "readlink /proc/self/ns/mnt; ls /dev/null /proc/1/stat"], strip);
    let (rc, rout, rerr) = runc_run(&b);
    // runc leaves its mounts behind after delete: clear them for berth's turn.
    let _ = Command::new("umount").arg("-R").arg(b.rootfs()).status();
    assert_eq!(rc, 0, "runc: {rerr}");
    assert_eq!(rout, format!("{ours}\n/dev/null\n/proc/1/stat\n"));
    assert_eq!(b.run_ok(), rout);
    assert!(mounts_under(&b.rootfs()).is_empty(), "left: {:?}", mounts_under(&b.rootfs()));

    let b = Bundle::with("su-nomnt-live", LOOP, strip);
    b.create_and_start();
    let rootfs = fs::canonicalize(b.rootfs()).unwrap();
    assert!(mounts_under(&rootfs).iter().any(|m| m.ends_with("/proc")), "{:?}", mounts_under(&rootfs));
    let exec = b.ok(&["exec", &b.id, "sh", "-c", "ls /bin/busybox; readlink /proc/self/ns/mnt"]);
    assert_eq!(exec, format!("/bin/busybox\n{ours}\n"));
    ok(&b.berth(&["delete", "--force", &b.id]), "delete");
    assert!(mounts_under(&rootfs).is_empty(), "left: {:?}", mounts_under(&rootfs));
    b.assert_clean();

    let b = Bundle::with("su-nomnt-masked", &["true"], |c| ns_mut(c).retain(|n| n["type"] != "mount"));
    let out = b.create(&[]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("unable to restrict sys entries without a private MNT namespace"),
        "{}",
        text(&out.stderr)
    );
    b.assert_clean();
}
