use super::*;

fn named(name: &str) -> CreateRequest {
    CreateRequest { name: name.into(), ..Default::default() }
}

#[test]
fn create_is_idempotent_and_makes_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path()).unwrap();
    let a = s.create(&named("vol1")).unwrap();
    assert!(dir.path().join("volumes/vol1/_data").is_dir());
    let b = s.create(&named("vol1")).unwrap();
    assert_eq!(a, b);
    assert_eq!(s.list().unwrap().len(), 1);
    let err = s.create(&CreateRequest { name: "v2".into(), driver: "nfs".into(), ..Default::default() });
    assert!(matches!(err, Err(VolumeError::Driver { .. })));
}

#[test]
fn each_change_logs_dockers_volume_event() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path()).unwrap();
    s.create(&named("vol1")).unwrap();
    let anon = s.take("c1", &[Take { name: "vol1".into(), options: None }, Take::default()]).unwrap();
    let anon = anon[1].name.clone();
    s.activate("c1", "vol1", &MountAt { destination: "/data", rw: false, propagation: "" }).unwrap();
    s.deactivate("c1").unwrap();
    s.release("c1", true).unwrap();
    s.remove("vol1", false).unwrap();
    let rows = crate::events::read_after(&s.db, 0).unwrap();
    let got: Vec<String> = rows
        .iter()
        .map(|(_, e)| {
            let attrs: Vec<String> = e.attributes.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{} {} {} ({})", e.kind, e.action, e.actor, attrs.join(", "))
        })
        .collect();
    assert_eq!(
        got,
        [
            "volume create vol1 (driver=local)".to_string(),
            "volume create vol1 (driver=local)".to_string(),
            format!("volume create {anon} (driver=local)"),
            "volume mount vol1 (container=c1, destination=/data, driver=local, propagation=, read/write=false)"
                .to_string(),
            "volume unmount vol1 (container=c1, driver=local)".to_string(),
            format!("volume destroy {anon} (driver=local)"),
            "volume destroy vol1 (driver=local)".to_string(),
        ]
    );
}

#[test]
fn in_use_volume_cannot_be_removed_until_released() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path()).unwrap();
    s.take("c1", &[Take { name: "data".into(), options: None }]).unwrap();
    let err = s.remove("data", true).unwrap_err();
    assert_eq!(err.to_string(), "remove data: volume is in use - [c1]");
    s.release("c1", true).unwrap();
    // named volumes survive rm -v
    assert!(s.get("data").is_ok());
    s.remove("data", false).unwrap();
    assert!(!dir.path().join("volumes/data").exists());
    assert!(matches!(s.remove("data", false), Err(VolumeError::NotFound(_))));
    s.remove("data", true).unwrap();
}

#[test]
fn anonymous_volumes_go_with_rm_v_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path()).unwrap();
    let a = s.take("c1", &[Take::default()]).unwrap().remove(0);
    assert!(a.is_anonymous() && a.name.len() == 64);
    assert!(s.release("c1", false).unwrap().is_empty());
    assert!(s.get(&a.name).is_ok());
    s.take("c2", &[Take { name: a.name.clone(), options: None }]).unwrap();
    s.take("c3", &[Take { name: a.name.clone(), options: None }]).unwrap();
    assert!(s.release("c2", true).unwrap().is_empty(), "c3 still uses it");
    assert_eq!(s.release("c3", true).unwrap(), std::slice::from_ref(&a.name));
    assert!(!s.layout.dir(&a.name).exists());
}

#[test]
fn prune_takes_anonymous_unless_all_and_never_used_ones() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path()).unwrap();
    s.create(&named("keep")).unwrap();
    let anon = s.create(&CreateRequest::default()).unwrap();
    let used = s.take("c1", &[Take::default()]).unwrap().remove(0);
    std::fs::write(s.layout.data(&anon.name).join("f"), b"12345").unwrap();
    let pruned = s.prune(false, &|_| true).unwrap();
    assert_eq!(pruned, [(anon.name.clone(), 5)]);
    assert!(s.get("keep").is_ok() && s.get(&used.name).is_ok());
    let pruned = s.prune(true, &|_| true).unwrap();
    assert_eq!(pruned, [("keep".to_string(), 0)]);
    assert!(s.get(&used.name).is_ok());
}

#[test]
fn failed_take_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path()).unwrap();
    let bad = Take { name: "ok2".into(), options: Some(BTreeMap::from([("bogus".into(), "1".into())])) };
    assert!(s.take("c1", &[Take { name: "ok1".into(), options: None }, bad]).is_err());
    assert!(s.list().unwrap().is_empty());
    assert!(!dir.path().join("volumes/ok1").exists());
}

#[test]
fn a_symlink_in_a_volume_does_not_reach_another_on_removal() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path()).unwrap();
    s.create(&named("victim")).unwrap();
    s.create(&named("evil")).unwrap();
    std::fs::write(s.layout.data("victim").join("secret"), b"x").unwrap();
    std::os::unix::fs::symlink("../../victim/_data", s.layout.data("evil").join("link")).unwrap();
    std::os::unix::fs::symlink(s.layout.data("victim"), s.layout.data("evil").join("abs")).unwrap();
    s.remove("evil", false).unwrap();
    assert!(s.layout.data("victim").join("secret").is_file());
}
