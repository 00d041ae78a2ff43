//! `pull` against Debian's docker-registry serving the test images (plain,
//! htpasswd), and against a lying registry of our own (wrong digest, short
//! blob, bad JSON, 500s): output, digests as skopeo sees them, layer reuse,
//! platform choice, compression variants, a 60-layer image mounted through
//! overlayfs, and the unpacked rootfs compared file by file with umoci's.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

use crate::support::{self, AUTH_PASSWORD, AUTH_USER, Run, Store};

fn inspect(store: &Store, name: &str) -> serde_json::Value {
    let out = store.berthctl(["image", "inspect", name]).success();
    serde_json::from_str::<serde_json::Value>(&out).unwrap()[0].clone()
}

fn lower_dirs(v: &serde_json::Value) -> Vec<String> {
    v["GraphDriver"]["Data"]["LowerDir"].as_str().unwrap().split(':').map(String::from).collect()
}

#[test]
#[ignore = "needs root"]
fn pull_prints_dockers_lines_and_records_the_digest() {
    let reg = support::registry();
    let store = Store::new();
    let name = reg.reference("busybox");
    let out = store.berthctl(["pull", &name]).success();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "Using default tag: latest");
    assert_eq!(lines[1], "latest: Pulling from busybox");
    assert!(out.contains(": Pull complete\n"), "{out}");
    let digest = reg.skopeo_digest("busybox:latest");
    assert!(out.contains(&format!("Digest: {digest}\n")), "{out}");
    assert!(out.contains(&format!("Status: Downloaded newer image for {name}:latest\n")), "{out}");
    assert_eq!(lines.last().unwrap(), &format!("{name}:latest"));

    let v = inspect(&store, &name);
    assert_eq!(v["RepoDigests"], serde_json::json!([format!("{name}@{digest}")]));
    assert_eq!(v["RepoTags"], serde_json::json!([format!("{name}:latest")]));
    let lower = lower_dirs(&v);
    assert!(Path::new(&lower[0]).join("bin/busybox").is_file());

    // Again: nothing downloaded, the layer is reused.
    let out = store.berthctl(["pull", &name]).success();
    assert!(out.contains("Already exists") && out.contains("Status: Image is up to date for"), "{out}");
    assert_eq!(store.berthctl(["pull", "-q", &name]).success(), format!("{name}:latest\n"));
    // By digest.
    let by_digest = format!("{name}@{digest}");
    assert_eq!(store.berthctl(["pull", "-q", &by_digest]).success(), format!("{by_digest}\n"));
    assert_eq!(inspect(&store, &by_digest)["Id"], v["Id"]);
}

#[test]
#[ignore = "needs root"]
fn compression_variants_share_diff_ids_and_snapshots() {
    let reg = support::registry();
    let store = Store::new();
    let mut layers = Vec::new();
    for tag in ["busybox:latest", "busybox:zstd", "busybox:uncompressed"] {
        store.berthctl(["pull", "-q", &reg.reference(tag)]).success();
        let v = inspect(&store, &reg.reference(tag));
        layers.push((v["RootFS"]["Layers"].clone(), lower_dirs(&v)));
    }
    assert_eq!(layers[0], layers[1]);
    assert_eq!(layers[0], layers[2]);
}

#[test]
#[ignore = "needs root"]
fn index_gives_the_hosts_platform_or_the_one_asked_for() {
    let reg = support::registry();
    let store = Store::new();
    let name = reg.reference("busybox:multi");
    store.berthctl(["pull", "-q", &name]).success();
    assert_eq!(inspect(&store, &name)["Architecture"], "amd64");
    let v = inspect(&store, &name);
    assert_eq!(v["RepoDigests"][0], format!("{}@{}", reg.reference("busybox"), reg.skopeo_digest("busybox:multi")));
    store.berthctl(["pull", "-q", "--platform", "linux/arm64", &name]).success();
    assert_eq!(inspect(&store, &name)["Architecture"], "arm64");
    let out = store.berthctl(["pull", "--platform", "linux/s390x", &name]).failure();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no matching manifest for linux/s390x in the manifest list entries"), "{err}");
}

