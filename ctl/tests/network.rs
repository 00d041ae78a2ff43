//! `berthctl network …` without containers: create, ls, inspect, rm,
//! prune, with docker's output and messages. None of these touch the
//! network (a network's bridge exists only while a container uses it), so
//! they run without a sandbox and without root.

use serde_json::Value;

use crate::support::{Run, Store};

fn inspect(store: &Store, name: &str) -> Value {
    let out = store.berthctl(["network", "inspect", name]).success();
    let v: Value = serde_json::from_str(&out).expect("network inspect prints JSON");
    v[0].clone()
}

#[test]
fn ls_shows_dockers_three_predefined_networks() {
    let store = Store::new();
    let out = store.berthctl(["network", "ls"]).success();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0].split_whitespace().collect::<Vec<_>>(), ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]);
    let rows: Vec<Vec<&str>> = lines[1..].iter().map(|l| l.split_whitespace().collect()).collect();
    let names: Vec<(&str, &str, &str)> = rows.iter().map(|r| (r[1], r[2], r[3])).collect();
    assert_eq!(names, [("bridge", "bridge", "local"), ("host", "host", "local"), ("none", "null", "local")]);
    assert!(rows.iter().all(|r| r[0].len() == 12));
    // -q prints the same ids, one a line.
    let ids = store.berthctl(["network", "ls", "-q"]).success();
    assert_eq!(ids.lines().collect::<Vec<_>>(), rows.iter().map(|r| r[0]).collect::<Vec<_>>());
}

#[test]
fn create_inspect_and_rm_a_user_network() {
    let store = Store::new();
    let id = store
        .berthctl(["network", "create", "--subnet", "192.168.77.0/24", "--gateway", "192.168.77.254"])
        .args(["--ip-range", "192.168.77.128/25", "--label", "team=web", "--internal", "mynet"])
        .success();
    let id = id.trim();
    assert_eq!(id.len(), 64, "network create prints the full id: {id:?}");
    let n = inspect(&store, "mynet");
    assert_eq!(n["Name"], "mynet");
    assert_eq!(n["Id"], id);
    assert_eq!(n["Driver"], "bridge");
    assert_eq!(n["Scope"], "local");
    assert_eq!(n["EnableIPv6"], false);
    assert_eq!(n["Internal"], true);
    assert_eq!(n["IPAM"]["Driver"], "default");
    assert_eq!(n["IPAM"]["Config"][0]["Subnet"], "192.168.77.0/24");
    assert_eq!(n["IPAM"]["Config"][0]["Gateway"], "192.168.77.254");
    assert_eq!(n["IPAM"]["Config"][0]["IPRange"], "192.168.77.128/25");
    assert_eq!(n["Labels"]["team"], "web");
    assert_eq!(n["Containers"], serde_json::json!({}));
    // By id prefix too.
    assert_eq!(inspect(&store, &id[..6])["Name"], "mynet");
    let fmt = store.berthctl(["network", "inspect", "-f", "{{.Name}} {{.Driver}}", "mynet"]).success();
    assert_eq!(fmt, "mynet bridge\n");
    let filtered = store.berthctl(["network", "ls", "--filter", "label=team=web", "--format", "{{.Name}}"]).success();
    assert_eq!(filtered, "mynet\n");
    let custom = store.berthctl(["network", "ls", "-f", "type=custom", "-q", "--no-trunc"]).success();
    assert_eq!(custom.trim(), id);
    assert_eq!(store.berthctl(["network", "rm", "mynet"]).success(), "mynet\n");
    let out = store.berthctl(["network", "inspect", "mynet"]).failure();
    assert!(String::from_utf8_lossy(&out.stderr).contains("network mynet not found"), "{out:?}");
}

