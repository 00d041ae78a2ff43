//! seccomp: compile `linux.seccomp` into a classic-BPF program and load it.
//!
//! We generate the BPF ourselves rather than through seccompiler, whose filters
//! have one match action for the whole filter: an OCI profile has an action per
//! rule. Semantics follow libseccomp as runc uses it: a syscall's rules are tried
//! in profile order and the first whose argument conditions all hold gives the
//! action; otherwise `defaultAction`. Arguments compare as unsigned 64-bit values.
//! As in runc, a rule whose action is the default action is dropped, and a name
//! an architecture does not have is skipped on that architecture (docker's and
//! podman's profiles list 32-bit-only calls).
//!
//! The program (asm.rs resolves its jumps, with long jumps where needed):
//!
//! ```text
//!   arch == x86_64 ? ── nr >= X32 bit ? ── x32 listed ? tree(x32) : kill
//!                  │                  └─ tree(x86_64)
//!   arch == i386 (listed) ? tree(i386)
//!   kill (the bad-arch action of libseccomp)
//! ```
//!
//! Each tree is a binary search over the ranges of syscall numbers that share a
//! body (the code that checks a syscall's rules): a profile that allows 370
//! calls has a few dozen ranges, so a call costs about six comparisons, and the
//! bodies are shared between calls and architectures when their rules are equal.
//! When the default action denies, numbers above every syscall the profile names
//! return ENOSYS, as runc's filter patch does, so that a libc probing a newer call
//! (clone3, …) falls back instead of failing.

mod asm;
mod listener;
mod program;

// The syscall tables and the architecture dispatch below are x86's. On another
// architecture every call would take the bad-architecture path and kill the
// container, so refuse to build rather than fail at run time.
#[cfg(not(target_arch = "x86_64"))]
compile_error!("berth's seccomp compiler has x86 syscall tables only (x86_64, i386, x32); add this architecture's");

use std::collections::HashMap;
use std::os::fd::AsFd;

use oci_spec::runtime::{Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator};

pub use self::listener::{Listener, connect_listener};
use super::SecurityError;
use super::syscalls::{Numbers, SYSCALLS};
use crate::sys::seccomp::{self as sc, SockFilter};

/// A compiled filter, ready to load.
#[derive(Debug, Clone)]
pub struct Filter {
    pub program: Vec<SockFilter>,
    /// SECCOMP_FILTER_FLAG_* bits from `linux.seccomp.flags`.
    pub flags: u32,
}

/// Actions `compile` accepts (for `berth features`).
pub const ACTIONS: &[&str] = &[
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_TRAP",
];
/// Argument operators `compile` accepts.
pub const OPERATORS: &[&str] =
    &["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"];
/// Architectures a profile may name that this filter serves; others never reach
/// an x86_64 kernel and are ignored.
pub const ARCHS: &[&str] = &["SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32"];
/// Filter flags `load` supports.
pub const FLAGS: &[&str] = &[
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];

const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const AUDIT_ARCH_I386: u32 = 0x4000_0003;
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

const RET_KILL_THREAD: u32 = 0x0000_0000;
const RET_KILL_PROCESS: u32 = 0x8000_0000;
const RET_TRAP: u32 = 0x0003_0000;
const RET_ERRNO: u32 = 0x0005_0000;
const RET_TRACE: u32 = 0x7ff0_0000;
const RET_LOG: u32 = 0x7ffc_0000;
const RET_USER_NOTIF: u32 = 0x7fc0_0000;
const RET_ALLOW: u32 = 0x7fff_0000;

fn bad(field: impl Into<String>, reason: impl Into<String>) -> SecurityError {
    SecurityError::Seccomp { field: field.into(), reason: reason.into() }
}

/// The x86 ABIs one x86_64 kernel runs, each with its own syscall numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Abi {
    X86_64 = 0,
    I386 = 1,
    X32 = 2,
}

