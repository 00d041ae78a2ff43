use std::fs;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use super::*;

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn dir_fd(p: &Path) -> OwnedFd {
    fs::File::open(p).unwrap().into()
}

fn pack(root: &Path, opts: &PackOptions) -> Vec<u8> {
    let mut out = Vec::new();
    pack_dir(dir_fd(root).as_fd(), &mut out, opts).unwrap();
    out
}

/// (name, type byte, link name, mode, mtime, pax xattr keys) of each entry.
fn listing(tar: &[u8]) -> Vec<(String, u8, String, u32, u64, Vec<String>)> {
    let mut a = tar::Archive::new(tar);
    let mut out = Vec::new();
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let keys: Vec<String> = match e.pax_extensions().unwrap() {
            Some(p) => p.flatten().map(|x| x.key().unwrap().to_string()).collect(),
            None => Vec::new(),
        };
        let h = e.header();
        let link = e.link_name_bytes().map(|l| String::from_utf8_lossy(&l).into_owned()).unwrap_or_default();
        out.push((
            String::from_utf8_lossy(&e.path_bytes()).into_owned(),
            h.entry_type().as_byte(),
            link,
            h.mode().unwrap(),
            h.mtime().unwrap(),
            keys,
        ));
        let mut sink = Vec::new();
        e.read_to_end(&mut sink).unwrap();
    }
    out
}

fn names(tar: &[u8]) -> Vec<String> {
    listing(tar).into_iter().map(|e| e.0).collect()
}

fn sample_tree() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    fs::create_dir_all(p.join("b/sub")).unwrap();
    fs::write(p.join("b/sub/file"), b"hello").unwrap();
    fs::set_permissions(p.join("b/sub/file"), fs::Permissions::from_mode(0o4755)).unwrap();
    fs::write(p.join("a"), b"").unwrap();
    fs::hard_link(p.join("b/sub/file"), p.join("c-link")).unwrap();
    symlink("../a/./x/", p.join("b/rel")).unwrap();
    nix::unistd::mkfifo(&p.join("fifo"), nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let long = "n".repeat(150);
    fs::write(p.join(&long), b"long").unwrap();
    d
}

#[test]
fn tree_is_written_in_byte_order_with_docker_names() {
    let d = sample_tree();
    let tar = pack(d.path(), &PackOptions::default());
    let long = "n".repeat(150);
    assert_eq!(names(&tar), vec!["a", "b/", "b/rel", "b/sub/", "b/sub/file", "c-link", "fifo", long.as_str()]);
    let l = listing(&tar);
    // The symlink target is kept byte for byte; the second name of a file is a hard link.
    assert_eq!((l[2].1, l[2].2.as_str()), (b'2', "../a/./x/"));
    assert_eq!((l[5].1, l[5].2.as_str()), (b'1', "b/sub/file"));
    assert_eq!(l[4].3, 0o4755);
    assert_eq!(l[6].1, b'6');
    // Ends with two zero blocks, in whole blocks.
    assert_eq!(tar.len() % 512, 0);
    assert!(tar[tar.len() - 1024..].iter().all(|&b| b == 0));
}

#[test]
fn same_tree_with_clamped_times_gives_the_same_bytes() {
    let d = sample_tree();
    let opts = PackOptions { times: Times::Clamp(0), ..Default::default() };
    let one = pack(d.path(), &opts);
    assert!(listing(&one).iter().all(|e| e.4 == 0));
    fs::File::open(d.path().join("a")).unwrap().set_modified(std::time::SystemTime::now()).unwrap();
    assert_eq!(one, pack(d.path(), &opts));
    let kept = pack(d.path(), &PackOptions::default());
    assert!(listing(&kept).iter().any(|e| e.4 > 0));
}

#[test]
fn packed_tree_unpacks_to_the_same_tree() {
    let d = sample_tree();
    nix::unistd::unlink(&d.path().join("fifo")).unwrap();
    let _ = xattr_set(&d.path().join("a"), "user.note", b"kept");
    let tar = pack(d.path(), &PackOptions::default());
    let out = tempfile::tempdir().unwrap();
    crate::unpack::unpack(&tar[..], out.path()).unwrap();
    assert_eq!(fs::read(out.path().join("b/sub/file")).unwrap(), b"hello");
    let (m1, m2) =
        (fs::metadata(out.path().join("b/sub/file")).unwrap(), fs::metadata(out.path().join("c-link")).unwrap());
    assert_eq!(m1.ino(), m2.ino());
    assert_eq!(m1.mode() & 0o7777, 0o4755);
    assert_eq!(fs::read_link(out.path().join("b/rel")).unwrap(), PathBuf::from("../a/./x/"));
    assert_eq!(fs::read(out.path().join("n".repeat(150))).unwrap(), b"long");
    let src_mtime = fs::metadata(d.path().join("b/sub/file")).unwrap().mtime();
    assert_eq!(m1.mtime(), src_mtime);
    if xattr_get(&d.path().join("a"), "user.note").is_some() {
        assert_eq!(xattr_get(&out.path().join("a"), "user.note").as_deref(), Some(&b"kept"[..]));
    }
}

fn xattr_set(p: &Path, name: &str, v: &[u8]) -> Result<(), crate::sys::SysError> {
    let f = fs::File::open(p).unwrap();
    crate::sys::fs::fsetxattr(f.as_fd(), name, v, p)
}

