//! seccomp: compile `linux.seccomp` into a classic-BPF program and load it.
//!
//! We generate the BPF ourselves rather than through seccompiler, whose filters
//! have one match action for the whole filter: an OCI profile has an action per
//! rule. Semantics follow libseccomp as runc uses it: a syscall's rules are tried
//! in profile order and the first whose argument conditions all hold gives the
//! action; otherwise `defaultAction`. Arguments compare as unsigned 64-bit values.
//!
//! Architectures: the filter is for x86_64. 32-bit x86 and x32 calls, when their
//! architectures are listed, get the default action (their numbering differs and
//! we do not translate rules to it); unlisted architectures are killed, as
//! libseccomp's bad-arch action does.

use oci_spec::runtime::{Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator};

use super::SecurityError;
use super::syscalls_x86_64::SYSCALLS;
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
    "SCMP_ACT_TRACE",
    "SCMP_ACT_TRAP",
];
/// Argument operators `compile` accepts.
pub const OPERATORS: &[&str] =
    &["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"];
/// Architectures a profile may name (others are rejected).
pub const ARCHS: &[&str] = &["SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32"];
/// Filter flags `load` supports.
pub const FLAGS: &[&str] = &["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC"];

const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const AUDIT_ARCH_I386: u32 = 0x4000_0003;
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

const RET_KILL_THREAD: u32 = 0x0000_0000;
const RET_KILL_PROCESS: u32 = 0x8000_0000;
const RET_TRAP: u32 = 0x0003_0000;
const RET_ERRNO: u32 = 0x0005_0000;
const RET_TRACE: u32 = 0x7ff0_0000;
const RET_LOG: u32 = 0x7ffc_0000;
const RET_ALLOW: u32 = 0x7fff_0000;

fn bad(field: impl Into<String>, reason: impl Into<String>) -> SecurityError {
    SecurityError::Seccomp { field: field.into(), reason: reason.into() }
}

/// The syscall number of `name` on x86_64.
pub fn syscall_number(name: &str) -> Option<i64> {
    SYSCALLS.binary_search_by(|(n, _)| n.cmp(&name)).ok().map(|i| SYSCALLS[i].1)
}

fn action(a: LinuxSeccompAction, errno: Option<u32>, field: &str) -> Result<u32, SecurityError> {
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
        LinuxSeccompAction::ScmpActNotify => {
            return Err(bad(field, "SCMP_ACT_NOTIFY is not supported (no seccomp agent support)"));
        }
    })
}

