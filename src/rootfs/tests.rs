//! The order of the rootfs steps, recorded by `sys::ops::fake::Recorder` on a
//! temporary rootfs: no root needed, nothing mounted.

use std::path::Path;

use nix::mount::MsFlags;
use oci_spec::runtime::Spec;

use super::{finalize, prepare};
use crate::sys::ops::fake::{Call, Recorder};

fn spec(json: &str) -> Spec {
    serde_json::from_str(json).expect("test spec parses")
}

/// One line per mount call, easy to compare: `<fstype> <target>`, `bind <src>
/// <target>`, `remount <target>`, `mknod <path>`, each with ` ro` when read-only.
fn lines(calls: &[Call]) -> Vec<String> {
    calls
        .iter()
        .filter_map(|c| {
            let ro = |f: &MsFlags| if f.contains(MsFlags::MS_RDONLY) { " ro" } else { "" };
            Some(match c {
                Call::Mount { flags, target, .. } if flags.contains(MsFlags::MS_REMOUNT) => {
                    format!("remount {}{}", target.display(), ro(flags))
                }
                Call::Mount { src, target, flags, .. } if flags.contains(MsFlags::MS_BIND) => {
                    let src = src.as_deref().unwrap_or(Path::new("")).display().to_string();
                    format!("bind {src} {}{}", target.display(), ro(flags))
                }
                Call::Mount { fstype: Some(t), target, flags, .. } => format!("{t} {}{}", target.display(), ro(flags)),
                Call::Mount { target, .. } => format!("propagation {}", target.display()),
                Call::Mknod { path, .. } => format!("mknod {}", path.display()),
                _ => return None,
            })
        })
        .collect()
}

const RUNC_MOUNTS: &str = r#"{
  "ociVersion": "1.0.2", "root": {"path": "rootfs"},
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k", "ro"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}
  ],
  "linux": {
    "namespaces": [{"type": "mount"}],
    "maskedPaths": ["/proc/acpi", "/proc/missing"],
    "readonlyPaths": ["/proc/sys"]
  }
}"#;

#[test]
fn mounts_then_devices_then_paths_and_a_readonly_dev_last() {
    let tmp = tempfile::tempdir().unwrap();
    let rootfs = tmp.path().join("rootfs");
    std::fs::create_dir_all(rootfs.join("proc/acpi")).unwrap();
    std::fs::create_dir_all(rootfs.join("proc/sys")).unwrap();
    let rootfs = rootfs.canonicalize().unwrap();
    let spec = spec(RUNC_MOUNTS);
    let rec = Recorder::default();
    prepare(&rec, &spec, &rootfs, false, &Vec::new()).unwrap();
    finalize(&rec, &spec, &rootfs).unwrap();

    // Our tree detached from the host's, the rootfs's parent private, the rootfs
    // bound onto itself (pivot_root needs a mount point).
    let calls = rec.calls();
    let flags = |c: &Call| match c {
        Call::Mount { flags, target, .. } => (*flags, target.clone()),
        other => panic!("not a mount: {other:?}"),
    };
    assert_eq!(flags(&calls[0]), (MsFlags::MS_SLAVE | MsFlags::MS_REC, "/".into()));
    assert_eq!(flags(&calls[1]), (MsFlags::MS_PRIVATE, rootfs.clone()));
    assert_eq!(flags(&calls[2]), (MsFlags::MS_BIND | MsFlags::MS_REC, rootfs.clone()));
    assert_eq!(
        lines(&rec.under(&rootfs)[3..]),
        [
            "proc /proc",
            // Writable while its submounts and devices are made...
            "tmpfs /dev",
            "devpts /dev/pts",
            "tmpfs /dev/shm",
            "mqueue /dev/mqueue",
            "sysfs /sys ro",
            "mknod /dev/null",
            "mknod /dev/zero",
            "mknod /dev/full",
            "mknod /dev/random",
            "mknod /dev/urandom",
            "mknod /dev/tty",
            // finalize: readonlyPaths, maskedPaths (a missing one skipped)...
            "bind /proc/sys /proc/sys",
            "remount /proc/sys ro",
            "tmpfs /proc/acpi ro",
            // ...and /dev read-only only now, keeping its other flags.
            "remount /dev ro",
        ]
    );
    let dev_remount = rec.calls().last().cloned().unwrap();
    let Call::Mount { flags, data, .. } = dev_remount else { panic!() };
    assert!(flags.contains(MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME) && !flags.contains(MsFlags::MS_BIND));
    assert_eq!(data, None, "a remount keeps the tmpfs's size and mode");
    // The symlinks of /dev were made for real in the temporary rootfs.
    assert_eq!(std::fs::read_link(rootfs.join("dev/ptmx")).unwrap(), Path::new("pts/ptmx"));
}