#[test]
#[ignore = "needs root"]
fn sixty_layers_mount_through_overlay() {
    let reg = support::registry();
    let store = Store::new();
    let name = reg.reference("layers60");
    store.berthctl(["pull", "-q", &name]).success();
    let lower = lower_dirs(&inspect(&store, &name));
    assert_eq!(lower.len(), 60);
    let joined = lower.join(":");
    assert!(joined.len() < 4000, "lowerdir= is {} bytes", joined.len());
    let mnt = store.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    Command::new("mount")
        .args(["-t", "overlay", "overlay", "-o"])
        .arg(format!("ro,lowerdir={joined}"))
        .arg(&mnt)
        .success();
    // Layer n writes layers/n and layers/top; layer 40 whites out layers/10.
    let top = std::fs::read_to_string(mnt.join("layers/top"));
    let listed = std::fs::read_dir(mnt.join("layers")).map(|d| d.count());
    let (bottom, whited) = (mnt.join("bin/busybox").is_file(), mnt.join("layers/10").exists());
    Command::new("umount").arg(&mnt).success();
    assert_eq!(top.unwrap(), "60\n");
    assert_eq!(listed.unwrap(), 59);
    assert!(bottom && !whited);
}

#[test]
#[ignore = "needs root"]
fn basic_auth_from_docker_config() {
    let reg = support::auth_registry();
    let store = Store::new();
    let name = reg.reference("busybox");
    let out = store.berthctl(["pull", &name]).failure();
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("registry {}", reg.addr)));
    let cfg = store.path().join("docker");
    std::fs::create_dir(&cfg).unwrap();
    let token = base64(format!("{AUTH_USER}:{AUTH_PASSWORD}").as_bytes());
    std::fs::write(cfg.join("config.json"), format!(r#"{{"auths":{{"{}":{{"auth":"{token}"}}}}}}"#, reg.addr)).unwrap();
    store.berthctl(["pull", "-q", &name]).env("DOCKER_CONFIG", &cfg).success();
}

fn base64(data: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n =
            (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Compare the merged overlay view of an image with `umoci unpack`'s rootfs:
/// type, mode, owner, size, symlink target, device numbers, content and
/// xattrs of every path.
fn compare_with_umoci(name: &str, tag: &str) {
    let images = support::images();
    let reg = support::registry();
    let store = Store::new();
    let r = reg.reference(tag);
    store.berthctl(["pull", "-q", &r]).success();
    let lower = lower_dirs(&inspect(&store, &r)).join(":");
    let mnt = store.path().join("merged");
    std::fs::create_dir(&mnt).unwrap();
    // overlayfs wants two lower dirs when it has no upper: an empty one goes below.
    let empty = store.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let lower = format!("{lower}:{}", empty.display());
    Command::new("mount")
        .args(["-t", "overlay", "overlay", "-o"])
        .arg(format!("ro,lowerdir={lower}"))
        .arg(&mnt)
        .success();
    let bundle = store.path().join("umoci");
    Command::new("umoci")
        .args(["unpack", "--image"])
        .arg(format!("{}:{name}", images.layout().display()))
        .arg(&bundle)
        .success();
    let ours = tree_listing(&mnt);
    let theirs = tree_listing(&bundle.join("rootfs"));
    Command::new("umount").arg(&mnt).success();
    assert_eq!(ours.len(), theirs.len(), "entry counts differ");
    for (path, want) in &theirs {
        assert_eq!(ours.get(path), Some(want), "{path}");
    }
}

/// path → "type mode uid gid size target rdev sha256 xattrs" for every entry.
fn tree_listing(root: &Path) -> HashMap<String, String> {
    let script = r#"cd "$1" && find . -printf '%p\t%y %m %U %G %l\n' | sort"#;
    let meta = Command::new("sh").args(["-c", script, "sh"]).arg(root).success();
    let sums = Command::new("sh")
        .args(["-c", r#"cd "$1" && find . -type f -print0 | xargs -0 -r sha256sum"#, "sh"])
        .arg(root)
        .success();
    let devs = Command::new("sh")
        .args(["-c", r#"cd "$1" && find . \( -type c -o -type b \) -exec stat -c '%n %t:%T' {} +"#, "sh"])
        .arg(root)
        .success();
    let xattrs = Command::new("getfattr").args(["-R", "-h", "-d", "-m", "-", "--absolute-names"]).arg(root).output_of();
    let mut m: HashMap<String, String> = HashMap::new();
    for l in meta.lines() {
        let (p, rest) = l.split_once('\t').unwrap();
        m.insert(p.to_string(), rest.to_string());
    }
    for l in sums.lines() {
        let (sum, p) = l.split_once("  ").unwrap();
        if let Some(e) = m.get_mut(p) {
            e.push_str(&format!(" {sum}"));
        }
    }
    for l in devs.lines() {
        let (p, dev) = l.rsplit_once(' ').unwrap();
        if let Some(e) = m.get_mut(p) {
            e.push_str(&format!(" dev={dev}"));
        }
    }
    let prefix = format!("# file: {}/", root.display());
    let mut current = None;
    for l in String::from_utf8_lossy(&xattrs.stdout).lines() {
        if let Some(p) = l.strip_prefix(&prefix) {
            current = Some(format!("./{p}"));
        } else if let (Some(p), Some((k, v))) = (&current, l.split_once('=')) {
            // overlayfs answers for its own trusted.overlay.* attributes itself.
            if !k.starts_with("trusted.overlay.")
                && let Some(e) = m.get_mut(p)
            {
                e.push_str(&format!(" {k}={v}"));
            }
        }
    }
    m
}

#[test]
#[ignore = "needs root"]
fn debian_rootfs_matches_umoci() {
    compare_with_umoci("debian", "debian:bookworm");
}

#[test]
#[ignore = "needs root"]
fn nginx_rootfs_with_whiteouts_matches_umoci() {
    compare_with_umoci("nginx", "nginx:latest");
}

// ------------------------------------------------------------ a lying registry

/// (path, HTTP status, body) of one answer of the lying registry.
type Route = (String, u16, Vec<u8>);

/// A registry that answers each path with a fixed (status, body); every
/// other path is a 404. Serves until the test process ends.
fn lying_registry(routes: Vec<Route>) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut first = String::new();
            if reader.read_line(&mut first).is_err() {
                continue;
            }
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).map_or(true, |n| n == 0) || h == "\r\n" {
                    break;
                }
            }
            let path = first.split_whitespace().nth(1).unwrap_or("").to_string();
            let (status, body) = if path == "/v2/" {
                (200, b"{}".to_vec())
            } else {
                routes.iter().find(|(p, _, _)| *p == path).map_or((404, b"{}".to_vec()), |(_, s, b)| (*s, b.clone()))
            };
            let ct = if path.contains("/manifests/") {
                "application/vnd.oci.image.manifest.v1+json"
            } else {
                "application/octet-stream"
            };
            let head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = conn.write_all(head.as_bytes());
            let _ = conn.write_all(&body);
            let _ = conn.read(&mut [0u8; 1]);
        }
    });
    addr
}

fn sha(data: &[u8]) -> String {
    let out = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(data)?;
            c.wait_with_output()
        });
    format!("sha256:{}", String::from_utf8_lossy(&out.unwrap().stdout).split_whitespace().next().unwrap())
}

