//! Containers on networks, every one inside a sandbox (`sandbox.rs`: a
//! network and mount namespace this test made, loopback up, a veth
//! pair standing for the host's address): names and aliases through
//! aardvark-dns on a user network, published ports from 127.0.0.1 and the
//! namespace's address, UDP, `-P`, a port in use, `none`, `host`,
//! `container:`, connect/disconnect, and after every failure the links,
//! firewall rules, netns files and leases exactly as before.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::sandbox::Sandbox;
use crate::support::{self, Run, Store};

/// The sandbox's stand-in for the host's own address.
const HOST_ADDR: &str = "192.0.2.10";

struct Net {
    // Dropped first: the sandbox ends before the store's files go.
    sandbox: Sandbox,
    store: Store,
    cgroup_parent: String,
}

fn busybox_layer() -> PathBuf {
    let images = support::images();
    let layer = images.manifest("busybox")["layers"][0]["digest"].as_str().expect("busybox layer digest").to_string();
    images.blob(&layer)
}

/// `GET /` from inside a container with busybox nc (busybox-static's wget
/// crashes in glibc's static resolver); the whole response.
fn http_get(host: &str) -> Vec<String> {
    let script = format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 {host} 80");
    vec!["sh".into(), "-c".into(), script]
}

/// A web page server: busybox httpd on port 80 serving `text`.
fn httpd(text: &str) -> Vec<String> {
    let script = format!("mkdir -p /www && echo {text} > /www/index.html && exec httpd -f -p 80 -h /www");
    vec!["sh".into(), "-c".into(), script]
}

