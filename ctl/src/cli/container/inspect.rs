//! `inspect` of containers in docker's JSON shape (Id, State, Config,
//! HostConfig, GraphDriver, Mounts, NetworkSettings…), several at once,
//! `--format`/`-f` Go templates.

use serde_json::{Value, json};

use crate::config::Config;
use crate::container::record::Container;
use crate::container::store::Store;
use crate::container::{Layout, lifecycle};
use crate::format::time::container_state_word;

#[derive(Debug, clap::Args)]
pub(crate) struct InspectArgs {
    /// Format output using a custom template
    #[arg(short = 'f', long)]
    pub format: Option<String>,
    /// Display total file sizes
    #[arg(short = 's', long)]
    pub size: bool,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// docker's `ContainerJSON` of a record.
pub(crate) fn to_json(config: &Config, c: &Container, size: bool) -> Value {
    let layout = Layout::new(config, &c.id);
    let facts = super::ps::facts(c);
    let mut state = serde_json::to_value(&c.state).unwrap_or_else(|_| json!({}));
    state["Status"] = json!(container_state_word(&facts));
    state["Running"] = json!(facts.running);
    match crate::container::health::current(&layout.run, c) {
        Some(h) => state["Health"] = json!(h),
        None => {
            if let Some(o) = state.as_object_mut() {
                o.remove("Health");
            }
        }
    }
    let mut config_json = serde_json::to_value(&c.config).unwrap_or_else(|_| json!({}));
    if c.config.exposed_ports.is_empty()
        && let Some(o) = config_json.as_object_mut()
    {
        o.remove("ExposedPorts");
    }
    let lower: Vec<String> = c.lower_dirs.iter().map(|p| p.display().to_string()).collect();
    let net = &c.host_config.network_mode;
    let exposed: Vec<String> = c.config.exposed_ports.keys().cloned().collect();
    let mut v = json!({
        "Id": c.id,
        "Created": c.created,
        "Path": c.path,
        "Args": c.args,
        "State": state,
        "Image": c.image,
        "ResolvConfPath": layout.dir.join("resolv.conf"),
        "HostnamePath": layout.dir.join("hostname"),
        "HostsPath": layout.dir.join("hosts"),
        "LogPath": if c.host_config.log_config.kind == "none" { String::new() } else { layout.log_file().display().to_string() },
        "Name": format!("/{}", c.name),
        "RestartCount": c.restart_count,
        // docker's name for the same layout (lower dirs, upper, work).
        "Driver": "overlay2",
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": null,
        "HostConfig": c.host_config,
        "GraphDriver": {
            "Data": {
                "LowerDir": lower.join(":"),
                "MergedDir": layout.rootfs(),
                "UpperDir": layout.upper(),
                "WorkDir": layout.work(),
            },
            "Name": "overlay2",
        },
        "Mounts": c.mount_points.iter().map(crate::volume::spec::MountPoint::inspect).collect::<Vec<_>>(),
        "Config": config_json,
        "NetworkSettings": crate::network::settings(config, &c.id, &exposed).unwrap_or_else(|e| {
            tracing::warn!(id = %c.id, error = %e, "read network settings");
            network_settings(net)
        }),
    });
    if size {
        let upper = super::ps::dir_size(&layout.upper());
        v["SizeRw"] = json!(upper);
        v["SizeRootFs"] = json!(upper);
    }
    v
}

/// docker's NetworkSettings for a container without a bridge network.
fn network_settings(net: &str) -> Value {
    let endpoint = json!({
        "IPAMConfig": null, "Links": null, "Aliases": null, "NetworkID": "", "EndpointID": "",
        "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "", "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0, "MacAddress": "", "DriverOpts": null,
    });
    let mut networks = serde_json::Map::new();
    networks.insert(net.to_string(), endpoint);
    json!({
        "Bridge": "", "SandboxID": "", "HairpinMode": false, "Ports": {}, "SandboxKey": "",
        "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "MacAddress": "",
        "Networks": networks,
    })
}

pub(crate) fn run(config: &Config, a: &InspectArgs) -> anyhow::Result<i32> {
    let mut store = Store::open(&config.data_root)?;
    let mut out = std::io::stdout().lock();
    let templated = crate::cli::inspect::templated(a.format.as_deref());
    crate::format::inspect(&mut out, a.format.as_deref(), &a.containers, |name| {
        let c = store.lookup(name).map_err(|e| format!("Error: {e}"))?;
        let c = lifecycle::refresh(config, &mut store, c).map_err(|e| format!("Error: {e}"))?;
        Ok::<_, String>(crate::cli::inspect::typed_view(to_json(config, &c, a.size), templated))
    })?;
    Ok(0)
}
