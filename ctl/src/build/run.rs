//! A RUN step's container: no supervisor, no record — the step's rootfs is
//! already mounted; config.json is made by the containers' bundle code (the
//! same defaults as `run`: capabilities, seccomp, masked paths, /dev/shm),
//! the network set up as for a container (`network::start`/`stop`, the
//! default bridge, `none` or `host`), and `<runtime> run` waits for it with
//! its output on the build's output. The runtime's `run` deletes the
//! container when it exits; a `delete --force` after it and the network's
//! teardown make sure nothing is left whatever happened.

use std::fs::File;
use std::path::Path;
use std::process::Stdio;

use super::BuildError;
use crate::config::Config;
use crate::container::bundle::{self, BundlePaths};
use crate::container::record::{Container, ContainerConfig, HostConfig};
use crate::container::runtime::{self, Runtime};
use crate::network;

pub(crate) struct RunRequest<'a> {
    pub id: &'a str,
    pub rootfs: &'a Path,
    /// The bundle directory: config.json, hostname, hosts, resolv.conf.
    pub dir: &'a Path,
    pub argv: Vec<String>,
    pub env: Vec<String>,
    pub user: &'a str,
    pub workdir: &'a str,
    /// `bridge` (docker's default), `none`, `host` or a network's name.
    pub network: &'a str,
    pub cgroup_parent: &'a str,
    /// Where the output goes: the build's stdout, or a file under `-q`.
    pub output: File,
    /// Extra OCI mounts (a heredoc script at `/dev/pipes/<name>`).
    pub mounts: Vec<serde_json::Value>,
}

/// How the step's process ended.
pub(crate) enum Outcome {
    Exited(i32),
    /// The runtime could not start it (its own message).
    Failed(String),
}

/// Run the step's command; the container, its network and its cgroup are
/// gone when this returns.
pub(crate) fn run(config: &Config, req: RunRequest<'_>) -> Result<Outcome, BuildError> {
    let (path, args) = req.argv.split_first().map(|(p, a)| (p.clone(), a.to_vec())).unwrap_or_default();
    let hostname = req.id[..12].to_string();
    let c = Container {
        id: req.id.to_string(),
        name: req.id.to_string(),
        path,
        args,
        config: ContainerConfig {
            hostname: hostname.clone(),
            user: req.user.to_string(),
            env: req.env.clone(),
            working_dir: req.workdir.to_string(),
            ..Default::default()
        },
        host_config: HostConfig {
            network_mode: req.network.to_string(),
            cgroup_parent: req.cgroup_parent.to_string(),
            ..Default::default()
        },
        ..Default::default()
    };
    bundle::ensure_workdir(req.rootfs, req.workdir).map_err(|e| BuildError::Step(e.to_string()))?;
    bundle::write_etc_files(req.dir, &hostname, req.network == "host").map_err(|e| BuildError::Step(e.to_string()))?;
    let who = network::container::Identity { id: req.id, name: req.id, hostname: &hostname };
    let db = crate::db::Db::open(&config.data_root.join("berth.db"))?;
    let request = network::container::Request { mode: req.network.to_string(), ..Default::default() };
    network::container::allocate(db.conn(), who, &request, &[]).map_err(|e| BuildError::Step(e.to_string()))?;
    let result = with_network(config, &c, &req, who);
    if let Err(e) = network::stop(config, req.id) {
        tracing::warn!(id = req.id, error = %e, "build step: network teardown");
    }
    if let Err(e) = network::container::release(db.conn(), req.id) {
        tracing::warn!(id = req.id, error = %e, "build step: release the network lease");
    }
    result
}

fn with_network(
    config: &Config,
    c: &Container,
    req: &RunRequest<'_>,
    who: network::container::Identity<'_>,
) -> Result<Outcome, BuildError> {
    let netns = match network::start(config, who, req.dir).map_err(|e| BuildError::Step(e.to_string()))? {
        network::container::Namespace::Path(p) => Some(p),
        network::container::Namespace::Host => None,
    };
    let paths = BundlePaths {
        rootfs: req.rootfs,
        dir: req.dir,
        cgroup_v2: crate::container::is_cgroup_v2(),
        netns: netns.as_deref(),
        joins: bundle::Joins::default(),
    };
    let mut spec = bundle::spec(c, &paths).map_err(|e| BuildError::Step(e.to_string()))?;
    if let Some(m) = spec["mounts"].as_array_mut() {
        m.extend(req.mounts.iter().cloned());
    }
    let spec_path = req.dir.join("config.json");
    // A serde_json::Value always serializes.
    std::fs::write(&spec_path, serde_json::to_vec_pretty(&spec).expect("a JSON value serializes"))
        .map_err(|source| BuildError::Io { op: "write", path: spec_path, source })?;
    let rt = Runtime::new(&config.runtime, &config.runroot);
    let log = req.dir.join("runtime.log");
    let out = req.output.try_clone().map_err(|source| BuildError::Io { op: "dup", path: "output".into(), source })?;
    let err = req.output.try_clone().map_err(|source| BuildError::Io { op: "dup", path: "output".into(), source })?;
    let status = rt
        .command(Some(&log))
        .arg("run")
        .arg("--bundle")
        .arg(req.dir)
        .arg(req.id)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .map_err(|source| BuildError::Io { op: "run", path: config.runtime.clone(), source })?;
    // `run` deletes the container itself; this only matters when it was killed.
    let _ = rt.delete(req.id, true);
    let code = status.code().unwrap_or(128 + std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0));
    if code != 0
        && let Some(message) = std::fs::read(&log).ok().and_then(|l| runtime::log_message(&l))
    {
        return Ok(Outcome::Failed(message));
    }
    Ok(Outcome::Exited(code))
}
