//! seccomp(2) with SECCOMP_SET_MODE_FILTER and filter flags, and the notify fd's
//! ioctls (an agent's side: used by tests and any listener written in Rust).

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

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

/// Install `program` as a seccomp filter on the calling thread. With
/// [`FLAG_NEW_LISTENER`] the kernel returns the filter's notify fd (close-on-exec).
pub fn set_mode_filter(program: &[SockFilter], flags: u32) -> Result<Option<OwnedFd>> {
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
    if flags & FLAG_NEW_LISTENER == 0 {
        return Ok(None);
    }
    // SAFETY: with FLAG_NEW_LISTENER a successful call returns a new fd that
    // nothing else owns.
    Ok(Some(unsafe { OwnedFd::from_raw_fd(ret as RawFd) }))
}

/// One notification of a filter's notify fd (`struct seccomp_notif`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct Notif {
    pub id: u64,
    pub pid: u32,
    pub flags: u32,
    pub nr: i32,
    pub arch: u32,
    pub instruction_pointer: u64,
    pub args: [u64; 6],
}

/// The answer to a notification (`struct seccomp_notif_resp`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct NotifResp {
    pub id: u64,
    pub val: i64,
    pub error: i32,
    pub flags: u32,
}

/// _IOWR('!', 0, struct seccomp_notif) and _IOWR('!', 1, struct seccomp_notif_resp).
const IOCTL_NOTIF_RECV: libc::c_ulong = 0xc050_2100;
const IOCTL_NOTIF_SEND: libc::c_ulong = 0xc018_2101;

/// Wait for the next notification on a notify fd (a seccomp agent's side).
pub fn notif_recv(fd: BorrowedFd<'_>) -> Result<Notif> {
    let mut n = Notif::default();
    // SAFETY: `n` is a zeroed repr(C) seccomp_notif (80 bytes, as the ioctl
    // number encodes) that the kernel fills; `fd` is a live borrowed fd.
    // JUSTIFICATION: nix has no seccomp notify ioctls.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), IOCTL_NOTIF_RECV as _, &mut n as *mut Notif) };
    if ret == -1 {
        return Err(Error::new("ioctl SECCOMP_IOCTL_NOTIF_RECV", Errno::last()));
    }
    Ok(n)
}

/// Answer a notification (a seccomp agent's side).
pub fn notif_send(fd: BorrowedFd<'_>, resp: &NotifResp) -> Result<()> {
    // SAFETY: `resp` is a repr(C) seccomp_notif_resp (24 bytes, as the ioctl
    // number encodes), read by the kernel during the call; `fd` is live.
    // JUSTIFICATION: nix has no seccomp notify ioctls.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), IOCTL_NOTIF_SEND as _, resp as *const NotifResp) };
    if ret == -1 {
        return Err(Error::new("ioctl SECCOMP_IOCTL_NOTIF_SEND", Errno::last()));
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
