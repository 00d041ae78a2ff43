//! The container's filesystem: mount options as runc applies them (recursive
//! attributes, nosymfollow, atime on bind remounts, tmpcopyup, propagation,
//! idmapped mounts), runc's refusals (the rootfs root, proc on a symlink, foreign
//! mounts inside /proc) and the 2025 advisories on /dev/null and /dev/console.
//! Where runc can run the same config, its result is checked against ours.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::Command;

use serde_json::json;

use crate::common::{Bundle, mount_push, output_of, text};

/// The mountinfo line of the last mount on `point`.
fn mountinfo_line<'a>(mountinfo: &'a str, point: &str) -> &'a str {
    mountinfo
        .lines()
        .rfind(|l| l.split(' ').nth(4) == Some(point))
        .unwrap_or_else(|| panic!("no mount on {point} in:\n{mountinfo}"))
}

/// Per-mount options of a mountinfo line (field 6).
fn mount_opts(line: &str) -> Vec<&str> {
    line.split(' ').nth(5).unwrap_or_default().split(',').collect()
}

/// Optional fields (shared:N, master:N) of a mountinfo line.
fn optional_fields(line: &str) -> Vec<&str> {
    line.split(" - ").next().unwrap_or_default().split(' ').skip(6).collect()
}

/// Host mounts whose mount point lies in `dir`: a failed or finished container
/// must leave none.
fn host_mounts_under(dir: &Path) -> Vec<String> {
    let dir = dir.to_string_lossy().into_owned();
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.split(' ').nth(4).is_some_and(|p| p.starts_with(&dir)))
        .map(str::to_string)
        .collect()
}

/// The same bundle under runc (state in a temp root): (exit code, stdout, stderr).
fn runc_run(b: &Bundle) -> (i32, String, String) {
    let root = tempfile::tempdir().unwrap();
    let id = format!("{}-runc", b.id);
    let mut cmd = Command::new("runc");
    cmd.arg("--root").arg(root.path()).args(["run", "--bundle"]).arg(b.path()).arg(&id);
    cmd.stdin(std::process::Stdio::null());
    let out = output_of(cmd);
    let _ = Command::new("runc").arg("--root").arg(root.path()).args(["delete", "--force", &id]).output();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

/// Assert that create fails with an error containing each of `want`, that runc
/// refuses the same bundle, and that nothing is left behind.
fn assert_refused(b: &Bundle, want: &[&str]) {
    let (code, out, err) = b.run();
    assert_ne!(code, 0, "berth accepted it: {out}");
    for w in want {
        assert!(err.contains(w), "error lacks {w:?}: {err}");
    }
    b.assert_clean();
    assert_eq!(host_mounts_under(b.path()), Vec::<String>::new());
    let (code, out, _) = runc_run(b);
    assert_ne!(code, 0, "runc accepted it: {out}");
    assert_eq!(host_mounts_under(b.path()), Vec::<String>::new());
}

/// A host directory with a tmpfs mounted on its `sub`, unmounted on drop.
struct Nested {
    dir: tempfile::TempDir,
}

impl Nested {
    fn new() -> Nested {
        let dir = tempfile::Builder::new().prefix("berth-nested-").tempdir().unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        let sub = dir.path().join("sub");
        let ok = Command::new("mount").args(["-t", "tmpfs", "tmpfs"]).arg(&sub).status().unwrap().success();
        assert!(ok, "mount tmpfs on {sub:?}");
        Nested { dir }
    }
}

impl Drop for Nested {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path().join("sub")).status();
    }
}

