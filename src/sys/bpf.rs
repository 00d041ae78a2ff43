//! bpf(2) for cgroup v2 device programs: load a `BPF_PROG_TYPE_CGROUP_DEVICE`
//! program, attach it to a cgroup directory, list and detach what is attached.
//! The program itself is built by `cgroups::devices`; this file only moves bytes
//! to the kernel. Layouts follow `union bpf_attr` in include/uapi/linux/bpf.h:
//! each command reads only its own leading fields, and a shorter struct is fine
//! because the kernel treats the missing tail as zero.

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::errno::Errno;

use super::{Error, Result};

/// One eBPF instruction (`struct bpf_insn`): opcode, dst/src registers packed in
/// one byte (dst in the low nibble), a 16-bit offset and a 32-bit immediate.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    pub const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        Insn { code, regs: (src << 4) | (dst & 0x0f), off, imm }
    }

    #[cfg(test)]
    pub fn dst(&self) -> usize {
        usize::from(self.regs & 0x0f)
    }

    #[cfg(test)]
    pub fn src(&self) -> usize {
        usize::from(self.regs >> 4)
    }
}

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_DETACH: libc::c_long = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_PROG_QUERY: libc::c_long = 16;

const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
/// Several programs may be attached to one cgroup; all must allow an access.
pub const BPF_F_ALLOW_MULTI: u32 = 2;

#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

#[repr(C)]
#[derive(Default)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
}

#[repr(C)]
#[derive(Default)]
struct GetFdByIdAttr {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

/// bpf(cmd, attr, size) for one of the attr structs above.
///
/// # Safety
/// `attr` must be the struct the kernel reads for `cmd`, and every pointer in it
/// must point at memory that lives (and, for out-buffers, is writable) for the call.
unsafe fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> libc::c_long {
    // SAFETY: the caller guarantees `attr` matches `cmd` and its pointers are valid;
    // the size passed is exactly that of `T`, so the kernel reads and writes only
    // within `*attr`.
    unsafe { libc::syscall(libc::SYS_bpf, cmd, attr as *mut T, std::mem::size_of::<T>()) }
}

/// Load `insns` as a cgroup device program; the returned fd keeps it alive.
pub fn load_cgroup_device(insns: &[Insn], license: &std::ffi::CStr) -> Result<OwnedFd> {
    let insn_cnt = u32::try_from(insns.len()).map_err(|_| Error::new("bpf BPF_PROG_LOAD (too long)", Errno::E2BIG))?;
    let mut name = [0u8; 16];
    name[..6].copy_from_slice(b"berthd");
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        prog_name: name,
        expected_attach_type: BPF_CGROUP_DEVICE,
        ..Default::default()
    };
    // SAFETY: `attr` is the BPF_PROG_LOAD layout; `insns` (repr(C) bpf_insn, `insn_cnt`
    // long) and the NUL-terminated `license` outlive the call, and the kernel copies
    // both. No log buffer is passed (log_size 0).
    // JUSTIFICATION: nix has no bpf(2) wrapper.
    let ret = unsafe { bpf(BPF_PROG_LOAD, &mut attr) };
    if ret < 0 {
        return Err(Error::new("bpf BPF_PROG_LOAD", Errno::last()));
    }
    let fd = i32::try_from(ret).map_err(|_| Error::new("bpf BPF_PROG_LOAD", Errno::EBADF))?;
    // SAFETY: a successful BPF_PROG_LOAD returns a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn attach_attr(cgroup: BorrowedFd<'_>, prog: BorrowedFd<'_>, flags: u32) -> Result<AttachAttr> {
    let fd = |f: BorrowedFd<'_>| u32::try_from(f.as_raw_fd()).map_err(|_| Error::new("bpf", Errno::EBADF));
    Ok(AttachAttr {
        target_fd: fd(cgroup)?,
        attach_bpf_fd: fd(prog)?,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: flags,
        replace_bpf_fd: 0,
    })
}

