//! cgroup v1 specifics: cpuset inheritance and the freezer.

use std::path::Path;
use std::time::Duration;

use super::dirs::{read, write};
use super::{CgroupError, FreezerState};

/// A new v1 cpuset cgroup has empty cpus/mems and refuses tasks until they are
/// set: copy the parent's.
pub(super) fn inherit_cpuset(dir: &Path) -> Result<(), CgroupError> {
    let Some(parent) = dir.parent() else { return Ok(()) };
    for f in ["cpuset.cpus", "cpuset.mems"] {
        if read(&dir.join(f)).unwrap_or_default().is_empty() {
            let v = read(&parent.join(f)).unwrap_or_default();
            if !v.is_empty() {
                write(&dir.join(f), &v, f)?;
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