#[test]
#[ignore = "needs root"]
fn rro_makes_every_submount_read_only_and_ro_only_the_top() {
    let nested = Nested::new();
    let script = "touch /r/a 2>/dev/null && echo r-top-rw; touch /r/sub/a 2>/dev/null && echo r-sub-rw; \
                  touch /p/a 2>/dev/null && echo p-top-rw; touch /p/sub/a 2>/dev/null && echo p-sub-rw; echo done";
    let src = nested.dir.path().to_str().unwrap().to_string();
    let b = Bundle::with("rf-rro", &["sh", "-c", script], |c| {
        mount_push(c, json!({"destination": "/r", "type": "bind", "source": src, "options": ["rbind", "rro"]}));
        mount_push(c, json!({"destination": "/p", "type": "bind", "source": src, "options": ["rbind", "ro"]}));
    });
    let ours = b.run_ok();
    assert_eq!(ours, "p-sub-rw\ndone\n");
    assert_eq!(runc_run(&b).1, ours, "runc differs");
    assert_eq!(host_mounts_under(b.path()), Vec::<String>::new());
}

#[test]
#[ignore = "needs root"]
fn recursive_flags_atime_and_nosymfollow_reach_mountinfo() {
    let script = "ln -s /etc/passwd /s/link; cat /s/link >/dev/null 2>&1 || echo no-follow; cat /proc/self/mountinfo";
    let b = Bundle::with("rf-flags", &["sh", "-c", script], |c| {
        mount_push(
            c,
            json!({"destination": "/t", "type": "tmpfs", "source": "tmpfs",
                   "options": ["rnosuid", "rnodev", "rnoexec", "rstrictatime", "rnoatime"]}),
        );
        mount_push(c, json!({"destination": "/s", "type": "tmpfs", "source": "tmpfs", "options": ["nosymfollow"]}));
        mount_push(
            c,
            json!({"destination": "/tb", "type": "bind", "source": "/tmp",
                             "options": ["rbind", "rnosuid", "rnodev", "rnoexec", "rnoatime"]}),
        );
        mount_push(
            c,
            json!({"destination": "/a", "type": "tmpfs", "source": "tmpfs", "options": ["noatime", "nodiratime"]}),
        );
    });
    let out = b.run_ok();
    assert!(out.starts_with("no-follow\n"), "{out}");
    let t = mount_opts(mountinfo_line(&out, "/t"));
    for f in ["nosuid", "nodev", "noexec", "noatime"] {
        assert!(t.contains(&f), "/t lacks {f}: {t:?}");
    }
    assert!(mount_opts(mountinfo_line(&out, "/s")).contains(&"nosymfollow"));
    let a = mount_opts(mountinfo_line(&out, "/a"));
    assert!(a.contains(&"noatime") && a.contains(&"nodiratime"), "{a:?}");
    let (code, theirs, err) = runc_run(&b);
    assert_eq!(code, 0, "runc: {err}");
    // runc 1.1 applies recursive attributes to bind mounts only (1.2 to all), so
    // /t is compared through its bind twin /tb.
    let tb = mount_opts(mountinfo_line(&out, "/tb"));
    assert!(tb.contains(&"nosuid") && tb.contains(&"noexec") && tb.contains(&"noatime"), "{tb:?}");
    for point in ["/tb", "/s", "/a"] {
        assert_eq!(mount_opts(mountinfo_line(&out, point)), mount_opts(mountinfo_line(&theirs, point)), "{point}");
    }
}

