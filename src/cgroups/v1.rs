//! cgroup v1 specifics: cpuset inheritance and the freezer.

use std::path::Path;
use std::time::Duration;

use super::dirs::{read, write};
use super::{CgroupError, FreezerState};

/// Every level from the hierarchy's `root` down to `dir` gets its parent's
/// cpus/mems where its own are empty, top first (runc's cpusetEnsureParent): a
/// level made by someone else without them (a pod's cgroup, made with mkdir)
/// would leave every level below empty, and a task joining one fails (ENOSPC).
pub(super) fn inherit_cpuset_path(root: &Path, dir: &Path) -> Result<(), CgroupError> {
    let Ok(rel) = dir.strip_prefix(root) else { return Ok(()) };
    let mut cur = root.to_path_buf();
    for c in rel.components() {
        cur.push(c);
        inherit_cpuset(&cur)?;
    }
    Ok(())
}

/// A new v1 cpuset cgroup has empty cpus/mems and refuses tasks until they are
/// set: copy the parent's.
fn inherit_cpuset(dir: &Path) -> Result<(), CgroupError> {
    let Some(parent) = dir.parent() else { return Ok(()) };
    for f in ["cpuset.cpus", "cpuset.mems"] {
        if read(&dir.join(f)).unwrap_or_default().is_empty() {
            let v = read(&parent.join(f)).unwrap_or_default();
            if !v.is_empty() {
                write(&dir.join(f), &v, &format!("{f} (copied from {parent:?})"))?;
            }
        }
    }
    Ok(())
}

/// Write freezer.state and wait until the kernel reports it (FREEZING settles to
/// FROZEN once every task stopped).
pub(super) fn freeze(dir: &Path, state: FreezerState) -> Result<(), CgroupError> {
    let want = match state {
        FreezerState::Frozen => "FROZEN",
        FreezerState::Thawed => "THAWED",
    };
    let file = dir.join("freezer.state");
    for i in 0..1000 {
        if i % 50 == 0 {
            write(&file, want, "freezer.state")?;
        }
        if read(&file).as_deref() == Some(want) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    // Do not leave a half-frozen cgroup behind.
    if state == FreezerState::Frozen {
        let _ = write(&file, "THAWED", "freezer.state");
    }
    Err(CgroupError::FreezeTimeout { path: file, state: want })
}