impl Net {
    fn new() -> Net {
        let store = Store::new();
        let sandbox = Sandbox::new();
        sandbox.sh(&format!(
            "ip link add uplink0 type veth peer name uplink1 && ip addr add {HOST_ADDR}/24 dev uplink0 \
             && ip link set uplink0 up && ip link set uplink1 up"
        ));
        let tag = store.path().file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let net = Net { sandbox, store, cgroup_parent: format!("/berthctl-net-{tag}") };
        net.ctl(["import", "--change", r#"CMD ["sh"]"#, "--change", "EXPOSE 80 53/udp"])
            .arg(busybox_layer())
            .arg("busybox")
            .success();
        net
    }

    fn ctl<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(&self, args: I) -> std::process::Command {
        self.sandbox.berthctl(&self.store, args)
    }

    /// `run -d --cgroup-parent <ours> ARGS…`; returns the id.
    fn run_d(&self, args: &[&str]) -> String {
        let mut cmd = self.ctl(["run", "-d", "--cgroup-parent", &self.cgroup_parent]);
        cmd.args(args);
        cmd.success().trim().to_string()
    }

    /// `run --rm ARGS…`; returns stdout.
    fn run_rm(&self, args: &[&str]) -> String {
        let mut cmd = self.ctl(["run", "--rm", "--cgroup-parent", &self.cgroup_parent]);
        cmd.args(args);
        cmd.success()
    }

    /// Pull a test image from the private registry (outside the sandbox: the
    /// registry listens on the host's loopback); returns its reference.
    fn pull(&self, tag: &str) -> String {
        let reference = support::registry().reference(tag);
        self.store.berthctl(["pull", "-q", &reference]).success();
        reference
    }

    fn inspect(&self, name: &str, format: &str) -> String {
        self.ctl(["inspect", "-f", format, name]).success().trim().to_string()
    }

    /// Fetch a URL from the sandbox (the "host"), retrying until it answers.
    fn fetch(&self, url: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let out = self.sandbox.cmd("curl", ["-sS", "--max-time", "2", url]).output_of();
            if out.status.success() {
                return String::from_utf8_lossy(&out.stdout).into_owned();
            }
            assert!(Instant::now() < deadline, "{url}: {}", String::from_utf8_lossy(&out.stderr));
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The leases and ports the store holds.
    fn leases(&self) -> String {
        self.ctl(["network", "inspect", "-f", "{{range $id, $c := .Containers}}{{$c.IPv4Address}} {{end}}", "bridge"])
            .success()
    }

    fn rm_all(&self) {
        let ids = self.ctl(["ps", "-aq", "--no-trunc"]).success();
        for id in ids.split_whitespace() {
            self.ctl(["rm", "-f", id]).success();
        }
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        if let Ok(out) = self.ctl(["ps", "-aq", "--no-trunc"]).output() {
            for id in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = self.ctl(["rm", "-f", id]).output();
            }
        }
        // User networks keep their bridge and aardvark-dns until removed.
        let _ = self.ctl(["network", "prune", "-f"]).output();
        // Our parent in every hierarchy the runtime made it in (on a hybrid
        // host: each v1 controller, systemd's named one and the cgroup2 mount).
        for e in std::fs::read_dir("/sys/fs/cgroup").into_iter().flatten().flatten() {
            let _ = std::fs::remove_dir(e.path().join(self.cgroup_parent.trim_start_matches('/')));
        }
    }
}

#[test]
#[ignore = "needs root"]
fn user_network_resolves_names_and_aliases_and_default_bridge_does_not() {
    let net = Net::new();
    net.ctl(["network", "create", "mynet"]).success();
    let mut args = vec!["--name", "web", "--network", "mynet", "--network-alias", "www", "busybox"];
    let page = httpd("hello-from-web");
    args.extend(page.iter().map(String::as_str));
    net.run_d(&args);
    for host in ["web", "www"] {
        let mut args = vec!["--network", "mynet", "busybox"];
        let get = http_get(host);
        args.extend(get.iter().map(String::as_str));
        let got = net.run_rm(&args);
        assert!(got.starts_with("HTTP/1.1 200 OK") && got.ends_with("\r\n\r\nhello-from-web\n"), "{host}: {got}");
    }
    // nginx from the test images, found by name the same way.
    let nginx = net.pull("nginx:latest");
    // The test image lacks /var/log/nginx (its layer is built without it).
    let serve = "mkdir -p /var/log/nginx /var/lib/nginx && exec nginx -g 'daemon off;'";
    net.run_d(&["--name", "nginx_mynet", "--network", "mynet", &nginx, "sh", "-c", serve]);
    let mut args = vec!["--network", "mynet", "busybox"];
    let get = http_get("nginx_mynet");
    args.extend(get.iter().map(String::as_str));
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let mut cmd = net.ctl(["run", "--rm", "--cgroup-parent", &net.cgroup_parent]);
        let out = cmd.args(&args).output_of();
        let got = String::from_utf8_lossy(&out.stdout).into_owned();
        if got.starts_with("HTTP/1.1 200 OK") {
            assert!(got.contains("Server: nginx"), "{got}");
            break;
        }
        let logs = net.ctl(["logs", "nginx_mynet"]).output_of();
        let state = net.ctl(["ps", "-a"]).output_of();
        assert!(Instant::now() < deadline, "nginx_mynet never answered: {out:?}\n{logs:?}\n{state:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let resolv = net.run_rm(&["--network", "mynet", "busybox", "cat", "/etc/resolv.conf"]);
    assert!(resolv.starts_with("nameserver 10.78.0.1\n"), "{resolv}");
    // The default bridge has no DNS, as docker's.
    let mut args = vec!["--name", "plain", "busybox"];
    args.extend(page.iter().map(String::as_str));
    net.run_d(&args);
    let resolv = net.run_rm(&["busybox", "cat", "/etc/resolv.conf"]);
    assert!(!resolv.contains("10.77.0.1"), "the default bridge has no name server of its own: {resolv}");
    let out = net
        .ctl(["run", "--rm", "--cgroup-parent", &net.cgroup_parent, "busybox", "nslookup", "plain", "10.77.0.1"])
        .output_of();
    assert!(!out.status.success(), "the default bridge resolved a name: {out:?}");
    let ip = net.inspect("plain", "{{.NetworkSettings.IPAddress}}");
    assert!(ip.starts_with("10.77.0."), "{ip}");
    let mut args = vec!["busybox"];
    let get = http_get(&ip);
    args.extend(get.iter().map(String::as_str));
    assert!(net.run_rm(&args).ends_with("hello-from-web\n"));
    net.rm_all();
    net.ctl(["network", "rm", "mynet"]).success();
}

#[test]
#[ignore = "needs root"]
fn published_ports_answer_on_loopback_and_the_hosts_address() {
    let net = Net::new();
    let page = httpd("published");
    let mut args = vec!["--name", "web", "-p", "8080:80", "-p", "5353:53/udp", "busybox"];
    args.extend(page.iter().map(String::as_str));
    net.run_d(&args);
    assert_eq!(net.fetch("http://127.0.0.1:8080/"), "published\n");
    assert_eq!(net.fetch(&format!("http://{HOST_ADDR}:8080/")), "published\n");
    // Hairpin, as docker: a container on the same bridge reaches the
    // published port through the host's address.
    let script = format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 {HOST_ADDR} 8080");
    let hairpin = net.run_rm(&["busybox", "sh", "-c", &script]);
    assert!(hairpin.ends_with("published\n"), "{hairpin}");
    // UDP: Debian's perl (in the nginx image) prints the first datagram.
    let nginx = net.pull("nginx:latest");
    let listen = r#"my $s = IO::Socket::INET->new(LocalPort => 53, Proto => "udp") or die "bind: $!"; $| = 1; print "ready\n"; $s->recv(my $m, 100); print $m"#;
    net.run_d(&["--name", "udp", "-p", "5354:53/udp", &nginx, "perl", "-MIO::Socket::INET", "-e", listen]);
    let deadline = Instant::now() + Duration::from_secs(15);
    while !net.ctl(["logs", "udp"]).success().contains("over-udp") {
        assert!(Instant::now() < deadline, "the UDP datagram never reached the container");
        net.sandbox.cmd("bash", ["-c", "echo over-udp > /dev/udp/127.0.0.1/5354"]).success();
        std::thread::sleep(Duration::from_millis(200));
    }
    let port = net.ctl(["port", "web"]).success();
    assert_eq!(port, "80/tcp -> 0.0.0.0:8080\n53/udp -> 0.0.0.0:5353\n");
    assert_eq!(net.ctl(["port", "web", "80"]).success(), "0.0.0.0:8080\n");
    let ports = net.inspect("web", "{{json .NetworkSettings.Ports}}");
    assert_eq!(
        ports,
        r#"{"53/udp":[{"HostIp":"0.0.0.0","HostPort":"5353"}],"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"}]}"#
    );
    net.rm_all();
}

#[test]
#[ignore = "needs root"]
fn publish_all_takes_free_ports_and_a_port_in_use_leaves_nothing() {
    let net = Net::new();
    let page = httpd("all");
    let mut args = vec!["--name", "all", "-P", "busybox"];
    args.extend(page.iter().map(String::as_str));
    net.run_d(&args);
    let port = net.ctl(["port", "all", "80/tcp"]).success();
    let host_port = port.trim().rsplit(':').next().unwrap_or("").to_string();
    assert!(host_port.parse::<u16>().is_ok_and(|p| p >= 1024), "{port}");
    assert_eq!(net.fetch(&format!("http://127.0.0.1:{host_port}/")), "all\n");
    assert!(net.ctl(["port", "all", "53/udp"]).success().starts_with("0.0.0.0:"));

    let before = net.sandbox.settled(&net.store);
    let leases = net.leases();
    let taken = format!("{host_port}:80");
    let out = net
        .ctl(["run", "-d", "--cgroup-parent", &net.cgroup_parent, "--name", "twin", "-p", &taken, "busybox"])
        .failure();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("Bind for 0.0.0.0:{host_port} failed: port is already allocated")), "{err}");
    assert!(net.ctl(["ps", "-a", "--format", "{{.Names}}"]).success().lines().all(|n| n != "twin"));
    assert_eq!(net.sandbox.settled(&net.store), before);
    assert_eq!(net.leases(), leases);
    net.rm_all();
}

#[test]
#[ignore = "needs root"]
fn none_host_and_container_modes() {
    let net = Net::new();
    let links = net.run_rm(&["--network", "none", "busybox", "sh", "-c", "ip -o link | cut -d: -f2"]);
    assert_eq!(links.split_whitespace().collect::<Vec<_>>(), ["lo"]);
    let host = net.run_rm(&["--network", "host", "busybox", "ip", "-o", "addr"]);
    assert!(host.contains(HOST_ADDR), "host mode sees the namespace's interfaces: {host}");
    net.run_d(&["--name", "owner", "busybox", "sleep", "1000"]);
    let ip = net.inspect("owner", "{{.NetworkSettings.IPAddress}}");
    let shared = net.run_rm(&["--network", "container:owner", "busybox", "ip", "-o", "addr"]);
    assert!(shared.contains(&format!("{ip}/")), "container: shares the stack: {shared}");
    // The owner removed while another container still runs in its netns:
    // its interface (and address, free again) goes at once, as docker's.
    net.run_d(&["--name", "guest", "--network", "container:owner", "busybox", "sleep", "1000"]);
    net.ctl(["rm", "-f", "owner"]).success();
    let left = net.ctl(["exec", "guest", "ip", "-o", "link"]).success();
    assert!(!left.contains("eth0"), "the owner's interface is gone: {left}");
    net.rm_all();
}

#[test]
#[ignore = "needs root"]
fn system_check_removes_a_veth_no_container_uses() {
    let net = Net::new();
    net.run_rm(&["busybox", "true"]);
    let before = net.sandbox.settled(&net.store);
    // What a crash can leave: a container's host end on our bridge whose
    // peer lives on (here in the sandbox itself).
    net.sandbox
        .sh("ip link add vb00000000000 type veth peer name straypeer && ip link set vb00000000000 master berth0 up");
    let out = net.ctl(["system", "check"]).output_of();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("veth vb00000000000: no container uses it"), "{text}");
    let repaired = net.ctl(["system", "check", "--repair"]).success();
    assert!(repaired.contains("veth vb00000000000: no container uses it: repaired"), "{repaired}");
    assert_eq!(net.sandbox.settled(&net.store), before);
    assert!(net.ctl(["system", "check"]).success().contains("store is consistent"));
}