#[test]
#[ignore = "needs root"]
fn bind_mount_is_remounted_with_ro_nosuid_nodev_and_atime() {
    let src = tempfile::tempdir().unwrap();
    fs::write(src.path().join("f"), "host\n").unwrap();
    let s = src.path().to_str().unwrap().to_string();
    let script = "cat /b/f; echo x > /b/f 2>/dev/null && echo writable; cat /proc/self/mountinfo";
    let b = Bundle::with("rf-bindro", &["sh", "-c", script], |c| {
        mount_push(
            c,
            json!({"destination": "/b", "type": "bind", "source": s,
                             "options": ["bind", "ro", "nosuid", "nodev", "noatime"]}),
        );
        mount_push(c, json!({"destination": "/w", "type": "bind", "source": s, "options": ["bind", "strictatime"]}));
    });
    let out = b.run_ok();
    assert!(out.starts_with("host\n") && !out.contains("writable"), "{out}");
    let opts = mount_opts(mountinfo_line(&out, "/b"));
    for f in ["ro", "nosuid", "nodev", "noatime"] {
        assert!(opts.contains(&f), "/b lacks {f}: {opts:?}");
    }
    let w = mount_opts(mountinfo_line(&out, "/w"));
    assert!(!w.contains(&"relatime") && !w.contains(&"noatime"), "strictatime: {w:?}");
    assert_eq!(fs::read_to_string(src.path().join("f")).unwrap(), "host\n");
    let (_, theirs, _) = runc_run(&b);
    assert_eq!(mount_opts(mountinfo_line(&theirs, "/b")), opts, "runc differs");
    assert_eq!(mount_opts(mountinfo_line(&theirs, "/w")), w, "runc differs");
}

#[test]
#[ignore = "needs root"]
fn tmpcopyup_fills_the_tmpfs_with_the_rootfs_dir() {
    let script = "cat /data/f /data/sub/g; readlink /data/link; stat -c '%a %u %g' /data/f; \
                  echo new > /data/new; grep ' /data ' /proc/self/mountinfo";
    let b = Bundle::with("rf-copyup", &["sh", "-c", script], |c| {
        mount_push(
            c,
            json!({"destination": "/data", "type": "tmpfs", "source": "tmpfs",
                             "options": ["tmpcopyup", "mode=755"]}),
        );
    });
    let data = b.rootfs().join("data");
    fs::create_dir_all(data.join("sub")).unwrap();
    fs::write(data.join("f"), "one\n").unwrap();
    fs::write(data.join("sub/g"), "two\n").unwrap();
    symlink("/etc/passwd", data.join("link")).unwrap();
    fs::set_permissions(data.join("f"), fs::Permissions::from_mode(0o604)).unwrap();
    std::os::unix::fs::chown(data.join("f"), Some(123), Some(456)).unwrap();
    let out = b.run_ok();
    assert!(out.starts_with("one\ntwo\n/etc/passwd\n604 123 456\n"), "{out}");
    assert!(out.contains(" - tmpfs "), "{out}");
    assert!(!data.join("new").exists(), "the write reached the rootfs");
    let (_, theirs, _) = runc_run(&b);
    assert!(theirs.starts_with("one\ntwo\n/etc/passwd\n604 123 456\n"), "runc: {theirs}");
}

#[test]
#[ignore = "needs root"]
fn propagation_options_and_rootfs_propagation() {
    let shared = |l: &str| optional_fields(l).iter().any(|f| f.starts_with("shared:"));
    let script = "cat /proc/self/mountinfo";
    let b = Bundle::with("rf-prop", &["sh", "-c", script], |c| {
        mount_push(c, json!({"destination": "/sh", "type": "tmpfs", "source": "tmpfs", "options": ["rshared"]}));
        mount_push(c, json!({"destination": "/pr", "type": "tmpfs", "source": "tmpfs", "options": ["rprivate"]}));
    });
    let out = b.run_ok();
    assert!(shared(mountinfo_line(&out, "/sh")), "{out}");
    assert!(!shared(mountinfo_line(&out, "/pr")), "{out}");
    // The default (rslave, parent made private): "/" shares nothing with the host.
    assert!(!shared(mountinfo_line(&out, "/")), "{out}");
    let (_, theirs, _) = runc_run(&b);
    for p in ["/sh", "/pr", "/"] {
        assert_eq!(shared(mountinfo_line(&out, p)), shared(mountinfo_line(&theirs, p)), "runc differs on {p}");
    }
    assert_eq!(host_mounts_under(b.path()), Vec::<String>::new());
    // rootfsPropagation applies to "/" after pivot_root (recursively: it reaches
    // every mount, as in runc).
    let b = Bundle::with("rf-prop-root", &["sh", "-c", script], |c| {
        c["linux"]["rootfsPropagation"] = json!("rshared");
    });
    let out = b.run_ok();
    assert!(shared(mountinfo_line(&out, "/")), "rootfsPropagation rshared: {out}");
    // Not compared: runc applies rootfsPropagation after pivot_root since 1.2; the
    // 1.1 that Debian ships leaves "/" private.
    assert_eq!(host_mounts_under(b.path()), Vec::<String>::new());
}