/// A one-layer image: (manifest, config, layer) with `layer` as the blob
/// the manifest announces and `served` as what the registry sends for it.
fn lying_image(served: Option<Vec<u8>>) -> (String, Vec<Route>) {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_path("f").unwrap();
    h.set_size(4096);
    h.set_mode(0o644);
    h.set_cksum();
    b.append(&h, &[7u8; 4096][..]).unwrap();
    let layer = b.into_inner().unwrap();
    let diff = sha(&layer);
    let config =
        format!(r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["{diff}"]}}}}"#)
            .into_bytes();
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{diff}","size":{}}}]}}"#,
        sha(&config),
        config.len(),
        layer.len()
    )
    .into_bytes();
    let routes = vec![
        ("/v2/lie/manifests/latest".to_string(), 200, manifest),
        (format!("/v2/lie/blobs/{}", sha(&config)), 200, config),
        (format!("/v2/lie/blobs/{diff}"), 200, served.unwrap_or(layer)),
    ];
    (diff, routes)
}

fn assert_nothing_left(store: &Store) {
    for d in ["snapshots", "content/ingest"] {
        let p = store.root.join(d);
        let n = std::fs::read_dir(&p).map_or(0, |d| d.count());
        assert_eq!(n, 0, "{} is not empty", p.display());
    }
    assert_eq!(store.berthctl(["images", "-q"]).success(), "");
}