#[test]
#[ignore = "needs root"]
fn connect_and_disconnect_a_running_container() {
    let net = Net::new();
    net.ctl(["network", "create", "--subnet", "10.99.5.0/24", "side"]).success();
    net.run_d(&["--name", "cee1", "busybox", "sleep", "1000"]);
    net.ctl(["network", "connect", "--ip", "10.99.5.7", "--alias", "cee", "side", "cee1"]).success();
    let addrs = net.ctl(["exec", "cee1", "ip", "-o", "addr"]).success();
    assert!(addrs.contains("eth1") && addrs.contains("10.99.5.7/24"), "{addrs}");
    let members = net
        .ctl(["network", "inspect", "-f", "{{range .Containers}}{{.Name}} {{.IPv4Address}}{{end}}", "side"])
        .success();
    assert_eq!(members.trim(), "cee1 10.99.5.7/24");
    let out = net.ctl(["network", "rm", "side"]).failure();
    assert!(String::from_utf8_lossy(&out.stderr).contains("has active endpoints"));
    net.ctl(["network", "disconnect", "side", "cee1"]).success();
    let addrs = net.ctl(["exec", "cee1", "ip", "-o", "addr"]).success();
    assert!(!addrs.contains("eth1"), "{addrs}");
    net.ctl(["network", "rm", "side"]).success();
    net.rm_all();
}

