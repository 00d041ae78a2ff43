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

/// libseccomp, linked into the unit tests only: the reference the seccomp
/// compiler's differential test compares against (Debian's libseccomp-dev).
#[cfg(test)]
pub mod libseccomp {
    use std::ffi::{CString, c_char, c_int, c_uint, c_void};
    use std::io::{Read, Seek};
    use std::os::fd::AsRawFd;
    use std::ptr::NonNull;

    use super::SockFilter;

    /// `struct scmp_arg_cmp`.
    #[repr(C)]
    #[derive(Debug, Clone, Copy)]
    pub struct ArgCmp {
        pub arg: c_uint,
        /// `enum scmp_compare`: NE 1, LT 2, LE 3, EQ 4, GE 5, GT 6, MASKED_EQ 7.
        pub op: c_uint,
        pub datum_a: u64,
        pub datum_b: u64,
    }

    #[link(name = "seccomp")]
    unsafe extern "C" {
        fn seccomp_init(def_action: u32) -> *mut c_void;
        fn seccomp_release(ctx: *mut c_void);
        fn seccomp_arch_add(ctx: *mut c_void, arch_token: u32) -> c_int;
        fn seccomp_rule_add_array(
            ctx: *mut c_void,
            action: u32,
            syscall: c_int,
            arg_cnt: c_uint,
            arg_array: *const ArgCmp,
        ) -> c_int;
        fn seccomp_export_bpf(ctx: *mut c_void, fd: c_int) -> c_int;
        fn seccomp_syscall_resolve_name_arch(arch_token: u32, name: *const c_char) -> c_int;
    }

    /// A libseccomp filter context, released on drop.
    pub struct Ctx(NonNull<c_void>);

    impl Ctx {
        pub fn new(default_action: u32) -> Option<Ctx> {
            // SAFETY: seccomp_init takes a plain value and returns an owned context
            // or NULL; nothing else holds it.
            NonNull::new(unsafe { seccomp_init(default_action) }).map(Ctx)
        }

        /// Add an architecture (an AUDIT_ARCH_* token); a negative errno on failure.
        pub fn add_arch(&mut self, token: u32) -> Result<(), i32> {
            // SAFETY: `self.0` is a live context owned by us.
            let rc = unsafe { seccomp_arch_add(self.0.as_ptr(), token) };
            if rc < 0 { Err(rc) } else { Ok(()) }
        }

        /// Add a rule for `syscall` (a native number or libseccomp pseudo-number).
        pub fn add_rule(&mut self, action: u32, syscall: i32, conds: &[ArgCmp]) -> Result<(), i32> {
            let n = c_uint::try_from(conds.len()).map_err(|_| -libc::EINVAL)?;
            // SAFETY: `self.0` is a live context; `conds` is a live slice of `n`
            // repr(C) scmp_arg_cmp values, read during the call only.
            let rc = unsafe { seccomp_rule_add_array(self.0.as_ptr(), action, syscall, n, conds.as_ptr()) };
            if rc < 0 { Err(rc) } else { Ok(()) }
        }

        /// The filter as classic BPF, as libseccomp would load it.
        pub fn export(&self) -> Vec<SockFilter> {
            let mut file = tempfile::tempfile().expect("temp file for seccomp_export_bpf");
            // SAFETY: `self.0` is a live context; the fd is open for the call.
            let rc = unsafe { seccomp_export_bpf(self.0.as_ptr(), file.as_raw_fd()) };
            assert!(rc >= 0, "seccomp_export_bpf: {rc}");
            let mut bytes = Vec::new();
            file.rewind().and_then(|_| file.read_to_end(&mut bytes)).expect("read exported filter");
            bytes
                .chunks_exact(8)
                .map(|c| SockFilter {
                    code: u16::from_ne_bytes([c[0], c[1]]),
                    jt: c[2],
                    jf: c[3],
                    k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
                })
                .collect()
        }
    }

    impl Drop for Ctx {
        fn drop(&mut self) {
            // SAFETY: the context is ours and released once, here.
            unsafe { seccomp_release(self.0.as_ptr()) }
        }
    }

    /// libseccomp's number for `name` on `arch` (negative: a pseudo-number for a
    /// call the arch lacks); None if libseccomp does not know the name.
    pub fn resolve(arch: u32, name: &str) -> Option<i32> {
        let cname = CString::new(name).ok()?;
        // SAFETY: `cname` is NUL-terminated and alive for the call, which only reads it.
        let nr = unsafe { seccomp_syscall_resolve_name_arch(arch, cname.as_ptr()) };
        // __NR_SCMP_ERROR
        if nr == -1 { None } else { Some(nr) }
    }
}
