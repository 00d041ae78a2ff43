//! Scheduling of the calling process: I/O priority (ioprio_set) and scheduling
//! policy (sched_setattr), which nix does not wrap.

use nix::errno::Errno;

use super::{Error, Result};

/// ioprio_set(IOPRIO_WHO_PROCESS, 0, class << 13 | level): the I/O priority of the
/// calling thread (ioprio_set(2)).
pub fn set_io_priority(class: u32, level: u32) -> Result<()> {
    const IOPRIO_WHO_PROCESS: libc::c_int = 1;
    let value = ((class & 0x7) << 13) | (level & 0x1fff);
    // SAFETY: ioprio_set takes three integers and no pointers; `who` 0 means the
    // calling thread, so no other process is touched.
    // JUSTIFICATION: neither nix nor libc's bindings wrap ioprio_set.
    let ret = unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, value as libc::c_int) };
    if ret == -1 {
        return Err(Error::new("ioprio_set", Errno::last()));
    }
    Ok(())
}

/// The kernel's `struct sched_attr` (include/uapi/linux/sched/types.h), size 56
/// (SCHED_ATTR_SIZE_VER1, with the utilization clamps left at 0).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct SchedAttr {
    pub size: u32,
    pub policy: u32,
    pub flags: u64,
    pub nice: i32,
    pub priority: u32,
    pub runtime: u64,
    pub deadline: u64,
    pub period: u64,
    pub util_min: u32,
    pub util_max: u32,
}

/// sched_setattr(0, attr, 0): the scheduling policy of the calling thread.
pub fn set_sched_attr(attr: &SchedAttr) -> Result<()> {
    let mut a = *attr;
    a.size = std::mem::size_of::<SchedAttr>() as u32;
    // SAFETY: `a` is a live, properly aligned `struct sched_attr` whose `size`
    // field says how many bytes the kernel may read; the kernel only reads it.
    // pid 0 is the calling thread.
    // JUSTIFICATION: nix has sched_setscheduler-style helpers for neither
    // SCHED_DEADLINE nor the flags; only sched_setattr covers every policy.
    let ret = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &a as *const SchedAttr, 0) };
    if ret == -1 {
        return Err(Error::new("sched_setattr", Errno::last()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sched_attr_has_the_kernel_size() {
        assert_eq!(std::mem::size_of::<SchedAttr>(), 56);
    }
}