#[test]
#[ignore = "needs root"]
fn nothing_is_left_after_rm_f_a_killed_setup_and_a_killed_supervisor() {
    let net = Net::new();
    // Warm up: the base chains (shared by every network, as podman's and
    // docker's) and the default bridge stay once made; everything per
    // container must go, and a user network's bridge with `network rm`.
    net.run_rm(&["-p", "9999:80", "busybox", "true"]);
    let before = net.sandbox.settled(&net.store);
    let leases = net.leases();

    net.ctl(["network", "create", "n1"]).success();
    net.run_d(&["--name", "alpha", "-p", "8081:80", "busybox", "sleep", "1000"]);
    net.run_d(&["--name", "bravo", "--network", "n1", "busybox", "sleep", "1000"]);
    net.rm_all();
    net.ctl(["network", "rm", "n1"]).success();
    assert_eq!(net.sandbox.settled(&net.store), before, "after rm -f");

    // A supervisor killed with -9 while the container runs: rm -f still
    // tears everything down.
    net.run_d(&["--name", "kilo", "-p", "8082:80", "busybox", "sleep", "1000"]);
    let pid = net.inspect("kilo", "{{.State.Pid}}");
    let supervisor = net.sandbox.sh(&format!("ps -o ppid= -p {pid}")).trim().to_string();
    let comm = net.sandbox.sh(&format!("ps -o comm= -p {supervisor}"));
    // comm is the program name cut to 15 bytes (TASK_COMM_LEN).
    assert_eq!(comm.trim(), "berthctl-superv", "the container's parent is its supervisor");
    net.sandbox.sh(&format!("kill -9 {supervisor}"));
    net.rm_all();
    assert_eq!(net.sandbox.settled(&net.store), before, "after a killed supervisor");
    assert_eq!(net.leases(), leases);

    // berthctl killed with -9 in the middle of setup (the veth, address and
    // rules made, the container not yet created): rm -f replays the
    // recorded teardown.
    let mut run =
        net.ctl(["run", "-d", "--cgroup-parent", &net.cgroup_parent, "--name", "mid", "-p", "8083:80", "busybox"]);
    let out = run.args(["sleep", "1000"]).env("BERTH_TEST_FAULT", "network:setup").output().expect("run berthctl");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&out.status),
        Some(9),
        "berthctl died at the fault point: {out:?}"
    );
    assert_ne!(net.sandbox.snapshot(&net.store), before, "the killed setup left its interfaces, as expected");
    net.rm_all();
    assert_eq!(net.sandbox.settled(&net.store), before, "after berthctl killed during setup");
    assert_eq!(net.leases(), leases);
}