impl Abi {
    /// Index into [`syscalls::Numbers`].
    fn column(self) -> usize {
        self as usize
    }

    #[cfg(test)]
    fn number(self, name: &str) -> Option<u32> {
        numbers(name).and_then(|n| self.of(n))
    }

    /// This ABI's number (as the filter sees it) out of a table row.
    fn of(self, n: &Numbers) -> Option<u32> {
        let nr = u32::try_from(n[self.column()]).ok()?;
        Some(if self == Abi::X32 { nr | X32_SYSCALL_BIT } else { nr })
    }
}

/// A name's numbers on every ABI, with one binary search.
fn numbers(name: &str) -> Option<&'static Numbers> {
    SYSCALLS.binary_search_by(|(n, _)| n.cmp(&name)).ok().map(|i| &SYSCALLS[i].1)
}

/// The syscall number of `name` on x86_64.
#[cfg(test)]
pub fn syscall_number(name: &str) -> Option<i64> {
    Abi::X86_64.number(name).map(i64::from)
}

fn action(a: LinuxSeccompAction, errno: Option<u32>, _field: impl FnOnce() -> String) -> Result<u32, SecurityError> {
    // runc's default return for ERRNO and TRACE is EPERM.
    let data = errno.unwrap_or(libc::EPERM as u32) & 0xffff;
    Ok(match a {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => RET_KILL_THREAD,
        LinuxSeccompAction::ScmpActKillProcess => RET_KILL_PROCESS,
        LinuxSeccompAction::ScmpActTrap => RET_TRAP,
        LinuxSeccompAction::ScmpActErrno => RET_ERRNO | data,
        LinuxSeccompAction::ScmpActTrace => RET_TRACE | data,
        LinuxSeccompAction::ScmpActLog => RET_LOG,
        LinuxSeccompAction::ScmpActAllow => RET_ALLOW,
        LinuxSeccompAction::ScmpActNotify => RET_USER_NOTIF,
    })
}

/// An argument comparison, as libseccomp's `scmp_compare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Cmp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    MaskedEq,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Cond {
    index: u32,
    op: Cmp,
    value: u64,
    value_two: u64,
}

/// One profile entry's action and conditions (shared by all its names).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Rule {
    ret: u32,
    conds: Vec<Cond>,
}

/// Compile the profile. A profile we cannot express is an error naming the field.
pub fn compile(profile: &LinuxSeccomp) -> Result<Filter, SecurityError> {
    let default =
        action(profile.default_action(), profile.default_errno_ret(), || "linux.seccomp.defaultAction".into())?;
    let mut flags = filter_flags(profile);
    if uses_notify(profile)? {
        flags |= sc::FLAG_NEW_LISTENER;
    }
    let abis = abis(profile)?;
    let rules = collect_rules(profile, &abis, default)?;
    let enosys_stub = !matches!(default, RET_ALLOW | RET_LOG) && (default & 0xffff_0000) != RET_TRACE;
    let mut bodies = program::Bodies::default();
    let trees: Vec<Vec<(u32, usize)>> = (rules.calls.iter().zip(&rules.highest).enumerate())
        .map(|(ai, (calls, highest))| {
            let stub_from = if enosys_stub { *highest } else { None };
            program::ranges(abis[ai], calls.clone(), stub_from, &rules.rules, &mut bodies)
        })
        .collect();
    let program = program::emit(&abis, &trees, &bodies.lists, &rules.rules, default)?;
    Ok(Filter { program, flags })
}