#[test]
fn default_subnets_clash_with_neither_docker_nor_podman() {
    let store = Store::new();
    store.berthctl(["network", "create", "a"]).success();
    store.berthctl(["network", "create", "b"]).success();
    let subnet = |name| inspect(&store, name)["IPAM"]["Config"][0]["Subnet"].as_str().unwrap_or("").to_string();
    assert_eq!(subnet("bridge"), "10.77.0.0/16");
    assert_eq!(subnet("a"), "10.78.0.0/24");
    assert_eq!(subnet("b"), "10.78.1.0/24");
    let bridge = inspect(&store, "bridge");
    assert_eq!(bridge["Options"]["com.docker.network.bridge.name"], "berth0");
    for s in ["10.77.0.0/16", "10.78.0.0/24", "10.78.1.0/24"] {
        assert!(!s.starts_with("172.17.") && !s.starts_with("10.88."));
    }
}

#[test]
fn dockers_refusals() {
    let store = Store::new();
    store.berthctl(["network", "create", "a"]).success();
    let err = |args: &[&str]| String::from_utf8_lossy(&store.berthctl(args).failure().stderr).into_owned();
    assert!(err(&["network", "create", "a"]).contains("network with name a already exists"));
    assert!(
        err(&["network", "create", "--subnet", "10.78.0.0/16", "c"])
            .contains("Pool overlaps with other one on this address space")
    );
    assert!(err(&["network", "create", "-d", "overlay", "c"]).contains("plugin \"overlay\" not found"));
    assert!(err(&["network", "create", "-d", "macvlan", "c"]).contains("-o parent="));
    assert!(err(&["network", "rm", "bridge"]).contains("bridge is a pre-defined network and cannot be removed"));
    assert!(err(&["network", "rm", "nope"]).contains("network nope not found"));
    store.berthctl(["network", "rm", "-f", "nope"]).success();
}

#[test]
fn prune_removes_unused_user_networks_only() {
    let store = Store::new();
    store.berthctl(["network", "create", "--label", "keep=1", "a"]).success();
    store.berthctl(["network", "create", "b"]).success();
    store.berthctl(["network", "create", "c"]).success();
    let out = store.berthctl(["network", "prune", "-f", "--filter", "label!=keep"]).success();
    assert_eq!(out, "Deleted Networks:\nb\nc\n\n");
    let out = store.berthctl(["network", "prune", "-f", "--filter", "label=keep=1"]).success();
    assert_eq!(out, "Deleted Networks:\na\n\n");
    let names = store.berthctl(["network", "ls", "--format", "{{.Name}}"]).success();
    assert_eq!(names, "bridge\nhost\nnone\n");
}

/// `cmd` run in a mount namespace where podman's helper dirs are empty, so
/// no netavark or aardvark-dns can be found, and in a network namespace of
/// its own (should one be found anyway, the host's is never touched).
fn without_netavark(cmd: &std::process::Command) -> std::process::Command {
    let mut hide = String::new();
    for d in ["/usr/lib/podman", "/usr/libexec/podman", "/usr/local/lib/podman", "/usr/local/libexec/podman"] {
        if std::path::Path::new(d).is_dir() {
            hide.push_str(&format!("mount -t tmpfs tmpfs {d} && "));
        }
    }
    let mut out = std::process::Command::new("unshare");
    out.args(["--mount", "--net", "--propagation", "private", "sh", "-c"]).arg(format!("{hide}exec \"$@\"")).arg("sh");
    out.arg(cmd.get_program()).args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => out.env(k, v),
            None => out.env_remove(k),
        };
    }
    out.env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").env_remove("BERTH_NETAVARK").env_remove("BERTH_AARDVARK_DNS");
    out
}

#[test]
#[ignore = "needs root"]
fn system_check_needs_no_netavark_when_nothing_is_to_repair() {
    let ctl = crate::containers::Ctl::new();
    ctl.cmd(["network", "create", "mynet"]).success();
    ctl.cmd(["create", "--name", "idle", "--network", "mynet", "busybox", "true"]).success();
    ctl.run(["--rm", "--network", "none", "busybox", "true"]).success();
    let out = without_netavark(&ctl.cmd(["system", "check"])).success();
    assert!(out.ends_with("store is consistent\n"), "{out}");
    // Where a helper is needed (the native driver's names on a user
    // network come from aardvark-dns), the missing one is named.
    let out = without_netavark(&ctl.cmd(["run", "--rm", "--network", "mynet", "busybox", "true"])).failure();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("network driver \"aardvark-dns\" not found"), "{err}");
}