#[test]
#[ignore = "needs root"]
fn proc_on_a_symlink_is_refused() {
    let b = Bundle::new("rf-procsym", &["true"]);
    fs::remove_dir(b.rootfs().join("proc")).unwrap();
    symlink("tmp", b.rootfs().join("proc")).unwrap();
    assert_refused(&b, &["mounts[", "].destination", "must be mounted on ordinary directory"]);
    // Nothing was mounted through the link.
    assert!(fs::read_dir(b.rootfs().join("tmp")).unwrap().next().is_none());
}

#[test]
#[ignore = "needs root"]
fn mounts_inside_proc_are_refused_except_lxcfs_files() {
    let src = tempfile::NamedTempFile::new().unwrap();
    fs::write(src.path(), "42.0 1.0\n").unwrap();
    let s = src.path().to_str().unwrap().to_string();
    // A bind over a /proc file that lxcfs does not emulate: runc refuses it too.
    let b = Bundle::with("rf-inproc", &["true"], |c| {
        mount_push(c, json!({"destination": "/proc/version", "type": "bind", "source": s, "options": ["bind"]}));
    });
    assert_refused(&b, &["mounts[", "inside /proc"]);
    // Any other type inside /proc (runc 1.2 refuses these; 1.1 checked binds only).
    let b = Bundle::with("rf-inproc2", &["true"], |c| {
        mount_push(c, json!({"destination": "/proc/sys", "type": "tmpfs", "source": "tmpfs"}));
    });
    let (code, _, err) = b.run();
    assert_ne!(code, 0);
    assert!(err.contains("mounts[") && err.contains("inside /proc"), "{err}");
    b.assert_clean();
    let b = Bundle::with("rf-lxcfs", &["cat", "/proc/uptime"], |c| {
        mount_push(c, json!({"destination": "/proc/uptime", "type": "bind", "source": s, "options": ["bind"]}));
    });
    assert_eq!(b.run_ok(), "42.0 1.0\n");
    assert_eq!(runc_run(&b).1, "42.0 1.0\n");
}

#[test]
#[ignore = "needs root"]
fn mount_onto_the_rootfs_root_is_refused() {
    let b = Bundle::with("rf-ontoroot", &["true"], |c| {
        mount_push(c, json!({"destination": "/", "type": "tmpfs", "source": "tmpfs"}));
    });
    let n = b.config()["mounts"].as_array().unwrap().len() - 1;
    assert_refused(&b, &[&format!("mounts[{n}].destination"), "rootfs root"]);
    // Through a symlink to "/" inside the rootfs, too.
    let b = Bundle::with("rf-ontoroot2", &["true"], |c| {
        mount_push(c, json!({"destination": "/up", "type": "tmpfs", "source": "tmpfs"}));
    });
    symlink("..", b.rootfs().join("up")).unwrap();
    let (code, _, err) = b.run();
    assert_ne!(code, 0);
    assert!(err.contains(&format!("mounts[{n}].destination")) && err.contains("rootfs root"), "{err}");
    b.assert_clean();
    assert_eq!(host_mounts_under(b.path()), Vec::<String>::new());
}