/// Compile the profile. A profile we cannot express is an error naming the field.
pub fn compile(profile: &LinuxSeccomp) -> Result<Filter, SecurityError> {
    let default = action(profile.default_action(), profile.default_errno_ret(), "linux.seccomp.defaultAction")?;
    let mut flags = 0;
    for f in profile.flags().as_deref().unwrap_or_default() {
        flags |= match f {
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => sc::FLAG_LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => sc::FLAG_TSYNC,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => sc::FLAG_SPEC_ALLOW,
            other => return Err(bad("linux.seccomp.flags", format!("{other:?} is not supported"))),
        };
    }
    let archs = profile.architectures().clone().unwrap_or_default();
    let mut allow_i386 = false;
    let mut allow_x32 = false;
    for (i, a) in archs.iter().enumerate() {
        match a {
            Arch::ScmpArchX86 => allow_i386 = true,
            Arch::ScmpArchX32 => allow_x32 = true,
            Arch::ScmpArchX86_64 | Arch::ScmpArchNative => {}
            // Other architectures never reach an x86_64 kernel's filter.
            _ => tracing::debug!(index = i, arch = ?a, "seccomp architecture not native, ignored"),
        }
    }

    // Rules per syscall number, in the order they first appear.
    let mut order: Vec<i64> = Vec::new();
    let mut rules: std::collections::HashMap<i64, Vec<Rule>> = std::collections::HashMap::new();
    for (si, sys) in profile.syscalls().as_deref().unwrap_or_default().iter().enumerate() {
        let field = format!("linux.seccomp.syscalls[{si}]");
        let ret = action(sys.action(), sys.errno_ret(), &format!("{field}.action"))?;
        let mut conds = Vec::new();
        for (ai, arg) in sys.args().as_deref().unwrap_or_default().iter().enumerate() {
            if arg.index() > 5 {
                return Err(bad(
                    format!("{field}.args[{ai}].index"),
                    format!("{} is not an argument index (0-5)", arg.index()),
                ));
            }
            conds.push(Cond {
                index: arg.index() as u32,
                op: arg.op(),
                value: arg.value(),
                value_two: arg.value_two().unwrap_or(0),
            });
        }
        for name in sys.names() {
            let Some(nr) = syscall_number(name) else {
                // libseccomp (and so runc) skips names this architecture lacks;
                // docker's default profile lists some.
                tracing::debug!(syscall = %name, "seccomp: unknown syscall, skipped");
                continue;
            };
            if !rules.contains_key(&nr) {
                order.push(nr);
            }
            rules.entry(nr).or_default().push(Rule { ret, conds: conds.clone() });
        }
    }

    let mut a = Asm::default();
    let (native, other, x32, dflt) = (a.label(), a.label(), a.label(), a.label());
    a.ld(4);
    a.jeq(AUDIT_ARCH_X86_64, native, other);
    a.bind(other);
    if allow_i386 {
        let next = a.label();
        a.jeq(AUDIT_ARCH_I386, dflt, next);
        a.bind(next);
    }
    a.ret(RET_KILL_THREAD);
    a.bind(native);
    a.ld(0);
    let x64 = a.label();
    a.jge(X32_SYSCALL_BIT, x32, x64);
    a.bind(x32);
    if allow_x32 {
        a.ja(dflt);
    } else {
        a.ret(RET_KILL_THREAD);
    }
    a.bind(x64);
    let bodies: Vec<(i64, usize)> = order.iter().map(|nr| (*nr, a.label())).collect();
    for (nr, body) in &bodies {
        let next = a.label();
        let skip = a.label();
        a.jeq(*nr as u32, next, skip);
        a.bind(next);
        a.ja(*body);
        a.bind(skip);
    }
    a.bind(dflt);
    a.ret(default);
    for (nr, body) in &bodies {
        a.bind(*body);
        for rule in &rules[nr] {
            if rule.conds.is_empty() {
                a.ret(rule.ret);
                break;
            }
            let fail = a.label();
            for c in &rule.conds {
                c.emit(&mut a, fail);
            }
            a.ret(rule.ret);
            a.bind(fail);
        }
        a.ret(default);
    }
    let program = a.assemble().map_err(|reason| bad("linux.seccomp", reason))?;
    Ok(Filter { program, flags })
}

/// Load `filter` into the calling thread (the last step before execve). The
/// caller has set no_new_privs or still holds CAP_SYS_ADMIN.
pub fn load(filter: &Filter) -> Result<(), SecurityError> {
    sc::set_mode_filter(&filter.program, filter.flags).map_err(|source| SecurityError::Sys { call: "seccomp", source })
}

#[derive(Debug, Clone)]
struct Rule {
    ret: u32,
    conds: Vec<Cond>,
}

#[derive(Debug, Clone)]
struct Cond {
    index: u32,
    op: LinuxSeccompOperator,
    value: u64,
    value_two: u64,
}

impl Cond {
    /// Code that falls through when the condition holds and jumps to `fail`
    /// otherwise. seccomp_data.args[i] is at 16 + 8i, low word first.
    fn emit(&self, a: &mut Asm, fail: usize) {
        let lo_off = 16 + 8 * self.index;
        let hi_off = lo_off + 4;
        let (vhi, vlo) = ((self.value >> 32) as u32, self.value as u32);
        let ok = a.label();
        let lo = a.label();
        use LinuxSeccompOperator as Op;
        match self.op {
            Op::ScmpCmpEq => {
                a.ld(hi_off);
                a.jeq(vhi, lo, fail);
                a.bind(lo);
                a.ld(lo_off);
                a.jeq(vlo, ok, fail);
            }
            Op::ScmpCmpNe => {
                a.ld(hi_off);
                a.jeq(vhi, lo, ok);
                a.bind(lo);
                a.ld(lo_off);
                a.jeq(vlo, fail, ok);
            }
            Op::ScmpCmpGt | Op::ScmpCmpGe => {
                let hi_eq = a.label();
                a.ld(hi_off);
                a.jgt(vhi, ok, hi_eq);
                a.bind(hi_eq);
                a.jeq(vhi, lo, fail);
                a.bind(lo);
                a.ld(lo_off);
                if self.op == Op::ScmpCmpGt { a.jgt(vlo, ok, fail) } else { a.jge(vlo, ok, fail) }
            }
            Op::ScmpCmpLt | Op::ScmpCmpLe => {
                let hi_eq = a.label();
                a.ld(hi_off);
                a.jgt(vhi, fail, hi_eq);
                a.bind(hi_eq);
                a.jeq(vhi, lo, ok);
                a.bind(lo);
                a.ld(lo_off);
                // LT fails when lo >= v; LE fails when lo > v.
                if self.op == Op::ScmpCmpLt { a.jge(vlo, fail, ok) } else { a.jgt(vlo, fail, ok) }
            }
            Op::ScmpCmpMaskedEq => {
                // runc: value is the mask, valueTwo the value compared with.
                let (mhi, mlo) = ((self.value >> 32) as u32, self.value as u32);
                let (whi, wlo) = ((self.value_two >> 32) as u32, self.value_two as u32);
                a.ld(hi_off);
                a.and(mhi);
                a.jeq(whi, lo, fail);
                a.bind(lo);
                a.ld(lo_off);
                a.and(mlo);
                a.jeq(wlo, ok, fail);
            }
        }
        a.bind(ok);
    }
}