#[test]
#[ignore = "needs root"]
fn dockers_networking_tutorial_replayed() {
    let net = Net::new();
    // docs.docker.com/network/network-tutorial-standalone, user-defined part,
    // with busybox for alpine and the test images' nginx.
    net.ctl(["network", "create", "--driver", "bridge", "mynet"]).success();
    let nginx = net.pull("nginx:latest");
    let serve = "mkdir -p /var/log/nginx /var/lib/nginx && exec nginx -g 'daemon off;'";
    net.run_d(&["--name=nginx_mynet", "--network=mynet", &nginx, "sh", "-c", serve]);
    let hosts = net.ctl(["exec", "nginx_mynet", "cat", "/etc/hosts"]).success();
    let ip = net.inspect("nginx_mynet", "{{.NetworkSettings.Networks.mynet.IPAddress}}");
    assert!(hosts.contains(&format!("{ip}\t")), "{hosts}");
    for (name, network) in [("alpine1", "mynet"), ("alpine2", "mynet"), ("alpine3", "bridge"), ("alpine4", "mynet")] {
        let page = httpd(name);
        let mut args = vec!["--name", name, "--network", network, "busybox"];
        args.extend(page.iter().map(String::as_str));
        net.run_d(&args);
    }
    net.ctl(["network", "connect", "bridge", "alpine4"]).success();
    let exec_get = |from: &str, to: &str| {
        let get = http_get(to);
        let mut cmd = net.ctl(["exec", from]);
        cmd.args(&get).output_of()
    };
    let ok = exec_get("alpine1", "alpine2");
    assert!(String::from_utf8_lossy(&ok.stdout).ends_with("alpine2\n"), "alpine1 -> alpine2 by name: {ok:?}");
    let ok = exec_get("alpine1", "nginx_mynet");
    assert!(String::from_utf8_lossy(&ok.stdout).contains("Server: nginx"), "alpine1 -> nginx_mynet: {ok:?}");
    let alpine3 = net.inspect("alpine3", "{{.NetworkSettings.IPAddress}}");
    let ok = exec_get("alpine4", &alpine3);
    assert!(
        String::from_utf8_lossy(&ok.stdout).ends_with("alpine3\n"),
        "alpine4 (connected to bridge) -> alpine3: {ok:?}"
    );
    let unreachable = net.ctl(["exec", "alpine1", "nc", "-w", "2", &alpine3, "80"]).output_of();
    assert!(!unreachable.status.success(), "alpine1 (mynet only) must not reach alpine3 on bridge");
    let names = |network: &str| {
        let out = net.ctl(["network", "inspect", "-f", "{{range .Containers}}{{.Name}} {{end}}", network]).success();
        let mut v: Vec<String> = out.split_whitespace().map(str::to_string).collect();
        v.sort();
        v
    };
    assert_eq!(names("bridge"), ["alpine3", "alpine4"]);
    assert_eq!(names("mynet"), ["alpine1", "alpine2", "alpine4", "nginx_mynet"]);
    let out = net.ctl(["network", "rm", "mynet"]).failure();
    assert!(String::from_utf8_lossy(&out.stderr).contains("has active endpoints"));
    net.rm_all();
    net.ctl(["network", "rm", "mynet"]).success();
}

