//! Unit tests of `network::container`: leases and ports on a test database,
//! `check`'s clean-up of gone containers, and a failed setup (a fake driver).

use std::cell::RefCell;

use super::*;
use crate::network::driver::{DriverError, SetupResult};
use crate::network::{CreateOptions, create};

/// Records every call; fails setup when asked to.
#[derive(Default)]
struct Recorder {
    calls: RefCell<Vec<(String, String)>>,
    fail_setup: bool,
}

impl NetworkDriver for Recorder {
    fn input(&self, a: &Attachment<'_>) -> String {
        let nets: Vec<String> = a.networks.iter().map(|(n, e)| format!("{}={}", n.name, e.ip)).collect();
        format!("{} {} ports={}", a.container_name, nets.join(","), a.ports.len())
    }
    fn setup(&self, netns: &Path, input: &str) -> Result<SetupResult, DriverError> {
        self.calls.borrow_mut().push(("setup".into(), input.into()));
        if self.fail_setup {
            return Err(DriverError::Failed {
                program: "fake".into(),
                verb: "setup",
                netns: netns.into(),
                message: "boom".into(),
            });
        }
        Ok(SetupResult::new())
    }
    fn teardown(&self, _netns: &Path, input: &str, _after: Netns) -> Result<(), DriverError> {
        self.calls.borrow_mut().push(("teardown".into(), input.into()));
        Ok(())
    }
}

fn who(id: &str) -> Identity<'_> {
    Identity { id, name: id, hostname: id }
}

/// `allocate` in a transaction committed only on success, as the run path does.
fn alloc(c: &Connection, id: &str, r: &Request, exposed: &[String]) -> Result<(), NetworkError> {
    let tx = c.unchecked_transaction().unwrap();
    allocate(&tx, who(id), r, exposed)?;
    tx.commit().unwrap();
    Ok(())
}

fn req(mode: &str) -> Request {
    Request { mode: mode.into(), ..Default::default() }
}

#[test]
fn allocate_leases_in_order_and_frees_on_release() {
    let c = store::test_db();
    alloc(&c, "c1", &req(""), &[]).unwrap();
    alloc(&c, "c2", &req("bridge"), &[]).unwrap();
    let ip = |id| store::container_endpoints(&c, id).unwrap()[0].ip.to_string();
    assert_eq!((ip("c1"), ip("c2")), ("10.77.0.2".to_string(), "10.77.0.3".to_string()));
    release(&c, "c1").unwrap();
    alloc(&c, "c3", &req("bridge"), &[]).unwrap();
    assert_eq!(ip("c3"), "10.77.0.2");
}

#[test]
fn allocate_checks_docker_rules() {
    let c = store::test_db();
    create(&c, &CreateOptions { name: "web".into(), driver: "bridge".into(), ..Default::default() }).unwrap();
    let fixed = Request { ip: Some("10.78.0.9".parse().unwrap()), aliases: vec!["db".into()], ..req("web") };
    alloc(&c, "c1", &fixed, &[]).unwrap();
    assert_eq!(store::container_endpoints(&c, "c1").unwrap()[0].aliases, ["db"]);
    let err = alloc(&c, "c2", &fixed, &[]).unwrap_err().to_string();
    assert!(err.contains("Address already in use"), "{err}");
    let on_bridge = Request { ip: Some("10.77.0.9".parse().unwrap()), ..req("bridge") };
    assert!(alloc(&c, "c3", &on_bridge, &[]).unwrap_err().to_string().contains("user defined networks only"));
    // docker ignores ports with `none` and refuses them with `container:`.
    let none = Request { publish: vec!["80".into()], ..req("none") };
    alloc(&c, "c4", &none, &[]).unwrap();
    let joined = Request { publish: vec!["80".into()], ..req("container:c4") };
    assert!(alloc(&c, "c6", &joined, &[]).unwrap_err().to_string().contains("conflicting options"));
    assert!(matches!(alloc(&c, "c5", &req("nope"), &[]), Err(NetworkError::NotFound(_))));
}