/// A tiny assembler: instructions with symbolic jump targets, resolved at the end.
#[derive(Default)]
struct Asm {
    code: Vec<Ins>,
    labels: Vec<Option<usize>>,
}

enum Ins {
    Ld(u32),
    And(u32),
    Jmp { op: u16, k: u32, t: usize, f: usize },
    Ja(usize),
    Ret(u32),
}

const BPF_LD_W_ABS: u16 = 0x20;
const BPF_ALU_AND_K: u16 = 0x54;
const BPF_JEQ_K: u16 = 0x15;
const BPF_JGT_K: u16 = 0x25;
const BPF_JGE_K: u16 = 0x35;
const BPF_JA: u16 = 0x05;
const BPF_RET_K: u16 = 0x06;

impl Asm {
    fn label(&mut self) -> usize {
        self.labels.push(None);
        self.labels.len() - 1
    }
    fn bind(&mut self, l: usize) {
        self.labels[l] = Some(self.code.len());
    }
    fn ld(&mut self, off: u32) {
        self.code.push(Ins::Ld(off));
    }
    fn and(&mut self, k: u32) {
        self.code.push(Ins::And(k));
    }
    fn jeq(&mut self, k: u32, t: usize, f: usize) {
        self.code.push(Ins::Jmp { op: BPF_JEQ_K, k, t, f });
    }
    fn jgt(&mut self, k: u32, t: usize, f: usize) {
        self.code.push(Ins::Jmp { op: BPF_JGT_K, k, t, f });
    }
    fn jge(&mut self, k: u32, t: usize, f: usize) {
        self.code.push(Ins::Jmp { op: BPF_JGE_K, k, t, f });
    }
    fn ja(&mut self, l: usize) {
        self.code.push(Ins::Ja(l));
    }
    fn ret(&mut self, k: u32) {
        self.code.push(Ins::Ret(k));
    }

    fn assemble(&self) -> Result<Vec<SockFilter>, String> {
        let target = |l: usize, pc: usize| -> Result<usize, String> {
            let to = self.labels[l].ok_or("internal: unbound label")?;
            to.checked_sub(pc + 1).ok_or_else(|| "internal: backward jump".to_string())
        };
        let short =
            |off: usize| u8::try_from(off).map_err(|_| "profile too large: a conditional jump is over 255".to_string());
        let mut out = Vec::with_capacity(self.code.len());
        for (pc, ins) in self.code.iter().enumerate() {
            out.push(match *ins {
                Ins::Ld(off) => SockFilter { code: BPF_LD_W_ABS, jt: 0, jf: 0, k: off },
                Ins::And(k) => SockFilter { code: BPF_ALU_AND_K, jt: 0, jf: 0, k },
                Ins::Jmp { op, k, t, f } => {
                    SockFilter { code: op, jt: short(target(t, pc)?)?, jf: short(target(f, pc)?)?, k }
                }
                Ins::Ja(l) => SockFilter { code: BPF_JA, jt: 0, jf: 0, k: target(l, pc)? as u32 },
                Ins::Ret(k) => SockFilter { code: BPF_RET_K, jt: 0, jf: 0, k },
            });
        }
        if out.len() > 4096 {
            return Err(format!("profile too large: {} BPF instructions (the kernel takes 4096)", out.len()));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
