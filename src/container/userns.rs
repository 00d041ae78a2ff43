//! uid/gid maps of a new user namespace, written by the parent after clone. Root
//! writes /proc/<pid>/{uid,gid}_map directly; an unprivileged caller can map only
//! its own ids that way, and needs newuidmap/newgidmap (setuid helpers from
//! Debian's `uidmap`, granted ranges by /etc/subuid) for anything more.

use std::fs;
use std::process::Command;

use nix::unistd::{Gid, Pid, Uid};
use oci_spec::runtime::{Linux, LinuxIdMapping};

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
    let out = cmd.output().map_err(|source| Cause::Io { what: "run", path: program.into(), source })?;
    if !out.status.success() {
        return Err(Cause::Other(format!("{program}: {}", String::from_utf8_lossy(&out.stderr).trim())));
    }
    Ok(())
}