#[test]
#[ignore = "needs root"]
fn port_ranges_a_loopback_random_port_and_a_mac_address() {
    let net = Net::new();
    let page = httpd("ranged");
    let mut args = vec!["--name", "ranges", "-p", "127.0.0.1:8100-8101:80-81", "-p", "127.0.0.1::80"];
    args.extend(["--mac-address", "92:D0:C6:0A:29:33", "busybox"]);
    args.extend(page.iter().map(String::as_str));
    net.run_d(&args);
    let lines = net.ctl(["port", "ranges"]).success();
    let lines: Vec<&str> = lines.lines().collect();
    assert_eq!(lines[..2], ["80/tcp -> 127.0.0.1:8100", "81/tcp -> 127.0.0.1:8101"], "{lines:?}");
    let random = lines[2].strip_prefix("80/tcp -> 127.0.0.1:").expect("the random loopback port");
    assert!(random.parse::<u16>().is_ok_and(|p| p != 8100), "{lines:?}");
    assert_eq!(net.fetch("http://127.0.0.1:8100/"), "ranged\n");
    assert_eq!(net.fetch(&format!("http://127.0.0.1:{random}/")), "ranged\n");
    // Bound to loopback only: the host's other address does not answer.
    let out = net.sandbox.cmd("curl", ["-sS", "--max-time", "2", &format!("http://{HOST_ADDR}:8100/")]).output_of();
    assert!(!out.status.success(), "a 127.0.0.1 port answered on {HOST_ADDR}");
    let mac = net.ctl(["exec", "ranges", "cat", "/sys/class/net/eth0/address"]).success();
    assert_eq!(mac.trim(), "92:d0:c6:0a:29:33");
    assert_eq!(net.inspect("ranges", "{{.NetworkSettings.MacAddress}}"), "92:d0:c6:0a:29:33");

    // A host range for one container port: the first free port of it.
    net.run_d(&["--name", "h1", "-p", "8200-8201:80", "busybox", "sleep", "1000"]);
    net.run_d(&["--name", "h2", "-p", "8200-8201:80", "busybox", "sleep", "1000"]);
    assert_eq!(net.ctl(["port", "h1", "80"]).success(), "0.0.0.0:8200\n");
    assert_eq!(net.ctl(["port", "h2", "80"]).success(), "0.0.0.0:8201\n");
    let out = net.ctl(["run", "-d", "--cgroup-parent", &net.cgroup_parent, "-p", "8200-8201:80", "busybox"]).failure();
    assert!(String::from_utf8_lossy(&out.stderr).contains("port is already allocated"), "{out:?}");
    let out = net.ctl(["run", "-d", "-p", "8300-8301:80-82", "busybox"]).failure();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid ranges specified for container and host Ports: 80-82 and 8300-8301"), "{err}");
    let out = net.ctl(["run", "-d", "--mac-address", "zz", "busybox"]).failure();
    assert!(String::from_utf8_lossy(&out.stderr).contains("zz is not a valid mac address"), "{out:?}");
    net.rm_all();
}

