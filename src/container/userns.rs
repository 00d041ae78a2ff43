//! uid/gid maps of a new user namespace, written by the parent after clone. Root
//! writes /proc/<pid>/{uid,gid}_map directly; an unprivileged caller can map only
//! its own ids that way, and needs newuidmap/newgidmap (setuid helpers from
//! Debian's `uidmap`, granted ranges by /etc/subuid) for anything more.
//!
//! Also the user namespaces behind idmapped mounts: a short-lived child holds a
//! new user namespace with the mount's mappings just long enough for us to open
//! it, and the namespace fd is all `rootfs` needs.

use std::fs;
use std::os::fd::OwnedFd;
use std::process::Command;

use nix::sched::CloneFlags;
use nix::unistd::{Gid, Pid, Uid};
use oci_spec::runtime::{Linux, LinuxIdMapping, Spec};

use crate::rootfs::{self, IdmappedTrees};
use crate::sys::process::{Forked, clone_fork, exit_now};

use super::error::Cause;

fn map_text(maps: &[LinuxIdMapping]) -> String {
    maps.iter().map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size())).collect()
}

fn only_self(maps: &[LinuxIdMapping], id: u32) -> bool {
    maps.len() == 1 && maps[0].host_id() == id && maps[0].size() == 1
}

pub fn write_mappings(pid: Pid, linux: &Linux, rootless: bool) -> Result<(), Cause> {
    let uids = linux.uid_mappings().clone().unwrap_or_default();
    let gids = linux.gid_mappings().clone().unwrap_or_default();
    let euid = Uid::effective();
    if euid.is_root() {
        write(pid, "uid_map", &map_text(&uids))?;
        write(pid, "gid_map", &map_text(&gids))?;
        return Ok(());
    }
    if only_self(&uids, euid.as_raw()) {
        write(pid, "uid_map", &map_text(&uids))?;
    } else {
        helper("newuidmap", pid, &uids)?;
    }
    if only_self(&gids, Gid::effective().as_raw()) {
        // An unprivileged process may write gid_map only after denying setgroups.
        if rootless {
            write(pid, "setgroups", "deny")?;
        }
        write(pid, "gid_map", &map_text(&gids))?;
    } else {
        helper("newgidmap", pid, &gids)?;
    }
    Ok(())
}

fn write(pid: Pid, file: &str, text: &str) -> Result<(), Cause> {
    let path = format!("/proc/{pid}/{file}");
    let what = if file == "gid_map" { "linux.gidMappings" } else { "linux.uidMappings" };
    fs::write(&path, text).map_err(|source| Cause::Io { what, path: path.into(), source })
}

fn helper(program: &str, pid: Pid, maps: &[LinuxIdMapping]) -> Result<(), Cause> {
    let mut cmd = Command::new(program);
    cmd.arg(pid.to_string());
    for m in maps {
        cmd.args([m.container_id().to_string(), m.host_id().to_string(), m.size().to_string()]);
    }
    crate::sys::process::unblock_signals_in_child(&mut cmd);
    let out = cmd.output().map_err(|source| Cause::Io { what: "run", path: program.into(), source })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(Cause::IdMapTool { program: program.to_string(), stderr });
    }
    Ok(())
}

/// For every bind mount with `uidMappings`/`gidMappings`: a detached, idmapped
/// copy of its source, keyed by its index in `mounts[]`.
pub fn idmapped_mounts(spec: &Spec, bundle: &std::path::Path) -> Result<IdmappedTrees, Cause> {
    let mut out = IdmappedTrees::new();
    for (i, m) in spec.mounts().as_deref().unwrap_or_default().iter().enumerate() {
        let (uids, gids) = (m.uid_mappings().as_deref(), m.gid_mappings().as_deref());
        if uids.is_none() && gids.is_none() {
            continue;
        }
        let (Some(uids), Some(gids)) = (uids.filter(|u| !u.is_empty()), gids.filter(|g| !g.is_empty())) else {
            let reason = "uidMappings and gidMappings must both be set for an idmapped mount";
            return Err(crate::spec::SpecError::invalid(format!("mounts[{i}]"), reason).into());
        };
        if !Uid::effective().is_root() {
            return Err(Cause::IdmappedMount { index: i, reason: "idmapped mounts need root".into() });
        }
        let ns = mapped_userns(uids, gids).map_err(|e| Cause::IdmappedUserns { index: i, source: Box::new(e) })?;
        let tree = rootfs::idmapped_tree(i, m, bundle, &ns)?;
        out.push((i, tree));
    }
    Ok(out)
}

/// With a new user namespace: a detached copy of every other bind mount's source,
/// added to `trees` (runc opens its mount sources before the user namespace is
/// entered the same way). Init, root of that namespace, may not search a
/// directory only the host's root may (a 0700 home), so it could not reach such
/// a source itself. A source that cannot be copied here is left to init, which
/// reports it.
pub fn bind_sources(spec: &Spec, bundle: &std::path::Path, trees: &mut IdmappedTrees) {
    for (i, m) in spec.mounts().as_deref().unwrap_or_default().iter().enumerate() {
        if trees.iter().any(|(j, _)| *j == i) {
            continue;
        }
        let opts = rootfs::parse_options(m.options().as_deref().unwrap_or_default());
        if !(opts.is_bind() || m.typ().as_deref() == Some("bind")) {
            continue;
        }
        let src = bundle.join(m.source().clone().unwrap_or_default());
        let recursive = opts.flags.contains(nix::mount::MsFlags::MS_REC);
        match crate::sys::mount::open_tree_clone(&src, recursive) {
            Ok(tree) => trees.push((i, tree)),
            Err(e) => tracing::debug!(index = i, error = %e, "bind source left to init"),
        }
    }
}

/// A user namespace with `uids`/`gids` as its maps, as an fd. Its only process
/// is a child that waits for the pipe to close, then exits.
fn mapped_userns(uids: &[LinuxIdMapping], gids: &[LinuxIdMapping]) -> Result<OwnedFd, Cause> {
    let (r, w) = nix::unistd::pipe().map_err(|e| crate::sys::Error::new("pipe", e))?;
    let pid = match clone_fork(CloneFlags::CLONE_NEWUSER)? {
        Forked::Child => {
            drop(w);
            let mut b = [0u8; 1];
            let _ = nix::unistd::read(std::os::fd::AsRawFd::as_raw_fd(&r), &mut b);
            exit_now(0)
        }
        Forked::Parent(pid) => pid,
    };
    drop(r);
    let result = (|| {
        write(pid, "uid_map", &map_text(uids))?;
        write(pid, "gid_map", &map_text(gids))?;
        let path = format!("/proc/{pid}/ns/user");
        crate::sys::fd::open(
            path.as_str(),
            nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .map_err(|e| crate::sys::Error::with_path("open", &path, e).into())
    })();
    drop(w);
    let _ = nix::sys::wait::waitpid(pid, None);
    result
}
