//! Before each start of the container (berthctl's part; the supervisor
//! runs the runtime): the rootfs mounted, the /etc files and the volumes
//! in place, the network set up, config.json written.

use crate::config::Config;
use crate::container::bundle::{self, BundlePaths};
use crate::container::health;
use crate::container::process::{self, ExecRequest};
use crate::container::record::Container;
use crate::container::{Layout, rootfs};
use crate::network;

#[derive(Debug, thiserror::Error)]
pub(crate) enum LaunchError {
    #[error(transparent)]
    Bundle(#[from] bundle::BundleError),
    #[error(transparent)]
    Rootfs(#[from] rootfs::RootfsError),
    #[error(transparent)]
    Volume(#[from] crate::volume::attach::AttachError),
    #[error(transparent)]
    Network(#[from] crate::network::NetworkError),
    #[error(transparent)]
    Join(anyhow::Error),
    #[error("health check: {0}")]
    Health(#[from] crate::container::process::ProcessError),
    #[error("{what} {path:?}")]
    Io {
        what: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The running containers whose pid or IPC namespace `c` joins.
fn joins(config: &Config, c: &Container) -> Result<bundle::Joins, LaunchError> {
    let hc = &c.host_config;
    let (pid, ipc) = (hc.pid_mode.strip_prefix("container:"), hc.ipc_mode.strip_prefix("container:"));
    if pid.is_none() && ipc.is_none() {
        return Ok(bundle::Joins::default());
    }
    let store = crate::container::store::Store::open(&config.data_root).map_err(|e| LaunchError::Join(e.into()))?;
    let pid_of = |name: Option<&str>, what| {
        name.map(|n| crate::container::hostopts::running_pid(&store, n, what)).transpose().map_err(LaunchError::Join)
    };
    Ok(bundle::Joins { pid: pid_of(pid, "PID")?, ipc: pid_of(ipc, "IPC")? })
}

fn io_err(what: &'static str, path: &std::path::Path) -> impl FnOnce(std::io::Error) -> LaunchError {
    let path = path.to_path_buf();
    move |source| LaunchError::Io { what, path, source }
}

/// Mount the rootfs and write config.json and the /etc files; the
/// container's volumes are mounted (driver options), filled (copy-up) and
/// added to the spec's mounts.
pub(crate) fn prepare(config: &Config, c: &Container, layout: &Layout) -> Result<(), LaunchError> {
    let volatile = c.host_config.auto_remove;
    rootfs::mount_overlay(&c.lower_dirs, &layout.upper(), &layout.work(), &layout.rootfs(), volatile)?;
    bundle::ensure_workdir(&layout.rootfs(), &c.config.working_dir)?;
    bundle::write_etc_files(&layout.dir, &c.config.hostname, c.host_config.network_mode == "host")?;
    let volumes = crate::volume::attach::mounts_for(&config.data_root, &c.id, &c.mount_points, &layout.rootfs())?;
    // Before the network: a failure here has nothing to undo.
    let joins = joins(config, c)?;
    // The network's hosts and resolv.conf replace the ones just written;
    // it is set up last, and undone if the spec cannot be made.
    let who = network::container::Identity { id: &c.id, name: &c.name, hostname: &c.config.hostname };
    let netns = match network::start(config, who, &layout.dir)? {
        network::container::Namespace::Path(p) => Some(p),
        network::container::Namespace::Host => None,
    };
    let paths = BundlePaths {
        rootfs: &layout.rootfs(),
        dir: &layout.dir,
        cgroup_v2: crate::container::is_cgroup_v2(),
        netns: netns.as_deref(),
        joins,
    };
    let mut spec = match bundle::spec(c, &paths) {
        Ok(spec) => spec,
        Err(e) => {
            if let Err(undo) = network::stop(config, &c.id) {
                tracing::warn!(error = %undo, "network teardown after a failed spec");
            }
            return Err(e.into());
        }
    };
    if let Some(mounts) = spec["mounts"].as_array_mut() {
        // A user mount replaces a default one at the same place (docker's
        // rule: `-v /x:/etc/hosts` wins over the generated hosts file).
        mounts.retain(|m| !volumes.iter().any(|v| v["destination"] == m["destination"]));
        mounts.extend(volumes);
    }
    let path = layout.dir.join("config.json");
    // A serde_json::Value always serializes.
    let text = serde_json::to_vec_pretty(&spec).expect("a JSON value serializes");
    std::fs::write(&path, text).map_err(io_err("write", &path))?;
    prepare_health(c, layout)
}

/// For a container with a health check: the probe's process.json (an exec
/// of the container, as docker's) and the state file a start begins with
/// (`starting`, the last run's log), both in the run dir for the supervisor.
fn prepare_health(c: &Container, layout: &Layout) -> Result<(), LaunchError> {
    let Some(args) = health::probe_args(c.config.healthcheck.as_ref()) else {
        if let Some(kind) = c.config.healthcheck.as_ref().and_then(|h| h.test.first()).filter(|k| *k != "NONE") {
            tracing::warn!(id = %c.id, kind = %kind, "unknown healthcheck type (expected CMD): no health check runs");
        }
        return Ok(());
    };
    std::fs::create_dir_all(&layout.run).map_err(io_err("create", &layout.run))?;
    let req = ExecRequest { args: &args, ..Default::default() };
    let process = process::exec_process(c, &req, &layout.rootfs())?;
    let path = layout.run.join(health::PROCESS_FILE);
    // A serde_json::Value always serializes.
    let text = serde_json::to_vec(&process).expect("a JSON value serializes");
    std::fs::write(&path, text).map_err(io_err("write", &path))?;
    let path = layout.run.join(health::STATE_FILE);
    std::fs::write(&path, health::seed(c.state.health.as_ref())).map_err(io_err("write", &path))
}