#[test]
#[ignore = "needs root"]
fn ipv6_network_gives_dual_stack_containers() {
    let net = Net::new();
    net.sandbox.sh("ip addr add 2001:db8::10/64 dev uplink0 nodad");
    net.ctl(["network", "create", "--ipv6", "--subnet", "fd00:be::/64", "--subnet", "10.98.0.0/24", "six"]).success();
    let enabled = net.ctl(["network", "inspect", "-f", "{{.EnableIPv6}} {{json .IPAM.Config}}", "six"]).success();
    assert_eq!(
        enabled.trim(),
        r#"true [{"Gateway":"10.98.0.1","Subnet":"10.98.0.0/24"},{"Gateway":"fd00:be::1","Subnet":"fd00:be::/64"}]"#
    );
    let page = httpd("over-six");
    let mut args = vec!["--name", "web6", "--network", "six", "-p", "8090:80", "busybox"];
    args.extend(page.iter().map(String::as_str));
    net.run_d(&args);
    let f = "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{.GlobalIPv6Address}}/{{.GlobalIPv6PrefixLen}} {{.IPv6Gateway}}{{end}}";
    assert_eq!(net.inspect("web6", f), "10.98.0.2 fd00:be::2/64 fd00:be::1");
    let members =
        net.ctl(["network", "inspect", "-f", "{{range .Containers}}{{.IPv6Address}}{{end}}", "six"]).success();
    assert_eq!(members.trim(), "fd00:be::2/64");
    let addrs = net.ctl(["exec", "web6", "ip", "-6", "-o", "addr", "show", "eth0"]).success();
    assert!(addrs.contains("fd00:be::2/64"), "{addrs}");
    // Another container reaches it over IPv6, by address.
    let mut args = vec!["--network", "six", "busybox"];
    let get = http_get("fd00:be::2");
    args.extend(get.iter().map(String::as_str));
    assert!(net.run_rm(&args).ends_with("\r\n\r\nover-six\n"));
    // The published port answers on the host's IPv4 and IPv6 addresses.
    assert_eq!(net.fetch(&format!("http://{HOST_ADDR}:8090/")), "over-six\n");
    assert_eq!(net.fetch("http://[2001:db8::10]:8090/"), "over-six\n");
    assert_eq!(net.ctl(["port", "web6"]).success(), "80/tcp -> 0.0.0.0:8090\n80/tcp -> [::]:8090\n");
    net.rm_all();
    net.ctl(["network", "rm", "six"]).success();
}

#[test]
#[ignore = "needs root"]
fn macvlan_network_on_a_veth_parent() {
    let net = Net::new();
    // This kernel has no dummy links: one end of a veth pair is the parent.
    net.sandbox
        .sh("ip link add mvparent type veth peer name mvpeer && ip link set mvparent up && ip link set mvpeer up");
    let out = net.ctl(["network", "create", "-d", "macvlan", "-o", "parent=nosuch0", "bad"]).failure();
    assert!(String::from_utf8_lossy(&out.stderr).contains("-o parent=nosuch0: no such interface"), "{out:?}");
    net.ctl(["network", "create", "-d", "macvlan", "-o", "parent=mvparent", "--subnet", "192.0.3.0/24", "mv"])
        .success();
    let page = httpd("via-macvlan");
    let mut args = vec!["--name", "m1", "--network", "mv", "busybox"];
    args.extend(page.iter().map(String::as_str));
    net.run_d(&args);
    // busybox's ip has no -d: iproute2's, in the container's netns.
    let key = net.inspect("m1", "{{.NetworkSettings.SandboxKey}}");
    let link = net.sandbox.sh(&format!("nsenter --net={key} ip -d link show eth0"));
    assert!(link.contains("macvlan mode bridge"), "{link}");
    let addrs = net.ctl(["exec", "m1", "ip", "-o", "-4", "addr", "show", "eth0"]).success();
    assert!(addrs.contains("192.0.3.2/24"), "{addrs}");
    // A second container on the same parent reaches the first (bridge mode).
    let mut args = vec!["--network", "mv", "busybox"];
    let get = http_get("192.0.3.2");
    args.extend(get.iter().map(String::as_str));
    assert!(net.run_rm(&args).ends_with("\r\n\r\nvia-macvlan\n"));
    let mut driver = net.ctl(["network", "inspect", "-f", "{{.Driver}} {{range .Containers}}{{.Name}}{{end}}", "mv"]);
    assert_eq!(driver.success().trim(), "macvlan m1");
    net.rm_all();
    net.ctl(["network", "rm", "mv"]).success();
}

