//! seccomp(2) with SECCOMP_SET_MODE_FILTER and filter flags.

use nix::errno::Errno;

use super::{Error, Result};

/// One classic-BPF instruction (`struct sock_filter`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SockFilter {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

#[repr(C)]
struct SockFprog {
    len: u16,
    filter: *const SockFilter,
}

pub const FLAG_TSYNC: u32 = 1;
pub const FLAG_LOG: u32 = 2;
pub const FLAG_SPEC_ALLOW: u32 = 4;
pub const FLAG_NEW_LISTENER: u32 = 8;
pub const FLAG_WAIT_KILLABLE_RECV: u32 = 32;

/// Install `program` as a seccomp filter on the calling thread.
pub fn set_mode_filter(program: &[SockFilter], flags: u32) -> Result<()> {
    let len = u16::try_from(program.len()).map_err(|_| Error::new("seccomp (program too long)", Errno::EINVAL))?;
    let prog = SockFprog { len, filter: program.as_ptr() };
    // SAFETY: `prog` points at `program`, a live slice of `len` repr(C)
    // sock_filter instructions, for the duration of the call; the kernel copies the
    // program and keeps no pointer to our memory.
    // JUSTIFICATION: nix has no seccomp(2) wrapper.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags as libc::c_ulong,
            &prog as *const SockFprog,
        )
    };
    if ret == -1 {
        return Err(Error::new("seccomp SECCOMP_SET_MODE_FILTER", Errno::last()));
    }
    Ok(())
}