fn xattr_get(p: &Path, name: &str) -> Option<Vec<u8>> {
    let f = fs::File::open(p).unwrap();
    crate::sys::fs::fgetxattr(f.as_fd(), name, p).ok().flatten()
}

fn whiteout(p: &Path) {
    nix::sys::stat::mknod(p, nix::sys::stat::SFlag::S_IFCHR, nix::sys::stat::Mode::empty(), 0).unwrap();
}

#[test]
fn overlay_whiteouts_become_oci_markers() {
    if !is_root() {
        return; // mknod and trusted.* xattrs need root
    }
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    fs::create_dir_all(p.join("etc/opq")).unwrap();
    fs::write(p.join("etc/opq/new"), b"x").unwrap();
    xattr_set(&p.join("etc/opq"), "trusted.overlay.opaque", b"y").unwrap();
    xattr_set(&p.join("etc"), "trusted.overlay.origin", b"junk").unwrap();
    whiteout(&p.join("etc/gone"));
    let tar = pack(p, &PackOptions::upper_dir(Times::Keep));
    let l = listing(&tar);
    let got: Vec<(&str, u8)> = l.iter().map(|e| (e.0.as_str(), e.1)).collect();
    assert_eq!(
        got,
        vec![
            ("etc/", b'5'),
            ("etc/.wh.gone", b'0'),
            ("etc/opq/", b'5'),
            ("etc/opq/.wh..wh..opq", b'0'),
            ("etc/opq/new", b'0')
        ]
    );
    // overlayfs's own xattrs are not carried.
    assert!(l.iter().all(|e| e.5.is_empty()), "{l:?}");
    // And unpacking gives overlayfs's form back.
    let out = tempfile::tempdir().unwrap();
    crate::unpack::unpack(&tar[..], out.path()).unwrap();
    assert_eq!(fs::symlink_metadata(out.path().join("etc/gone")).unwrap().rdev(), 0);
    assert_eq!(xattr_get(&out.path().join("etc/opq"), "trusted.overlay.opaque").as_deref(), Some(&b"y"[..]));
}

#[test]
fn mount_targets_and_their_empty_parents_are_left_out() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    fs::create_dir_all(p.join("etc")).unwrap();
    fs::write(p.join("etc/hostname"), b"").unwrap();
    fs::create_dir_all(p.join("proc")).unwrap();
    fs::write(p.join("kept"), b"1").unwrap();
    let opts = PackOptions::upper_dir(Times::Keep);
    assert_eq!(names(&pack(p, &opts)), vec!["kept"]);
    fs::write(p.join("etc/passwd"), b"root").unwrap();
    assert_eq!(names(&pack(p, &opts)), vec!["etc/", "etc/passwd", "kept"]);
}

#[test]
fn empty_tree_is_the_empty_layer() {
    let d = tempfile::tempdir().unwrap();
    let tar = pack(d.path(), &PackOptions::default());
    assert_eq!(tar, vec![0u8; 1024]);
    // docker's empty layer diff id (layer.DigestSHA256EmptyTar).
    assert_eq!(
        crate::reference::Digest::of(&tar).as_str(),
        "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"
    );
}

#[test]
fn single_entry_is_packed_under_the_name_given() {
    let d = sample_tree();
    let mut out = Vec::new();
    let parent = dir_fd(d.path());
    pack_entry(parent.as_fd(), std::ffi::OsStr::new("b"), Path::new("copy"), &mut out, &PackOptions::default())
        .unwrap();
    assert_eq!(names(&out), vec!["copy/", "copy/rel", "copy/sub/", "copy/sub/file"]);
}

#[test]
fn changes_follow_dockers_rules() {
    let lower = tempfile::tempdir().unwrap();
    let upper = tempfile::tempdir().unwrap();
    let (l, u) = (lower.path(), upper.path());
    fs::create_dir_all(l.join("etc")).unwrap();
    fs::write(l.join("etc/passwd"), b"root").unwrap();
    fs::create_dir_all(l.join("usr/bin")).unwrap();
    // A modified file; its parent copied up with the same metadata is not listed.
    fs::create_dir_all(u.join("etc")).unwrap();
    fs::write(u.join("etc/passwd"), b"root2").unwrap();
    let m = fs::metadata(l.join("etc")).unwrap();
    fs::set_permissions(u.join("etc"), m.permissions()).unwrap();
    fs::File::open(u.join("etc")).unwrap().set_modified(m.modified().unwrap()).unwrap();
    // An added file in an existing directory: the directory shows as changed.
    fs::create_dir_all(u.join("usr/bin")).unwrap();
    fs::write(u.join("usr/bin/tool"), b"x").unwrap();
    for dir in ["usr", "usr/bin"] {
        let m = fs::metadata(l.join(dir)).unwrap();
        fs::File::open(u.join(dir)).unwrap().set_modified(m.modified().unwrap()).unwrap();
    }
    // A new top-level directory.
    fs::create_dir_all(u.join("new/deep")).unwrap();
    // Mount targets are not changes.
    fs::write(u.join("etc/hostname"), b"").unwrap();
    let excl: Vec<PathBuf> = MOUNT_TARGETS.iter().map(PathBuf::from).collect();
    let got: Vec<String> = changes(u, &[l.to_path_buf()], &excl).unwrap().iter().map(|c| c.to_string()).collect();
    assert_eq!(got, vec!["C /etc/passwd", "A /new", "A /new/deep", "C /usr/bin", "A /usr/bin/tool"]);
}
