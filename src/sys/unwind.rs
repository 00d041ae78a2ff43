//! The unwinder entry points the standard library links against, for a build
//! that never unwinds (`panic = "abort"`: the release `berth`). With these
//! defined here, nothing needs libgcc_s.so, and the linker (`--as-needed`)
//! leaves it out: one shared object fewer to map and relocate at every start
//! (see bench/RESULTS.md). Nothing is lost: a panic aborts without unwinding,
//! and the release build carries no unwind tables (`build.rs` discards
//! `.eh_frame`), so a backtrace (RUST_BACKTRACE, anyhow) already found no frame
//! and was empty; `_Unwind_Backtrace` now says so at once.
//!
//! Test builds unwind (the test harness needs it) and are compiled without
//! `panic = "abort"`, so this module is absent there and libgcc_s is linked as
//! usual.

use std::ffi::c_void;

/// `_URC_END_OF_STACK`: the walk found no (further) frame.
const END_OF_STACK: i32 = 5;

/// No frame to walk: the trace callback is never called.
// SAFETY: an unmangled definition of libgcc's `_Unwind_Backtrace`, with its C
// signature; no other definition is linked (libgcc_s is only linked when some
// `_Unwind_*` symbol stays undefined), and it touches no memory.
#[unsafe(no_mangle)]
pub extern "C" fn _Unwind_Backtrace(_trace: *mut c_void, _arg: *mut c_void) -> i32 {
    END_OF_STACK
}

/// Reached only by a landing pad resuming an unwind, which never starts.
// SAFETY: as `_Unwind_Backtrace`; it never returns, as libgcc's does not.
#[unsafe(no_mangle)]
pub extern "C" fn _Unwind_Resume(_exception: *mut c_void) -> ! {
    std::process::abort()
}

/// The context accessors, called only from a trace callback or a personality
/// routine, neither of which runs: no context exists to read.
macro_rules! no_context {
    ($($name:ident),*) => {$(
        // SAFETY: as `_Unwind_Backtrace`: libgcc's name and C signature
        // (context -> word), touching no memory.
        #[unsafe(no_mangle)]
        pub extern "C" fn $name(_context: *mut c_void) -> usize {
            0
        }
    )*};
}

no_context!(
    _Unwind_GetIP,
    _Unwind_GetCFA,
    _Unwind_GetRegionStart,
    _Unwind_GetTextRelBase,
    _Unwind_GetDataRelBase,
    _Unwind_GetLanguageSpecificData
);

/// As the accessors above, with libgcc's out-parameter (never written: never called).
// SAFETY: as `_Unwind_Backtrace`.
#[unsafe(no_mangle)]
pub extern "C" fn _Unwind_GetIPInfo(_context: *mut c_void, _before: *mut i32) -> usize {
    0
}

/// Setters for a personality routine's landing pad (never called).
// SAFETY: as `_Unwind_Backtrace`.
#[unsafe(no_mangle)]
pub extern "C" fn _Unwind_SetGR(_context: *mut c_void, _index: i32, _value: usize) {}

// SAFETY: as `_Unwind_Backtrace`.
#[unsafe(no_mangle)]
pub extern "C" fn _Unwind_SetIP(_context: *mut c_void, _value: usize) {}

/// No function is known to contain any address.
// SAFETY: as `_Unwind_Backtrace`.
#[unsafe(no_mangle)]
pub extern "C" fn _Unwind_FindEnclosingFunction(_pc: *mut c_void) -> *mut c_void {
    std::ptr::null_mut()
}
