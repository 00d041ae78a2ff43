//! The C `main` of the `berth` binary, which is `#![no_main]`: std's runtime
//! start-up (`lang_start`) is not linked, and with it goes its main-thread stack
//! guard, which asks glibc's `pthread_getattr_np` where the stack is — through
//! /proc/self/maps and `sscanf`. Statically linked (the release build, see the
//! Makefile), that is 130 kB of glibc and a read of /proc/self/maps at every
//! start left out. What std's start-up did that berth needs is done here: fds 0,
//! 1 and 2 are made open (on /dev/null) when the caller closed them, and SIGPIPE
//! is ignored, so a write to a closed pipe is an `EPIPE` error, not a kill. Left
//! out: the "has overflowed its stack" message (an overflow is a plain SIGSEGV)
//! and the name "main" of the main thread (a panic aborts in either case).
//! The arguments are read from main's argv ([`args`]): std's `env::args` is
//! filled by glibc through `.init_array`, but is empty with musl (the release
//! build: see the Makefile), which passes nothing there. With musl a panic also
//! aborts through [`abort_self`](super::process::abort_self), as musl's
//! `abort` would signal a stale thread id in a cloned child.

use std::ffi::{CStr, OsStr, OsString, c_char, c_int};
use std::os::fd::IntoRawFd;
use std::os::unix::ffi::OsStrExt;

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::sys::signal::{SigHandler, Signal, signal};
use nix::sys::stat::Mode;

/// Define the binary's C `main`: it runs [`start`], then `body` with the
/// arguments ([`args`]); `body` must end the process (`std::process::exit`,
/// which flushes stdout as std's runtime would). Used once, in
/// `src/bin/berth.rs`.
#[macro_export]
macro_rules! c_main {
    ($body:path) => {
        // SAFETY: the one `main` symbol of the binary (`#![no_main]`: std
        // defines none), with C's signature; libc's start-up calls it once.
        #[unsafe(no_mangle)]
        extern "C" fn main(argc: ::std::ffi::c_int, argv: *const *const ::std::ffi::c_char) -> ::std::ffi::c_int {
            $crate::__entry_start();
            // SAFETY: argc and argv as libc's start-up passes them to main.
            let args = unsafe { $crate::__entry_args(argc, argv) };
            $body(args);
            0
        }
    };
}

/// main's arguments, argv\[0\] first.
///
/// # Safety
/// `argv` points to `argc` valid NUL-terminated strings, as libc's start-up
/// passes them to main.
pub unsafe fn args(argc: c_int, argv: *const *const c_char) -> Vec<OsString> {
    (0..usize::try_from(argc).unwrap_or(0))
        .map(|i| {
            // SAFETY: i < argc, so argv[i] is one of the caller's valid C strings.
            let s = unsafe { CStr::from_ptr(*argv.add(i)) };
            OsStr::from_bytes(s.to_bytes()).to_os_string()
        })
        .collect()
}

/// What std's runtime does before `main` that berth relies on. Without
/// /dev/null to fill a closed stdio fd, it aborts as std's does: the next file
/// opened would take that fd and receive what berth prints.
pub fn start() {
    for fd in 0..=2 {
        if fcntl(fd, FcntlArg::F_GETFD) == Err(Errno::EBADF) {
            // The lowest free fd: this one, as the lower ones are open.
            match super::fd::open("/dev/null", OFlag::O_RDWR, Mode::empty()) {
                Ok(null) => _ = null.into_raw_fd(),
                Err(_) => std::process::abort(),
            }
        }
    }
    // SAFETY: SIG_IGN installs no handler, so no code of ours can run in signal
    // context; nothing else changes SIGPIPE's disposition concurrently (one thread).
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigIgn) };
    if cfg!(target_env = "musl") {
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            report(info);
            super::process::abort_self()
        }));
    }
}