/// Whether a rule notifies a seccomp agent (SCMP_ACT_NOTIFY), with runc's rules:
/// never the default action (libseccomp refuses it), a `listenerPath` to send
/// the notify fd to, and not for `sendmsg`, the call that sends it (it runs
/// after the filter is loaded, and would wait for an agent that has no fd yet).
fn uses_notify(profile: &LinuxSeccomp) -> Result<bool, SecurityError> {
    if profile.default_action() == LinuxSeccompAction::ScmpActNotify {
        return Err(bad("linux.seccomp.defaultAction", "SCMP_ACT_NOTIFY cannot be the default action"));
    }
    let mut used = false;
    for (i, sys) in profile.syscalls().as_deref().unwrap_or_default().iter().enumerate() {
        if sys.action() != LinuxSeccompAction::ScmpActNotify {
            continue;
        }
        used = true;
        if let Some(j) = sys.names().iter().position(|n| n == "sendmsg") {
            let reason = "SCMP_ACT_NOTIFY cannot be used for sendmsg (it sends the notify fd to the listener)";
            return Err(bad(format!("linux.seccomp.syscalls[{i}].names[{j}]"), reason));
        }
    }
    if used && profile.listener_path().as_ref().is_none_or(|p| p.as_os_str().is_empty()) {
        return Err(bad("linux.seccomp.listenerPath", "must be set to use SCMP_ACT_NOTIFY"));
    }
    Ok(used)
}

/// SECCOMP_FILTER_FLAG_* bits of `linux.seccomp.flags`.
fn filter_flags(profile: &LinuxSeccomp) -> u32 {
    let mut flags = 0;
    for f in profile.flags().as_deref().unwrap_or_default() {
        flags |= match f {
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => sc::FLAG_LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => sc::FLAG_TSYNC,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => sc::FLAG_SPEC_ALLOW,
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => sc::FLAG_WAIT_KILLABLE_RECV,
        };
    }
    flags
}

/// The ABIs the filter serves: the native one always (as libseccomp), and the x86
/// ones the profile lists. Other architectures never reach an x86_64 kernel and
/// are skipped, but a list naming *only* others is a profile for another machine:
/// refused, rather than filtering an architecture it did not ask for.
fn abis(profile: &LinuxSeccomp) -> Result<Vec<Abi>, SecurityError> {
    let listed = profile.architectures().as_deref().unwrap_or_default();
    let mut abis = vec![Abi::X86_64];
    let mut foreign = Vec::new();
    for a in listed {
        let abi = match a {
            Arch::ScmpArchX86 => Abi::I386,
            Arch::ScmpArchX32 => Abi::X32,
            Arch::ScmpArchX86_64 | Arch::ScmpArchNative => Abi::X86_64,
            other => {
                foreign.push(format!("{other:?}"));
                continue;
            }
        };
        if !abis.contains(&abi) {
            abis.push(abi);
        }
    }
    if !listed.is_empty() && foreign.len() == listed.len() {
        return Err(bad(
            "linux.seccomp.architectures",
            format!("{} only: berth filters x86 (x86_64, i386, x32) only", foreign.join(", ")),
        ));
    }
    if !foreign.is_empty() {
        tracing::debug!(archs = ?foreign, "seccomp architectures not x86, ignored");
    }
    Ok(abis)
}

/// A profile entry's conditions as rules. As runc does (libcontainer/seccomp
/// `matchCall`): when two conditions test the same argument, every condition
/// becomes a rule of its own, so they are ORed; otherwise one rule ANDs them.
fn split_rule(ret: u32, conds: Vec<Cond>) -> Vec<Rule> {
    let repeated = conds.iter().enumerate().any(|(i, c)| conds[..i].iter().any(|d| d.index == c.index));
    if repeated { conds.into_iter().map(|c| Rule { ret, conds: vec![c] }).collect() } else { vec![Rule { ret, conds }] }
}

