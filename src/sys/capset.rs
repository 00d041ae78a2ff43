//! capset(2) in one call, for the step after the seccomp filter is loaded: the
//! `caps` crate reads the sets back (capget) before each change, a call a strict
//! profile need not allow.

use nix::errno::Errno;

use super::{Error, Result};

/// `_LINUX_CAPABILITY_VERSION_3`: two 32-bit words per set.
const VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct Header {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct Data {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Set the calling thread's effective, permitted and inheritable sets (bit n is
/// capability n) with a single capset(2).
pub fn set(effective: u64, permitted: u64, inheritable: u64) -> Result<()> {
    let header = Header { version: VERSION_3, pid: 0 };
    let word = |shift: u32| Data {
        effective: (effective >> shift) as u32,
        permitted: (permitted >> shift) as u32,
        inheritable: (inheritable >> shift) as u32,
    };
    let data = [word(0), word(32)];
    // SAFETY: `header` and `data` are live repr(C) values laid out as the kernel's
    // __user_cap_header_struct and two __user_cap_data_struct (version 3 reads
    // exactly two); the kernel only reads them during the call.
    // JUSTIFICATION: nix has no capset wrapper, and the `caps` crate pairs each
    // capset with a capget.
    let ret = unsafe { libc::syscall(libc::SYS_capset, &header as *const Header, data.as_ptr()) };
    if ret == -1 {
        return Err(Error::new("capset", Errno::last()));
    }
    Ok(())
}
