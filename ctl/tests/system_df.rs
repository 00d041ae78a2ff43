//! `system df` and `system df -v`: docker's rows for images, containers,
//! local volumes and build cache, with sizes measured on disk.

use crate::support::{self, Outside, Run, Store};

fn busybox_layer() -> std::path::PathBuf {
    let images = support::images();
    let layer = images.manifest("busybox")["layers"][0]["digest"].as_str().expect("busybox layer digest").to_string();
    images.blob(&layer)
}

#[test]
#[ignore = "needs root"]
fn df_counts_images_and_volumes_with_measured_sizes() {
    let outside = Outside::snapshot();
    let store = Store::new();
    store.berthctl(["import"]).arg(busybox_layer()).arg("bb:1").success();
    store.berthctl(["volume", "create", "big"]).success();
    store.berthctl(["volume", "create", "small"]).success();
    std::fs::write(store.root.join("volumes/big/_data/f"), vec![1u8; 1500]).expect("fill big");
    std::fs::write(store.root.join("volumes/small/_data/f"), vec![1u8; 500]).expect("fill small");
    // A link to the other volume is counted as a link, not followed.
    std::os::unix::fs::symlink("../../big/_data", store.root.join("volumes/small/_data/l")).expect("symlink");
    let link = std::fs::symlink_metadata(store.root.join("volumes/small/_data/l")).expect("lstat").len();

    let json = store.berthctl(["system", "df", "--format", "{{json .}}"]).success();
    let rows: Vec<serde_json::Value> = json.lines().map(|l| serde_json::from_str(l).expect("a JSON row")).collect();
    let kinds: Vec<&str> = rows.iter().map(|r| r["Type"].as_str().unwrap_or("")).collect();
    assert_eq!(kinds, ["Images", "Containers", "Local Volumes", "Build Cache"]);
    assert_eq!((rows[0]["TotalCount"].as_str(), rows[0]["Active"].as_str()), (Some("1"), Some("0")));
    assert!(rows[0]["Reclaimable"].as_str().unwrap_or("").ends_with("(100%)"), "{json}");
    assert_eq!(rows[1]["TotalCount"], "0");
    let vol_bytes = 2000 + link;
    assert_eq!(rows[2]["TotalCount"], "2");
    assert_eq!(rows[2]["Size"], format!("{}kB", vol_bytes as f64 / 1000.0).as_str());
    assert!(rows[2]["Reclaimable"].as_str().unwrap_or("").ends_with("(100%)"));

    let table = store.berthctl(["system", "df"]).success();
    assert!(
        table.starts_with("TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE\nImages          1         0"),
        "{table}"
    );

    let verbose = store.berthctl(["system", "df", "-v"]).success();
    assert!(verbose.contains("Images space usage:\n\nREPOSITORY   TAG       IMAGE ID"), "{verbose}");
    assert!(verbose.contains("\nbb           1         "), "{verbose}");
    let volumes = verbose.split("Local Volumes space usage:\n\n").nth(1).expect("a volumes section");
    let lines: Vec<&str> = volumes.lines().take(3).collect();
    assert_eq!(
        lines,
        [
            "VOLUME NAME   LINKS     SIZE",
            "big           0         1.5kB",
            &format!("small         0         {}B", 500 + link)
        ]
    );
    assert!(verbose.contains("Build cache usage: 0B"));
    outside.assert_unchanged(&store);
}