/// One profile entry's argument conditions, checked.
fn conditions(sys: &oci_spec::runtime::LinuxSyscall, field: &dyn Fn() -> String) -> Result<Vec<Cond>, SecurityError> {
    let mut conds = Vec::new();
    for (ai, arg) in sys.args().as_deref().unwrap_or_default().iter().enumerate() {
        if arg.index() > 5 {
            return Err(bad(
                format!("{}.args[{ai}].index", field()),
                format!("{} is not an argument index (0-5)", arg.index()),
            ));
        }
        let op = match arg.op() {
            LinuxSeccompOperator::ScmpCmpEq => Cmp::Eq,
            LinuxSeccompOperator::ScmpCmpNe => Cmp::Ne,
            LinuxSeccompOperator::ScmpCmpGt => Cmp::Gt,
            LinuxSeccompOperator::ScmpCmpGe => Cmp::Ge,
            LinuxSeccompOperator::ScmpCmpLt => Cmp::Lt,
            LinuxSeccompOperator::ScmpCmpLe => Cmp::Le,
            LinuxSeccompOperator::ScmpCmpMaskedEq => Cmp::MaskedEq,
        };
        conds.push(Cond { index: arg.index() as u32, op, value: arg.value(), value_two: arg.value_two().unwrap_or(0) });
    }
    Ok(conds)
}

/// The profile's rules, deduplicated, and per ABI its (number, rule id) pairs in
/// profile order, with the highest number each ABI's profile names.
struct Rules {
    rules: Vec<Rule>,
    calls: Vec<Vec<(u32, usize)>>,
    highest: Vec<Option<u32>>,
}

fn collect_rules(profile: &LinuxSeccomp, abis: &[Abi], default: u32) -> Result<Rules, SecurityError> {
    let mut out = Rules { rules: Vec::new(), calls: vec![Vec::new(); abis.len()], highest: vec![None; abis.len()] };
    let mut rule_ids: HashMap<Rule, usize> = HashMap::new();
    for (si, sys) in profile.syscalls().as_deref().unwrap_or_default().iter().enumerate() {
        let field = || format!("linux.seccomp.syscalls[{si}]");
        let ret = action(sys.action(), sys.errno_ret(), || format!("{}.action", field()))?;
        let rules = split_rule(ret, conditions(sys, &field)?);
        let rows: Vec<&Numbers> = sys.names().iter().filter_map(|n| numbers(n)).collect();
        for (ai, abi) in abis.iter().enumerate() {
            let known: Vec<u32> = rows.iter().filter_map(|n| abi.of(n)).collect();
            if let Some(max) = known.iter().max() {
                out.highest[ai] = out.highest[ai].max(Some(*max));
            }
            // runc drops a rule whose action is the default (libseccomp refuses it).
            if ret == default || known.is_empty() {
                continue;
            }
            for rule in &rules {
                let id = *rule_ids.entry(rule.clone()).or_insert_with(|| {
                    out.rules.push(rule.clone());
                    out.rules.len() - 1
                });
                out.calls[ai].extend(known.iter().map(|nr| (*nr, id)));
            }
        }
        if rows.len() < sys.names().len() && tracing::enabled!(tracing::Level::DEBUG) {
            for n in sys.names().iter().filter(|n| numbers(n).is_none()) {
                // libseccomp (and so runc) skips names it does not know.
                tracing::debug!(syscall = %n, "seccomp: unknown syscall, skipped");
            }
        }
    }
    Ok(out)
}

/// Load `filter` into the calling thread (the last step before execve). The
/// caller has set no_new_privs or still holds CAP_SYS_ADMIN. A filter that
/// notifies gets its notify fd sent to `listener` (see [`Listener`]).
pub fn load(filter: &Filter, listener: Option<&Listener>) -> Result<(), SecurityError> {
    let notify = sc::set_mode_filter(&filter.program, filter.flags)
        .map_err(|source| SecurityError::Sys { call: "seccomp", source })?;
    match (notify, listener) {
        (Some(fd), Some(l)) => crate::sys::fd::send_fd(l.socket.as_fd(), &l.message, fd.as_fd()).map_err(|source| {
            SecurityError::Sys { call: "linux.seccomp.listenerPath: send the seccomp notify fd", source }
        }),
        (Some(_), None) => Err(bad("linux.seccomp.listenerPath", "no listener to send the notify fd to")),
        (None, _) => Ok(()),
    }
}

#[cfg(test)]
mod tests;