#[test]
#[ignore = "needs root"]
fn netavark_backend_is_still_an_option_and_teardown_follows_the_record() {
    let net = Net::new();
    net.run_rm(&["-p", "9998:80", "busybox", "true"]);
    let before = net.sandbox.settled(&net.store);
    let mut run = net.ctl(["run", "-d", "--cgroup-parent", &net.cgroup_parent, "--name", "old", "-p", "8084:80"]);
    run.env("BERTH_NETWORK_BACKEND", "netavark").args(["busybox"]).args(httpd("through-netavark"));
    run.success();
    assert_eq!(net.fetch("http://127.0.0.1:8084/").trim(), "through-netavark");
    // Removed by a berthctl on the native backend: the stored record says
    // netavark made it, so netavark tears it down.
    net.rm_all();
    // netavark removes the bridge with its last container; nothing else of
    // the container may stay.
    let after = net.sandbox.settled(&net.store);
    let links = |s: &str| -> Vec<String> {
        s.split("--- nft").next().unwrap_or_default().lines().map(str::to_string).collect()
    };
    let extra: Vec<String> = links(&after).into_iter().filter(|l| !links(&before).contains(l)).collect();
    assert!(extra.is_empty(), "left behind: {extra:?}");
    assert!(after.ends_with("--- netns\n"), "no netns file is left: {after}");
    // And the native driver sets up again after netavark took the bridge.
    net.run_d(
        &["--name", "new", "-p", "8085:80", "busybox"]
            .iter()
            .copied()
            .chain(httpd("native").iter().map(String::as_str))
            .collect::<Vec<_>>(),
    );
    assert_eq!(net.fetch("http://127.0.0.1:8085/").trim(), "native");
    net.rm_all();
}

/// A build's RUN steps get docker's default bridge, `build --network host`
/// the host's stack, and `RUN --network=none` only a loopback; nothing of
/// a step's network is left after the build.
#[test]
#[ignore = "needs root"]
fn build_run_steps_use_the_default_bridge_host_or_none() {
    let net = Net::new();
    let ctx = net.store.path().join("netctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM busybox\nRUN ip -o -4 addr > /default\nRUN --network=none ip -o link | cut -d: -f2 > /none\n\
         CMD [\"cat\", \"/default\", \"/none\"]\n",
    )
    .unwrap();
    let build = |tag: &str, extra: &[&str]| {
        let mut c = net.ctl(["build", "-q", "--cgroup-parent", &net.cgroup_parent, "-t", tag]);
        c.args(extra).arg(&ctx).success();
        net.run_rm(&["--network", "none", tag])
    };
    let bridged = build("bridged", &[]);
    let subnet = net.ctl(["network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}}{{end}}", "bridge"]).success();
    let net16 = subnet.trim().split('.').take(2).collect::<Vec<_>>().join("."); // the bridge's /16
    assert!(bridged.contains("eth0") && bridged.contains(&format!("inet {net16}.")), "{bridged} (bridge {subnet})");
    assert!(bridged.ends_with(" lo\n") && !bridged.contains(HOST_ADDR), "{bridged}");
    // The bridge now exists; another bridged build leaves no veth, rule or lease.
    let before = net.sandbox.snapshot(&net.store);
    build("bridged", &["--no-cache"]);
    assert_eq!(net.sandbox.snapshot(&net.store), before, "a RUN step's network is left");
    assert_eq!(net.leases().trim(), "", "a RUN step's lease is left");
    // The network is not part of a step's cache key (docker's neither): --no-cache.
    let host = build("hosted", &["--network", "host", "--no-cache"]);
    assert!(host.contains(&format!("inet {HOST_ADDR}/")), "{host}");
}
