//! `save` and `load` judged by other tools: docker (a private dockerd) and
//! podman load what berthctl saves with the same image ids and layers, and
//! berthctl loads what they save; skopeo reads the oci-archive with the
//! manifest digest unchanged; the rootfs berthctl unpacks matches `umoci
//! unpack`'s file for file.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::{self, Dockerd, Run, Store, tree_manifest};

fn load(store: &Store, archive: &Path) -> String {
    store.berthctl(["load", "-i"]).arg(archive).success()
}

fn inspect(store: &Store, name: &str, format: &str) -> String {
    store.berthctl(["image", "inspect", "--format", format, name]).success().trim().to_string()
}

/// A podman with its own storage (vfs) and run dirs under `dir`.
fn podman(dir: &Path) -> Command {
    let mut cmd = Command::new("podman");
    cmd.arg("--root").arg(dir.join("podman-root")).arg("--runroot").arg(dir.join("podman-run"));
    cmd.args(["--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "none"]);
    cmd
}

#[test]
#[ignore = "needs root"]
fn load_reads_oci_and_docker_archives_and_names_images_as_docker() {
    let images = support::images();
    let store = Store::new();
    assert_eq!(load(&store, &images.busybox_docker_archive()), "Loaded image: busybox:latest\n");
    assert_eq!(load(&store, &images.oci_archive("nginx")), "Loaded image: nginx:latest\n");
    // A nested index (two platforms): this host's manifest is chosen.
    assert_eq!(load(&store, &images.oci_archive("busybox-multi")), "Loaded image: busybox-multi:latest\n");
    assert_eq!(inspect(&store, "busybox-multi", "{{.Architecture}}"), "amd64");
    // From stdin, zstd layers; then every layer of a 60-layer image.
    let f = fs::File::open(images.oci_archive("busybox-zstd")).expect("open the zstd archive");
    let out = store.berthctl(["load"]).stdin(Stdio::from(f)).success();
    assert_eq!(out, "Loaded image: busybox-zstd:latest\n");
    load(&store, &images.oci_archive("layers60"));
    assert_eq!(inspect(&store, "layers60", "{{len .RootFS.Layers}}"), "60");
    // The nginx manifest is kept: its digest is the layout's.
    let config = images.manifest("nginx")["config"]["digest"].as_str().expect("config digest").to_string();
    assert_eq!(inspect(&store, "nginx", "{{.Id}}"), config);
}

#[test]
#[ignore = "needs root"]
fn load_of_a_broken_archive_fails_and_leaves_no_blob() {
    let images = support::images();
    let store = Store::new();
    let bad = store.path().join("bad.tar");
    // The nginx archive cut in the middle of its big layer.
    let data = fs::read(images.oci_archive("nginx")).expect("read archive");
    fs::write(&bad, &data[..data.len() / 2]).expect("write the cut archive");
    let out = store.berthctl(["load", "-i"]).arg(&bad).failure();
    assert!(String::from_utf8_lossy(&out.stderr).contains("load"), "{out:?}");
    let blobs = store.root.join("content/blobs/sha256");
    let left: Vec<_> = fs::read_dir(&blobs).map(|r| r.flatten().map(|e| e.file_name()).collect()).unwrap_or_default();
    assert!(left.is_empty(), "blobs left after a failed load: {left:?}");
    let out = store.berthctl(["load", "-i"]).arg(images.layout().join("index.json")).failure();
    assert!(String::from_utf8_lossy(&out.stderr).contains("Error"), "{out:?}");
}

#[test]
#[ignore = "needs root"]
fn oci_archive_save_keeps_the_manifest_digest_for_skopeo() {
    let images = support::images();
    let store = Store::new();
    load(&store, &images.oci_archive("nginx"));
    let out = store.path().join("nginx-oci.tar");
    store.berthctl(["save", "--format", "oci-archive", "-o"]).arg(&out).arg("nginx").success();
    let digest = Command::new("skopeo")
        .args(["inspect", "--format", "{{.Digest}}"])
        .arg(format!("oci-archive:{}", out.display()))
        .success();
    assert_eq!(digest.trim(), images.digest("nginx"));
    // And back into a fresh store.
    let other = Store::new();
    assert_eq!(load(&other, &out), "Loaded image: nginx:latest\n");
    assert_eq!(inspect(&other, "nginx", "{{.Id}}"), inspect(&store, "nginx", "{{.Id}}"));
}

#[test]
#[ignore = "needs root"]
fn podman_loads_berthctl_save_and_berthctl_loads_podman_save() {
    let images = support::images();
    let store = Store::new();
    load(&store, &images.oci_archive("nginx"));
    let id = inspect(&store, "nginx", "{{.Id}}");
    let saved = store.path().join("nginx.tar");
    store.berthctl(["save", "-o"]).arg(&saved).arg("nginx:latest").success();
    podman(store.path()).arg("load").arg("-i").arg(&saved).success();
    let podman_id = podman(store.path()).args(["image", "inspect", "--format", "{{.Id}}", "nginx:latest"]).success();
    assert_eq!(format!("sha256:{}", podman_id.trim()), id);

    let back = store.path().join("podman-save.tar");
    podman(store.path()).args(["save", "-o"]).arg(&back).arg("nginx:latest").success();
    let other = Store::new();
    let out = load(&other, &back);
    // podman names docker's familiar `nginx:latest` localhost/nginx:latest.
    let name = out.strip_prefix("Loaded image: ").map(str::trim).unwrap_or_else(|| panic!("load printed {out:?}"));
    assert!(name.ends_with("nginx:latest"), "{out}");
    assert_eq!(inspect(&other, name, "{{.Id}}"), id);
}

#[test]
#[ignore = "needs root"]
fn docker_loads_berthctl_save_and_berthctl_loads_docker_save() {
    let images = support::images();
    let store = Store::new();
    load(&store, &images.oci_archive("nginx"));
    load(&store, &images.busybox_docker_archive());
    let nginx = inspect(&store, "nginx", "{{.Id}}");
    let busybox = inspect(&store, "busybox", "{{.Id}}");
    let saved = store.path().join("both.tar");
    store.berthctl(["save", "-o"]).arg(&saved).args(["nginx:latest", "busybox:latest"]).success();

    let docker = Dockerd::start();
    let out = docker.docker(["load", "-i"]).arg(&saved).success();
    assert!(out.contains("Loaded image: nginx:latest") && out.contains("Loaded image: busybox:latest"), "{out}");
    assert_eq!(docker.docker(["image", "inspect", "--format", "{{.Id}}", "nginx:latest"]).success().trim(), nginx);
    let docker_layers =
        docker.docker(["image", "inspect", "--format", "{{json .RootFS.Layers}}", "nginx:latest"]).success();
    assert_eq!(docker_layers.trim(), inspect(&store, "nginx", "{{json .RootFS.Layers}}"));

    let back = store.path().join("docker-save.tar");
    docker.docker(["save", "-o"]).arg(&back).args(["busybox:latest", "nginx:latest"]).success();
    let other = Store::new();
    let out = load(&other, &back);
    assert!(out.contains("Loaded image: busybox:latest") && out.contains("Loaded image: nginx:latest"), "{out}");
    assert_eq!(inspect(&other, "busybox", "{{.Id}}"), busybox);
    assert_eq!(inspect(&other, "nginx", "{{.Id}}"), nginx);
}

/// Mount the image's layers read-only as overlayfs stacks them for a
/// container, and list the merged tree.
fn merged_tree(store: &Store, name: &str) -> String {
    let lower = inspect(store, name, "{{.GraphDriver.Data.LowerDir}}");
    let target = store.path().join(format!("merged-{name}"));
    fs::create_dir_all(&target).expect("mkdir merged");
    // overlayfs wants two lower dirs when there is no upper: an empty one at the bottom.
    let empty = store.path().join("empty-lower");
    fs::create_dir_all(&empty).expect("mkdir empty lower");
    let opts = format!("lowerdir={lower}:{}", empty.display());
    Command::new("mount").args(["-t", "overlay", "overlay", "-o", &opts]).arg(&target).success();
    let tree = tree_manifest(&target);
    Command::new("umount").arg(&target).success();
    tree
}

fn umoci_tree(store: &Store, name: &str) -> String {
    let bundle = store.path().join(format!("umoci-{name}"));
    Command::new("umoci").args(["unpack", "--image", &support::images().umoci_ref(name)]).arg(&bundle).success();
    tree_manifest(&bundle.join("rootfs"))
}

#[test]
#[ignore = "needs root"]
fn unpacked_debian_and_nginx_match_umoci_file_for_file() {
    let images = support::images();
    let store = Store::new();
    load(&store, &images.oci_archive("debian"));
    load(&store, &images.oci_archive("nginx"));
    for name in ["debian", "nginx"] {
        let ours = merged_tree(&store, name);
        let theirs = umoci_tree(&store, name);
        if ours != theirs {
            let a: std::collections::BTreeSet<&str> = ours.lines().collect();
            let b: std::collections::BTreeSet<&str> = theirs.lines().collect();
            let only_ours: Vec<_> = a.difference(&b).take(20).collect();
            let only_umoci: Vec<_> = b.difference(&a).take(20).collect();
            panic!("{name}: berthctl and umoci differ\nonly berthctl: {only_ours:#?}\nonly umoci: {only_umoci:#?}");
        }
        assert!(ours.lines().count() > 1000, "{name}: suspiciously few files");
    }
    let nginx = merged_tree(&store, "nginx");
    assert!(!nginx.lines().any(|l| l.starts_with("etc/motd ")), "whiteout of /etc/motd not applied");
    assert!(!nginx.lines().any(|l| l.starts_with("usr/share/doc/base-files")), "whiteout of a dir not applied");
    let bin = nginx.lines().find(|l| l.starts_with("usr/sbin/nginx ")).expect("nginx binary");
    assert!(bin.contains("security.capability="), "capability xattr lost: {bin}");
}
