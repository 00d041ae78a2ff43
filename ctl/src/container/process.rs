//! The process.json of a process run in a running container with `<runtime>
//! exec --process`: `berthctl exec`'s and the health check's probe (docker
//! builds both as an exec of the container: its user, env, working dir,
//! capabilities, rlimits and oom_score_adj, then the exec's own changes).

use std::path::Path;

use serde_json::{Value, json};

use super::record::Container;
use super::{bundle, imageconfig, security, user};

/// What an exec changes from the container's process.
#[derive(Debug, Default)]
pub(crate) struct ExecRequest<'a> {
    pub args: &'a [String],
    /// `--user`; the container's when None.
    pub user: Option<&'a str>,
    /// Added to the container's env (later wins).
    pub env: Vec<String>,
    /// `--workdir`; the container's (or /) when None or empty.
    pub workdir: Option<&'a str>,
    pub tty: bool,
    pub privileged: bool,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ProcessError {
    #[error(transparent)]
    User(#[from] user::UserError),
    #[error(transparent)]
    Security(#[from] security::SecurityError),
    #[error(transparent)]
    Bundle(#[from] bundle::BundleError),
}

/// The process.json for `req` in `c`, whose rootfs is mounted at `rootfs`
/// (the user and groups are looked up in its /etc/passwd and /etc/group).
pub(crate) fn exec_process(c: &Container, req: &ExecRequest<'_>, rootfs: &Path) -> Result<Value, ProcessError> {
    let user_spec = req.user.unwrap_or(&c.config.user);
    let u = user::resolve_in(rootfs, user_spec)?;
    let mut cfg = c.config.clone();
    cfg.tty = req.tty;
    cfg.env.extend(req.env.iter().cloned());
    let caps = security::capabilities(
        &c.host_config.cap_add,
        &c.host_config.cap_drop,
        c.host_config.privileged || req.privileged,
    )?;
    let cwd = req
        .workdir
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| if cfg.working_dir.is_empty() { "/".into() } else { cfg.working_dir.clone() });
    Ok(json!({
        "terminal": req.tty,
        "user": {"uid": u.uid, "gid": u.gid, "additionalGids": bundle::all_gids(c, &u, rootfs)?},
        "args": req.args,
        "env": imageconfig::process_env(&cfg, &u.home),
        "cwd": cwd,
        "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
        // docker's exec starts from the container's process: its rlimits and
        // oom_score_adj too.
        "rlimits": bundle::rlimits(c),
        "oomScoreAdj": c.host_config.oom_score_adj,
        "noNewPrivileges": c.host_config.security_opt.iter().any(|o| o == "no-new-privileges" || o == "no-new-privileges:true"),
    }))
}