/// Attach a device program to the cgroup directory `cgroup` (an O_DIRECTORY fd).
pub fn attach_cgroup_device(cgroup: BorrowedFd<'_>, prog: BorrowedFd<'_>, flags: u32) -> Result<()> {
    let mut attr = attach_attr(cgroup, prog, flags)?;
    // SAFETY: `attr` is the BPF_PROG_ATTACH layout and holds no pointers; both fds
    // are borrowed, so they stay open for the call.
    // JUSTIFICATION: nix has no bpf(2) wrapper.
    if unsafe { bpf(BPF_PROG_ATTACH, &mut attr) } < 0 {
        return Err(Error::new("bpf BPF_PROG_ATTACH", Errno::last()));
    }
    Ok(())
}

/// Detach the device program `prog` from the cgroup directory `cgroup`.
pub fn detach_cgroup_device(cgroup: BorrowedFd<'_>, prog: BorrowedFd<'_>) -> Result<()> {
    let mut attr = attach_attr(cgroup, prog, 0)?;
    // SAFETY: `attr` is the BPF_PROG_DETACH layout (the same as attach) and holds no
    // pointers; both fds are borrowed, so they stay open for the call.
    // JUSTIFICATION: nix has no bpf(2) wrapper.
    if unsafe { bpf(BPF_PROG_DETACH, &mut attr) } < 0 {
        return Err(Error::new("bpf BPF_PROG_DETACH", Errno::last()));
    }
    Ok(())
}

/// The ids of the device programs attached directly to `cgroup`.
pub fn query_cgroup_device(cgroup: BorrowedFd<'_>) -> Result<Vec<u32>> {
    let target_fd = u32::try_from(cgroup.as_raw_fd()).map_err(|_| Error::new("bpf", Errno::EBADF))?;
    // A cgroup holds at most 64 programs per attach type (BPF_CGROUP_MAX_PROGS).
    let mut ids = vec![0u32; 64];
    let mut attr = QueryAttr {
        target_fd,
        attach_type: BPF_CGROUP_DEVICE,
        prog_ids: ids.as_mut_ptr() as u64,
        prog_cnt: 64,
        ..Default::default()
    };
    // SAFETY: `attr` is the BPF_PROG_QUERY layout; `prog_ids` points at `ids`, a
    // writable buffer of `prog_cnt` u32s that lives past the call; the kernel writes
    // at most that many ids and the count back into `attr`.
    // JUSTIFICATION: nix has no bpf(2) wrapper.
    if unsafe { bpf(BPF_PROG_QUERY, &mut attr) } < 0 {
        return Err(Error::new("bpf BPF_PROG_QUERY", Errno::last()));
    }
    ids.truncate(attr.prog_cnt.min(64) as usize);
    Ok(ids)
}

/// An fd for the loaded program with id `id` (to detach it).
pub fn prog_fd_by_id(id: u32) -> Result<OwnedFd> {
    let mut attr = GetFdByIdAttr { prog_id: id, ..Default::default() };
    // SAFETY: `attr` is the BPF_PROG_GET_FD_BY_ID layout and holds no pointers.
    // JUSTIFICATION: nix has no bpf(2) wrapper.
    let ret = unsafe { bpf(BPF_PROG_GET_FD_BY_ID, &mut attr) };
    if ret < 0 {
        return Err(Error::new("bpf BPF_PROG_GET_FD_BY_ID", Errno::last()));
    }
    let fd = i32::try_from(ret).map_err(|_| Error::new("bpf BPF_PROG_GET_FD_BY_ID", Errno::EBADF))?;
    // SAFETY: a successful BPF_PROG_GET_FD_BY_ID returns a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_layouts_match_the_kernel() {
        // Offsets of union bpf_attr fields in include/uapi/linux/bpf.h.
        assert_eq!(std::mem::offset_of!(ProgLoadAttr, insns), 8);
        assert_eq!(std::mem::offset_of!(ProgLoadAttr, log_buf), 32);
        assert_eq!(std::mem::offset_of!(ProgLoadAttr, prog_name), 48);
        assert_eq!(std::mem::offset_of!(ProgLoadAttr, expected_attach_type), 68);
        assert_eq!(std::mem::offset_of!(QueryAttr, prog_ids), 16);
        assert_eq!(std::mem::offset_of!(QueryAttr, prog_cnt), 24);
        assert_eq!(std::mem::size_of::<Insn>(), 8);
        assert_eq!(Insn::new(0x61, 2, 1, 0, 0).regs, 0x12);
    }
}
