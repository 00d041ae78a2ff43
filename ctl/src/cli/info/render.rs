//! `info`'s default layout: docker/cli's `prettyPrintInfo`.

use std::fmt::Write as _;

use super::data::Info;
use crate::format::units;

/// docker's `prettyPrintInfo` layout (docker/cli `cli/command/system/info.go`).
pub(crate) fn render(i: &Info) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Client:");
    let _ = writeln!(s, " Version:    {}", i.client_info.version);
    let _ = writeln!(s, " Debug Mode: {}", i.client_info.debug);
    let _ = writeln!(s);
    let _ = writeln!(s, "Server:");
    let _ = writeln!(s, " Containers: {}", i.containers);
    let _ = writeln!(s, "  Running: {}", i.containers_running);
    let _ = writeln!(s, "  Paused: {}", i.containers_paused);
    let _ = writeln!(s, "  Stopped: {}", i.containers_stopped);
    let _ = writeln!(s, " Images: {}", i.images);
    let _ = writeln!(s, " Server Version: {}", i.server_version);
    let _ = writeln!(s, " Storage Driver: {}", i.driver);
    for [k, v] in &i.driver_status {
        let _ = writeln!(s, "  {k}: {v}");
    }
    let _ = writeln!(s, " Logging Driver: {}", i.logging_driver);
    let _ = writeln!(s, " Cgroup Driver: {}", i.cgroup_driver);
    let _ = writeln!(s, " Cgroup Version: {}", i.cgroup_version);
    let _ = writeln!(s, " Plugins:");
    let _ = writeln!(s, "  Volume: {}", i.plugins.volume.join(" "));
    let _ = writeln!(s, "  Network: {}", i.plugins.network.join(" "));
    let _ = writeln!(s, "  Log: {}", i.plugins.log.join(" "));
    let _ = writeln!(s, " Swarm: {}", i.swarm.local_node_state);
    let names: Vec<&str> = i.runtimes.keys().map(String::as_str).collect();
    let _ = writeln!(s, " Runtimes: {}", names.join(" "));
    let _ = writeln!(s, " Default Runtime: {}", i.default_runtime);
    let _ = writeln!(s, " Init Binary: {}", i.init_binary);
    let _ = writeln!(s, " {} version: {}", i.default_runtime, i.runtime_version);
    let _ = writeln!(s, " init version: {}", i.init_commit.id);
    let _ = writeln!(s, " Security Options:");
    for o in &i.security_options {
        // "name=seccomp,profile=default" → "seccomp" and "  Profile: default".
        let mut parts = o.split(',').filter_map(|kv| kv.split_once('='));
        if let Some((_, name)) = parts.next() {
            let _ = writeln!(s, "  {name}");
        }
        for (k, v) in parts {
            let _ = writeln!(s, "   {}: {v}", capitalize(k));
        }
    }
    let _ = writeln!(s, " Kernel Version: {}", i.kernel_version);
    let _ = writeln!(s, " Operating System: {}", i.operating_system);
    let _ = writeln!(s, " OSType: {}", i.os_type);
    let _ = writeln!(s, " Architecture: {}", i.architecture);
    let _ = writeln!(s, " CPUs: {}", i.ncpu);
    let _ = writeln!(s, " Total Memory: {}", units::bytes_size(i.mem_total));
    let _ = writeln!(s, " Name: {}", i.name);
    let _ = writeln!(s, " ID: {}", i.id);
    let _ = writeln!(s, " Docker Root Dir: {}", i.docker_root_dir);
    let _ = writeln!(s, " Run Root Dir: {}", i.run_root_dir);
    let _ = writeln!(s, " Debug Mode: {}", i.debug);
    for (label, value) in [("HTTP Proxy", &i.http_proxy), ("HTTPS Proxy", &i.https_proxy), ("No Proxy", &i.no_proxy)] {
        if !value.is_empty() {
            let _ = writeln!(s, " {label}: {value}");
        }
    }
    let _ = writeln!(s, " Experimental: {}", i.experimental_build);
    let _ = writeln!(s, " Insecure Registries:");
    for c in &i.registry_config.insecure_registry_cidrs {
        let _ = writeln!(s, "  {c}");
    }
    let _ = writeln!(s, " Live Restore Enabled: {}", i.live_restore_enabled);
    s
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::info::data::tests::sample;

    #[test]
    fn text_layout_follows_docker() {
        let text = render(&sample());
        assert!(text.starts_with("Client:\n Version:    0.1.0\n Debug Mode: false\n\nServer:\n Containers: 3\n  Running: 1\n  Paused: 0\n  Stopped: 2\n Images: 5\n"), "{text}");
        assert!(
            text.contains(
                " Plugins:\n  Volume: local\n  Network: bridge host macvlan null\n  Log: json-file\n Swarm: inactive\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(" Security Options:\n  seccomp\n   Profile: default\n Kernel Version: 6.1.0\n"),
            "{text}"
        );
        assert!(text.contains(" Insecure Registries:\n  127.0.0.0/8\n Live Restore Enabled: true\n"), "{text}");
        assert!(text.contains(" Storage Driver: overlay2\n  Backing Filesystem: extfs\n"), "{text}");
        assert!(text.contains(" Total Memory: 23.47GiB\n"), "{text}");
        assert!(text.contains(" Cgroup Version: 1\n"), "{text}");
    }
}