#[test]
fn a_writable_dev_is_not_remounted() {
    let tmp = tempfile::tempdir().unwrap();
    let rootfs = tmp.path().canonicalize().unwrap();
    let spec = spec(
        r#"{"ociVersion": "1.0.2", "root": {"path": "rootfs"}, "mounts": [
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid"]}]}"#,
    );
    let rec = Recorder::default();
    prepare(&rec, &spec, &rootfs, false, &Vec::new()).unwrap();
    finalize(&rec, &spec, &rootfs).unwrap();
    assert!(!lines(&rec.under(&rootfs)).iter().any(|l| l.starts_with("remount")), "{:?}", rec.calls());
}

#[test]
fn masking_a_file_fails_closed_when_dev_null_is_not_the_null_device() {
    let tmp = tempfile::tempdir().unwrap();
    let rootfs = tmp.path().canonicalize().unwrap();
    std::fs::create_dir_all(rootfs.join("dev")).unwrap();
    std::fs::create_dir_all(rootfs.join("etc")).unwrap();
    std::fs::write(rootfs.join("dev/null"), "").unwrap();
    std::fs::write(rootfs.join("etc/shadow"), "").unwrap();
    let spec = spec(r#"{"ociVersion": "1.0.2", "linux": {"maskedPaths": ["/etc/shadow"]}}"#);
    let rec = Recorder::default();
    let err = finalize(&rec, &spec, &rootfs).unwrap_err().to_string();
    assert!(err.contains("/dev/null is not the null device"), "{err}");
    assert!(rec.calls().is_empty(), "nothing mounted over /etc/shadow: {:?}", rec.calls());
}

#[test]
fn a_masked_path_that_is_a_symlink_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let rootfs = tmp.path().canonicalize().unwrap();
    std::fs::create_dir_all(rootfs.join("proc")).unwrap();
    std::os::unix::fs::symlink("/etc", rootfs.join("proc/kcore")).unwrap();
    let spec = spec(r#"{"ociVersion": "1.0.2", "linux": {"maskedPaths": ["/proc/kcore"]}}"#);
    let rec = Recorder::default();
    let err = finalize(&rec, &spec, &rootfs).unwrap_err().to_string();
    assert!(err.contains("is a symlink"), "{err}");
    assert!(rec.calls().is_empty());
}

/// The v1 cgroup mount (on a host with v1 hierarchies): one recursive
/// mount_setattr gives every bind and the tmpfs their flags; without
/// mount_setattr (ENOSYS, or EINVAL for an attribute the kernel lacks) each is
/// remounted as runc does.
#[test]
fn v1_cgroup_flags_in_one_setattr_or_remounts_without_it() {
    let json = r#"{"ociVersion": "1.0.2", "root": {"path": "rootfs"}, "mounts": [
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}],
        "linux": {"namespaces": [{"type": "mount"}]}}"#;
    for fail in [None, Some(nix::errno::Errno::ENOSYS), Some(nix::errno::Errno::EINVAL)] {
        let tmp = tempfile::tempdir().unwrap();
        let rootfs = tmp.path().canonicalize().unwrap();
        let rec = Recorder { fail_setattr: fail, ..Recorder::default() };
        prepare(&rec, &spec(json), &rootfs, false, &Vec::new()).unwrap();
        let got = lines(&rec.under(&rootfs));
        if !got.iter().any(|l| l == "tmpfs /sys/fs/cgroup") {
            return; // a cgroup2-only host: one fresh mount or bind, no tmpfs
        }
        let binds = got.iter().filter(|l| l.starts_with("bind /sys/fs/cgroup/")).count();
        assert!(binds > 0, "{got:?}");
        // runc's default options are the tmpfs's own plus relatime: one call.
        let setattrs: Vec<Call> = rec.calls().into_iter().filter(|c| matches!(c, Call::SetAttr { .. })).collect();
        assert_eq!(setattrs.len(), 1, "{setattrs:?}");
        let Call::SetAttr { set, recursive, .. } = &setattrs[0] else { unreachable!() };
        assert!(*recursive && set & crate::sys::mount::MOUNT_ATTR_RDONLY != 0);
        let remounts: Vec<&String> = got.iter().filter(|l| l.starts_with("remount")).collect();
        match fail {
            None => assert!(remounts.is_empty(), "{got:?}"),
            Some(_) => {
                assert_eq!(remounts.len(), binds + 1, "{got:?}");
                assert!(remounts.iter().all(|l| l.ends_with(" ro")), "{got:?}");
                assert_eq!(remounts.last().unwrap().as_str(), "remount /sys/fs/cgroup ro");
            }
        }
    }
}