#[test]
fn lying_registries_fail_with_names_and_leave_nothing() {
    let (blob, good) = lying_image(None);
    let mut cases: Vec<(&str, Vec<Route>, String)> = Vec::new();
    // A blob whose bytes are not what its digest says.
    let (_, mut wrong) = lying_image(Some(vec![b'x'; 5120]));
    cases.push(("wrong digest", std::mem::take(&mut wrong), format!("blob {blob}")));
    // A short blob.
    let (_, mut short) = lying_image(None);
    short[2].2.truncate(3000);
    cases.push(("short blob", short, format!("blob {blob}")));
    // A manifest that is not JSON.
    let mut bad = good.clone();
    bad[0].2 = b"{not json".to_vec();
    cases.push(("bad JSON", bad, "manifest is not valid JSON".to_string()));
    // The registry fails.
    let mut five = good.clone();
    five[2].1 = 500;
    cases.push(("500 on the blob", five, format!("blob {blob}")));
    let mut five = good;
    five[0].1 = 500;
    cases.push(("500 on the manifest", five, "manifest latest".to_string()));
    for (what, routes, want) in cases {
        let addr = lying_registry(routes);
        let store = Store::new();
        let name = format!("{addr}/lie");
        let out = store.berthctl(["pull", &name]).failure();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("registry {addr}: image {name}:latest: {want}")), "{what}: {err}");
        assert_nothing_left(&store);
    }
}

/// The requests of `reg`'s log after its first `skip` lines (`"GET /v2/… HTTP/1.1"`).
fn requests_after(reg: &support::Registry, skip: usize) -> Vec<String> {
    reg.log()
        .lines()
        .skip(skip)
        .filter_map(|l| l.split('"').find(|part| part.contains(" /v2/")).map(str::to_string))
        .collect()
}

/// An anonymous registry is asked for the manifest straight away (no `GET
/// /v2/` ping before each request), and a second pull of a present image
/// asks one HEAD of the manifest and nothing else.
#[test]
#[ignore = "needs root"]
fn anonymous_pull_skips_the_ping_and_a_second_pull_is_one_head() {
    // A registry of this test's own: its log holds only our requests.
    let reg = support::Registry::start(false);
    let store = Store::new();
    let name = reg.reference("busybox");
    let probes = reg.log().lines().count();
    store.berthctl(["pull", "-q", &name]).success();
    // The registry logs a request once it has answered: wait for the lines
    // of the config and the layer.
    let wait_for = |skip: usize, n: usize, what: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while requests_after(&reg, skip).iter().filter(|r| r.contains(what)).count() < n {
            assert!(std::time::Instant::now() < deadline, "{what}: {:?}", requests_after(&reg, skip));
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    wait_for(probes, 2, "/blobs/");
    let first = requests_after(&reg, probes);
    assert!(!first.iter().any(|r| r.starts_with("GET /v2/ ")), "{first:?}");
    let seen = reg.log().lines().count();
    assert_eq!(store.berthctl(["pull", "-q", &name]).success(), format!("{name}:latest\n"));
    wait_for(seen, 1, "/manifests/");
    assert_eq!(requests_after(&reg, seen), vec!["HEAD /v2/busybox/manifests/latest HTTP/1.1".to_string()]);
    reg.stop();
}