/// A user namespace without its own network namespace may not mount sysfs: runc
/// binds the host's /sys instead, and so do we.
#[test]
#[ignore = "needs root"]
fn sysfs_falls_back_to_a_bind_in_a_user_namespace() {
    let b = Bundle::with("rf-sysfs", &["sh", "-c", "ls /sys/kernel >/dev/null && echo sys-ok"], |c| {
        let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
        ns.retain(|n| n["type"] != "network");
        ns.push(json!({"type": "user"}));
        c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 0, "size": 65536}]);
        c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 0, "size": 65536}]);
    });
    assert_eq!(b.run_ok(), "sys-ok\n");
    // Not compared: runc has this fallback since 1.2; Debian's 1.1 fails with EPERM.
}

/// 2025 runc advisories (CVE-2025-31133): a /dev/null the image replaced with a
/// symlink or a regular file must not be used to mask anything.
#[test]
#[ignore = "needs root"]
fn masking_with_a_swapped_dev_null_fails_closed() {
    for (name, make) in [
        ("rf-nullsym", (|p: &Path| symlink("/etc/passwd", p).unwrap()) as fn(&Path)),
        ("rf-nullfile", |p: &Path| fs::write(p, "").unwrap()),
    ] {
        let b = Bundle::with(name, &["true"], |c| {
            c["mounts"].as_array_mut().unwrap().retain(|m| m["destination"] != "/dev");
        });
        make(&b.rootfs().join("dev/null"));
        let (code, _, err) = b.run();
        assert_ne!(code, 0, "{name}: masking went on");
        assert!(err.contains("linux.maskedPaths") && err.contains("/dev/null"), "{name}: {err}");
        b.assert_clean();
        assert_eq!(fs::read_to_string(b.rootfs().join("etc/passwd")).unwrap().lines().count(), 2);
    }
}

#[test]
#[ignore = "needs root"]
fn masked_path_that_is_a_symlink_is_not_followed() {
    let b = Bundle::with("rf-masksym", &["true"], |c| {
        c["linux"]["maskedPaths"].as_array_mut().unwrap().push(json!("/etc/hidden"));
    });
    symlink("/etc/passwd", b.rootfs().join("etc/hidden")).unwrap();
    let (code, _, err) = b.run();
    assert_ne!(code, 0);
    assert!(err.contains("linux.maskedPaths[") && err.contains("symlink"), "{err}");
    b.assert_clean();
}

/// CVE-2025-52565: a /dev/console symlink must not redirect the pty bind.
#[test]
#[ignore = "needs root"]
fn dev_console_symlink_fails_closed() {
    let b = Bundle::with("rf-console", &["true"], |c| {
        c["process"]["terminal"] = json!(true);
        c["mounts"].as_array_mut().unwrap().retain(|m| m["destination"] != "/dev");
    });
    symlink("/etc/passwd", b.rootfs().join("dev/console")).unwrap();
    let sock = b.path().join("console.sock");
    let _listener = UnixListener::bind(&sock).unwrap();
    let out = b.create(&["--console-socket", sock.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("/dev/console"), "{err}");
    b.assert_clean();
    assert!(fs::symlink_metadata(b.rootfs().join("dev/console")).unwrap().file_type().is_symlink());
}

/// mounts[].uidMappings/gidMappings: the source's ids are shown through the
/// mapping (MOUNT_ATTR_IDMAP): a file owned by host uid 1000 appears as 2000.
#[test]
#[ignore = "needs root"]
fn idmapped_mount_shows_mapped_owners() {
    let src = tempfile::tempdir().unwrap();
    fs::set_permissions(src.path(), fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(src.path().join("f"), "x").unwrap();
    std::os::unix::fs::chown(src.path().join("f"), Some(1000), Some(1000)).unwrap();
    let s = src.path().to_str().unwrap().to_string();
    let b = Bundle::with("rf-idmap", &["sh", "-c", "stat -c '%u %g' /m/f; stat -c '%u %g' /plain/f"], |c| {
        mount_push(
            c,
            json!({"destination": "/m", "type": "bind", "source": s, "options": ["bind"],
            "uidMappings": [{"containerID": 1000, "hostID": 2000, "size": 1}],
            "gidMappings": [{"containerID": 1000, "hostID": 3000, "size": 1}]}),
        );
        mount_push(c, json!({"destination": "/plain", "type": "bind", "source": s, "options": ["bind"]}));
    });
    assert_eq!(b.run_ok(), "2000 3000\n1000 1000\n");
    // The host's file is unchanged.
    let meta = fs::metadata(src.path().join("f")).unwrap();
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), 1000);
    assert_eq!(host_mounts_under(b.path()), Vec::<String>::new());
}

