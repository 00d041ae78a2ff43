use super::*;
use crate::reference::Reference;

fn rootfs_tar(marker: &str) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in [("bin/sh", "#!"), ("etc/marker", marker)] {
        let mut h = tar::Header::new_ustar();
        h.set_path(name).unwrap();
        h.set_size(data.len() as u64);
        h.set_mode(0o755);
        h.set_cksum();
        b.append(&h, data.as_bytes()).unwrap();
    }
    b.into_inner().unwrap()
}

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path()).unwrap();
    (dir, s)
}

fn import_as(s: &mut Store, marker: &str, tag: Option<&str>) -> Digest {
    let opts = ImportOptions { tag: tag.map(|t| Reference::parse(t).unwrap()), ..Default::default() };
    import(s, &rootfs_tar(marker)[..], &opts).unwrap()
}

#[test]
fn imported_image_resolves_by_name_id_and_prefix() {
    let (_d, mut s) = store();
    let id = import_as(&mut s, "one", Some("busybox"));
    for name in ["busybox", "busybox:latest", "docker.io/library/busybox:latest", id.as_str(), id.hex(), &id.hex()[..5]]
    {
        let img = resolve(&s, name).unwrap();
        assert_eq!(img.id, id, "{name}");
    }
    let img = resolve(&s, "busybox").unwrap();
    assert_eq!(img.repo_tags, vec!["busybox:latest".to_string()]);
    assert_eq!(img.lower_dirs.len(), 1);
    assert_eq!(std::fs::read_to_string(img.lower_dirs[0].join("etc/marker")).unwrap(), "one");
    assert_eq!(img.config.rootfs().diff_ids().len(), 1);
    assert!(matches!(resolve(&s, "nothere"), Err(ImageError::NotFound(n)) if n == "nothere:latest"));
}

#[test]
fn retag_moves_the_tag_and_leaves_a_dangling_image() {
    let (_d, mut s) = store();
    let a = import_as(&mut s, "a", Some("app:1"));
    let b = import_as(&mut s, "b", Some("app:1"));
    assert_ne!(a, b);
    let l = list(&s.db).unwrap();
    let old = l.iter().find(|i| i.id == a).unwrap();
    assert!(old.tags.is_empty());
    let new = l.iter().find(|i| i.id == b).unwrap();
    assert_eq!(new.tags, vec![("app".to_string(), "1".to_string())]);
}

#[test]
fn rmi_deletes_image_snapshot_and_blobs() {
    let (dir, mut s) = store();
    let id = import_as(&mut s, "x", Some("x"));
    let out = remove(&mut s, "x", false).unwrap();
    assert_eq!(out, vec![Removal::Untagged("x:latest".into()), Removal::Deleted(id)]);
    assert!(s.content.list().unwrap().is_empty());
    assert!(s.snapshots.dir_names().unwrap().is_empty());
    assert!(std::fs::read_dir(dir.path().join("content/ingest")).unwrap().next().is_none());
}

#[test]
fn shared_layer_survives_removal_of_one_image() {
    let (_d, mut s) = store();
    let a = import_as(&mut s, "same", Some("a"));
    let b = import_as(&mut s, "same", Some("b"));
    // Same content, same config but for the created time: one snapshot for both.
    let (ia, ib) = (load(&s, &a).unwrap(), load(&s, &b).unwrap());
    assert_eq!(ia.layers[0].snapshot, ib.layers[0].snapshot);
    remove(&mut s, "a", false).unwrap();
    let ib = resolve(&s, "b").unwrap();
    assert!(ib.lower_dirs[0].join("etc/marker").is_file());
    assert!(s.content.has(&ib.layers[0].blob));
}

#[test]
fn held_image_is_refused_with_dockers_message() {
    let (_d, mut s) = store();
    let id = import_as(&mut s, "h", Some("held"));
    s.db.write(|tx| hold(tx, "container:0123456789abcdef", &id).map_err(s_err)).unwrap();
    let err = remove(&mut s, "held", false).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "conflict: unable to remove repository reference \"held:latest\" (must force) - stopped container 0123456789ab is using its referenced image {}",
            id.short()
        )
    );
    let err = remove(&mut s, id.hex(), false).unwrap_err();
    assert!(err.to_string().contains("image is being used by stopped container 0123456789ab"), "{err}");
    // Forced: untagged but kept, since the container still stands on it.
    assert_eq!(remove(&mut s, "held", true).unwrap(), vec![Removal::Untagged("held:latest".into())]);
    assert!(load(&s, &id).is_ok());
}

fn s_err(e: rusqlite::Error) -> ImageError {
    ImageError::Db(crate::db::DbError::Sql { path: "test".into(), source: e })
}

/// A container's hold on an image, as the containers' store writes it.
fn hold(tx: &rusqlite::Transaction<'_>, holder: &str, id: &Digest) -> rusqlite::Result<()> {
    tx.execute("INSERT OR REPLACE INTO image_holds (holder, image_id) VALUES (?1, ?2)", [holder, id.as_str()])?;
    Ok(())
}