#[test]
fn a_port_is_owned_by_one_container_until_release() {
    let c = store::test_db();
    let p = Request { publish: vec!["127.0.0.1:18080:80".into()], ..req("bridge") };
    alloc(&c, "c1", &p, &[]).unwrap();
    let err = alloc(&c, "c2", &p, &[]).unwrap_err();
    let chain: Vec<String> =
        std::iter::successors(Some(&err as &dyn std::error::Error), |e| e.source()).map(|e| e.to_string()).collect();
    assert_eq!(
        chain.join(": "),
        "driver failed programming external connectivity on endpoint c2 (c2): Bind for 127.0.0.1:18080 failed: port is already allocated"
    );
    release(&c, "c1").unwrap();
    alloc(&c, "c2", &p, &[]).unwrap();
    let all = Request { publish_all: true, ..req("bridge") };
    alloc(&c, "c3", &all, &["80/tcp".into(), "53/udp".into()]).unwrap();
    assert_eq!(store::ports(&c, Some("c3")).unwrap().len(), 2);
}

#[test]
fn check_releases_rows_of_gone_containers_and_stray_netns_files() {
    let c = store::test_db();
    let run = tempfile::tempdir().unwrap();
    alloc(&c, "gone", &Request { publish: vec!["80".into()], ..req("bridge") }, &[]).unwrap();
    alloc(&c, "kept", &req("bridge"), &[]).unwrap();
    std::fs::create_dir_all(run.path().join("netns")).unwrap();
    std::fs::write(run.path().join("netns/stray"), "").unwrap();
    let d = Recorder::default();
    let seen = check(&c, &d, run.path(), &|id| id == "kept", &|_| false, false).unwrap();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(run.path().join("netns/stray").exists(), "nothing is changed without repair");
    let fixed = check(&c, &d, run.path(), &|id| id == "kept", &|_| false, true).unwrap();
    assert_eq!(fixed.len(), 2, "{fixed:?}");
    assert!(fixed.iter().all(|(_, repaired)| *repaired));
    assert!(store::container_endpoints(&c, "gone").unwrap().is_empty());
    assert!(store::ports(&c, None).unwrap().is_empty());
    assert_eq!(store::container_endpoints(&c, "kept").unwrap().len(), 1);
    assert!(!run.path().join("netns/stray").exists());
    assert!(d.calls.borrow().is_empty());
}

#[test]
#[ignore = "needs root"]
fn failed_setup_leaves_no_netns_and_no_record() {
    let c = store::test_db();
    let run = tempfile::tempdir().unwrap();
    let etc = tempfile::tempdir().unwrap();
    alloc(&c, "c1", &Request { publish: vec!["80".into()], ..req("bridge") }, &[]).unwrap();
    let failing = Recorder { fail_setup: true, ..Default::default() };
    assert!(setup(&c, &failing, run.path(), who("c1"), etc.path()).is_err());
    assert_eq!(failing.calls.borrow().iter().map(|(v, _)| v.as_str()).collect::<Vec<_>>(), ["setup", "teardown"]);
    assert!(!netns::path(run.path(), "c1").exists());
    assert!(store::setup(&c, "c1").unwrap().is_none());

    let ok = Recorder::default();
    let ns = setup(&c, &ok, run.path(), who("c1"), etc.path()).unwrap();
    assert_eq!(ns, Namespace::Path(netns::path(run.path(), "c1")));
    assert!(netns::is_mounted(&netns::path(run.path(), "c1")));
    assert_eq!(ok.calls.borrow()[0].1, "c1 bridge=10.77.0.2 ports=1");
    let hosts = std::fs::read_to_string(etc.path().join("hosts")).unwrap();
    assert!(hosts.ends_with("10.77.0.2\tc1\n"), "{hosts}");
    teardown(&c, &ok, run.path(), "c1").unwrap();
    assert_eq!(ok.calls.borrow()[1], ("teardown".to_string(), "c1 bridge=10.77.0.2 ports=1".to_string()));
    assert!(!netns::path(run.path(), "c1").exists());
    assert!(store::setup(&c, "c1").unwrap().is_none());
}