/// Mount point, per-mount options and fs type of every mount under /sys/fs/cgroup
/// in a container's mountinfo, with its `ls -l` of the tree's top.
fn cgroup_tree(out: &str) -> Vec<String> {
    let mut tree: Vec<String> = out
        .lines()
        .filter(|l| l.split(' ').nth(4).is_some_and(|p| p.starts_with("/sys/fs/cgroup")))
        .map(|l| {
            let fstype = l.split(" - ").nth(1).and_then(|r| r.split(' ').next()).unwrap_or_default();
            format!("{} {} {fstype}", l.split(' ').nth(4).unwrap_or_default(), mount_opts(l).join(","))
        })
        .collect();
    tree.extend(out.lines().filter(|l| l.starts_with('l') || l.starts_with('d')).map(|l| {
        // The name (and link target) of each `ls -l` entry, without owner and times.
        l.split_whitespace().skip(8).collect::<Vec<_>>().join(" ")
    }));
    tree
}

#[test]
#[ignore = "needs root"]
fn cgroup_mount_tree_is_runcs_read_only_and_read_write() {
    let script = "cat /proc/self/mountinfo; ls -l /sys/fs/cgroup; touch /sys/fs/cgroup/x 2>/dev/null && echo tmpfs-writable; \
                  for d in /sys/fs/cgroup/*/; do mkdir $d/sub 2>/dev/null && rmdir $d/sub && echo $d-writable; done; true";
    for ro in [true, false] {
        let b = Bundle::with(if ro { "rf-cgroup-ro" } else { "rf-cgroup-rw" }, &["sh", "-c", script], |c| {
            let mounts = c["mounts"].as_array_mut().unwrap();
            let cg = mounts.iter_mut().find(|m| m["type"] == "cgroup").unwrap();
            if !ro {
                cg["options"] = json!(["nosuid", "noexec", "nodev", "relatime"]);
            }
        });
        let out = b.run_ok();
        let mut ours = cgroup_tree(&out);
        assert!(ours.iter().any(|l| l.starts_with("/sys/fs/cgroup/memory ")), "{out}");
        // Unlike runc 1.1, the tmpfs holding the hierarchies is read-only with
        // them, and a hybrid host's cgroup2 hierarchy is there too (`unified`).
        let mode = if ro { "ro" } else { "rw" };
        assert_eq!(ours.remove(0), format!("/sys/fs/cgroup {mode},nosuid,nodev,noexec,relatime tmpfs"));
        ours.retain(|l| !l.contains("unified"));
        let (code, theirs, err) = runc_run(&b);
        assert_eq!(code, 0, "runc: {err}");
        assert_eq!(ours, cgroup_tree(&theirs)[1..], "ro={ro}\n{out}");
        // runc 1.1 leaves its tmpfs mode 0555 rather than read-only: only the
        // hierarchies are compared.
        let hierarchy = |l: &&str| l.ends_with("/-writable") && !l.contains("unified");
        let writable: Vec<&str> = out.lines().filter(hierarchy).collect();
        assert_eq!(writable, theirs.lines().filter(hierarchy).collect::<Vec<_>>(), "ro={ro}");
        if ro {
            assert!(!out.contains("-writable"), "{out}");
        } else {
            assert!(writable.iter().any(|l| l.contains("/memory/")), "{out}");
        }
    }
}
