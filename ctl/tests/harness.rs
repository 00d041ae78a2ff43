//! The fixtures themselves: the images are what images.sh promises, the
//! registries serve them, the auth one refuses anonymous reads, a private
//! registry and a store leave nothing behind.

use std::net::TcpStream;
use std::process::Command;

use crate::support::{self, IMAGE_NAMES, Registry, Run, Store};

#[test]
#[ignore = "needs root"]
fn registry_serves_every_test_image_with_its_layout_digest() {
    let images = support::images();
    let reg = support::registry();
    for (name, tag) in [
        ("busybox", "busybox:latest"),
        ("busybox-zstd", "busybox:zstd"),
        ("busybox-uncompressed", "busybox:uncompressed"),
        ("busybox-multi", "busybox:multi"),
        ("debian", "debian:bookworm"),
        ("nginx", "nginx:latest"),
        ("layers60", "layers60:latest"),
    ] {
        assert_eq!(reg.skopeo_digest(tag), images.digest(name), "{tag} in the registry vs the layout's {name}");
    }
    assert_eq!(IMAGE_NAMES.len(), 7);
}

#[test]
#[ignore = "needs root"]
fn test_images_have_their_promised_shape() {
    let images = support::images();
    let layers = |name: &str| images.manifest(name)["layers"].as_array().map_or(0, Vec::len);
    assert_eq!(layers("busybox"), 1);
    assert_eq!(layers("debian"), 1);
    assert_eq!(layers("nginx"), 2);
    assert_eq!(layers("layers60"), 60);
    let media = |name: &str| images.manifest(name)["layers"][0]["mediaType"].as_str().unwrap_or("").to_string();
    assert_eq!(media("busybox"), "application/vnd.oci.image.layer.v1.tar+gzip");
    assert_eq!(media("busybox-zstd"), "application/vnd.oci.image.layer.v1.tar+zstd");
    assert_eq!(media("busybox-uncompressed"), "application/vnd.oci.image.layer.v1.tar");
    let index = images.manifest("busybox-multi");
    let archs: Vec<&str> = index["manifests"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["platform"]["architecture"].as_str())
        .collect();
    assert_eq!(archs, ["amd64", "arm64"]);
    // The nginx layer deletes a base file and a base directory: real whiteouts.
    let upper = images.manifest("nginx")["layers"][1]["digest"].as_str().expect("nginx layer digest").to_string();
    let list = Command::new("tar").arg("-tzf").arg(images.blob(&upper)).success();
    assert!(list.lines().any(|l| l.trim_start_matches("./") == "etc/.wh.motd"), "no etc/.wh.motd in the nginx layer");
    assert!(list.lines().any(|l| l.trim_start_matches("./") == "usr/share/doc/.wh.base-files"));
    for archive in ["busybox.oci.tar", "nginx.oci.tar", "busybox.docker.tar"] {
        assert!(images.dir.join(archive).is_file(), "{archive} missing");
    }
}

#[test]
#[ignore = "needs root"]
fn auth_registry_refuses_anonymous_and_accepts_the_test_user() {
    let reg = support::auth_registry();
    let anon = Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--raw"])
        .arg(format!("docker://{}", reg.reference("busybox:latest")))
        .failure();
    assert!(String::from_utf8_lossy(&anon.stderr).contains("authentication required"));
    assert_eq!(reg.skopeo_digest("busybox:latest"), support::images().digest("busybox"));
}

#[test]
#[ignore = "needs root"]
fn private_registry_is_stopped_and_removed_on_drop() {
    let reg = Registry::start(false);
    let (addr, dir) = (reg.addr.clone(), reg.dir.clone());
    assert!(TcpStream::connect(&addr).is_ok());
    drop(reg);
    assert!(TcpStream::connect(&addr).is_err(), "{addr} still answers after drop");
    assert!(!dir.exists(), "{} left behind", dir.display());
}

#[test]
fn store_commands_use_their_own_roots() {
    let store = Store::new();
    let out = store.berthctl(["info"]).success();
    assert!(out.contains(&store.root.display().to_string()), "{out}");
    assert!(out.contains(&store.runroot.display().to_string()), "{out}");
    let path = store.path().to_path_buf();
    drop(store);
    assert!(!path.exists());
}

#[test]
#[ignore = "needs root"]
fn store_drop_detaches_what_is_mounted_under_it() {
    let store = Store::new();
    let target = store.root.join("mnt");
    std::fs::create_dir(&target).expect("mkdir");
    Command::new("mount").args(["-t", "tmpfs", "tmpfs"]).arg(&target).success();
    let path = store.path().to_path_buf();
    drop(store);
    assert!(!path.exists(), "{} left behind", path.display());
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    assert!(!mounts.contains(&target.display().to_string()));
}
