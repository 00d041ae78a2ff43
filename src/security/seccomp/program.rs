//! The BPF program of a compiled profile: the architecture dispatch, a binary
//! search tree per ABI over ranges of syscall numbers, and the bodies that check
//! a syscall's rules (see the parent module's picture).

use std::collections::HashMap;

use super::asm::{Asm, Label};
use super::{
    AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, Abi, Cmp, Cond, RET_ERRNO, RET_KILL_THREAD, Rule, X32_SYSCALL_BIT, bad,
};
use crate::security::SecurityError;
use crate::sys::seccomp::SockFilter;

/// Bodies: distinct lists of rule ids. Body 0 is the default action and body 1
/// ENOSYS for calls newer than the profile.
pub(super) struct Bodies {
    pub(super) lists: Vec<Vec<usize>>,
    ids: HashMap<Vec<usize>, usize>,
}

impl Default for Bodies {
    fn default() -> Self {
        Bodies { lists: vec![Vec::new(), Vec::new()], ids: HashMap::new() }
    }
}

impl Bodies {
    fn id(&mut self, rules: &[usize]) -> usize {
        if let Some(b) = self.ids.get(rules) {
            return *b;
        }
        self.lists.push(rules.to_vec());
        self.ids.insert(rules.to_vec(), self.lists.len() - 1);
        self.lists.len() - 1
    }
}

/// One ABI's ranges of syscall numbers, each with its body, covering
/// [base, u32::MAX]; from `stub_from + 1` on, ENOSYS (body 1).
pub(super) fn ranges(
    abi: Abi,
    mut list: Vec<(u32, usize)>,
    stub_from: Option<u32>,
    rules: &[Rule],
    bodies: &mut Bodies,
) -> Vec<(u32, usize)> {
    // Stable: a syscall's rules stay in profile order.
    list.sort_by_key(|(nr, _)| *nr);
    let base = if abi == Abi::X32 { X32_SYSCALL_BIT } else { 0 };
    let mut ranges: Vec<(u32, usize)> = vec![(base, 0)];
    // A new start replaces a range that would be empty, and a body equal to the
    // previous range's extends it.
    let mut push = |start: u32, body: usize| {
        if ranges.last().is_some_and(|last| last.0 == start) {
            ranges.pop();
        }
        if ranges.last().is_none_or(|last| last.1 != body) {
            ranges.push((start, body));
        }
    };
    let mut i = 0;
    let mut ids = Vec::new();
    while i < list.len() {
        let nr = list[i].0;
        ids.clear();
        while i < list.len() && list[i].0 == nr {
            if !ids.contains(&list[i].1) {
                ids.push(list[i].1);
            }
            i += 1;
        }
        // Rules after an unconditional one can never match.
        if let Some(p) = ids.iter().position(|id| rules[*id].conds.is_empty()) {
            ids.truncate(p + 1);
        }
        push(nr, bodies.id(&ids));
        if let Some(after) = nr.checked_add(1) {
            push(after, 0);
        }
    }
    if let Some(h) = stub_from.and_then(|h| h.checked_add(1)) {
        push(h.max(base), 1);
    }
    ranges
}

/// The program: the architecture dispatch, one tree per ABI, then the bodies.
pub(super) fn emit(
    abis: &[Abi],
    trees: &[Vec<(u32, usize)>],
    bodies: &[Vec<usize>],
    rules: &[Rule],
    default: u32,
) -> Result<Vec<SockFilter>, SecurityError> {
    let mut a = Asm::default();
    let body_labels: Vec<Label> = bodies.iter().map(|_| a.label()).collect();
    let tree_labels: Vec<Label> = abis.iter().map(|_| a.label()).collect();
    // Jumps only go forward: the x32 check in the x86_64 tree needs its own kill.
    let bad_x32 = a.label();
    let tree_of = |abi: Abi| abis.iter().position(|x| *x == abi).map(|i| tree_labels[i]);

    a.ld(4);
    let not_x86_64 = a.label();
    a.jeq(AUDIT_ARCH_X86_64, tree_labels[0], not_x86_64);
    a.bind(not_x86_64);
    if let Some(l) = tree_of(Abi::I386) {
        let next = a.label();
        a.jeq(AUDIT_ARCH_I386, l, next);
        a.bind(next);
    }
    a.ret(RET_KILL_THREAD);
    for (ai, abi) in abis.iter().enumerate() {
        a.bind(tree_labels[ai]);
        a.ld(0);
        if *abi == Abi::X86_64 {
            // x32 calls come in through the x86_64 entry with the X32 bit set.
            let native = a.label();
            a.jge(X32_SYSCALL_BIT, tree_of(Abi::X32).unwrap_or(bad_x32), native);
            a.bind(native);
        }
        emit_tree(&mut a, &trees[ai], &body_labels);
    }
    for (bi, ids) in bodies.iter().enumerate() {
        a.bind(body_labels[bi]);
        match bi {
            0 => a.ret(default),
            1 => a.ret(RET_ERRNO | libc::ENOSYS as u32),
            _ => emit_body(&mut a, ids.iter().map(|id| &rules[*id]), default),
        }
    }
    a.bind(bad_x32);
    a.ret(RET_KILL_THREAD);
    a.assemble().map_err(|reason| bad("linux.seccomp", reason))
}

/// A binary search over `ranges` (sorted starts, each with its body), with the
/// syscall number in the accumulator. A leaf is the body itself, so the jumps of
/// the last level go straight to it.
fn emit_tree(a: &mut Asm, ranges: &[(u32, usize)], bodies: &[Label]) {
    if ranges.len() == 1 {
        a.ja(bodies[ranges[0].1]);
        return;
    }
    let mid = ranges.len() / 2;
    let (left, right) = ranges.split_at(mid);
    let mut target = |r: &[(u32, usize)]| if r.len() == 1 { bodies[r[0].1] } else { a.label() };
    let (lt, rt) = (target(left), target(right));
    a.jge(right[0].0, rt, lt);
    if left.len() > 1 {
        a.bind(lt);
        emit_tree(a, left, bodies);
    }
    if right.len() > 1 {
        a.bind(rt);
        emit_tree(a, right, bodies);
    }
}

/// A syscall's rules in order: the first whose conditions all hold returns its
/// action; if none does, the default action.
fn emit_body<'r>(a: &mut Asm, rules: impl Iterator<Item = &'r Rule>, default: u32) {
    for rule in rules {
        if rule.conds.is_empty() {
            a.ret(rule.ret);
            return;
        }
        let fail = a.label();
        for c in &rule.conds {
            c.emit(a, fail);
        }
        a.ret(rule.ret);
        a.bind(fail);
    }
    a.ret(default);
}

impl Cond {
    /// Code that falls through when the condition holds and jumps to `fail`
    /// otherwise. seccomp_data.args[i] is at 16 + 8i, low word first.
    fn emit(&self, a: &mut Asm, fail: Label) {
        let lo_off = 16 + 8 * self.index;
        let hi_off = lo_off + 4;
        let (vhi, vlo) = ((self.value >> 32) as u32, self.value as u32);
        let ok = a.label();
        let lo = a.label();
        match self.op {
            Cmp::Eq => {
                a.ld(hi_off);
                a.jeq(vhi, lo, fail);
                a.bind(lo);
                a.ld(lo_off);
                a.jeq(vlo, ok, fail);
            }
            Cmp::Ne => {
                a.ld(hi_off);
                a.jeq(vhi, lo, ok);
                a.bind(lo);
                a.ld(lo_off);
                a.jeq(vlo, fail, ok);
            }
            Cmp::Gt | Cmp::Ge => {
                let hi_eq = a.label();
                a.ld(hi_off);
                a.jgt(vhi, ok, hi_eq);
                a.bind(hi_eq);
                a.jeq(vhi, lo, fail);
                a.bind(lo);
                a.ld(lo_off);
                if self.op == Cmp::Gt { a.jgt(vlo, ok, fail) } else { a.jge(vlo, ok, fail) }
            }
            Cmp::Lt | Cmp::Le => {
                let hi_eq = a.label();
                a.ld(hi_off);
                a.jgt(vhi, fail, hi_eq);
                a.bind(hi_eq);
                a.jeq(vhi, lo, ok);
                a.bind(lo);
                a.ld(lo_off);
                // LT fails when lo >= v; LE fails when lo > v.
                if self.op == Cmp::Lt { a.jge(vlo, fail, ok) } else { a.jgt(vlo, fail, ok) }
            }
            Cmp::MaskedEq => {
                // runc: value is the mask, valueTwo the value compared with. Bits of
                // valueTwo outside the mask can never be set in (arg & mask);
                // libseccomp masks them off too, so the rule still matches.
                let want = self.value_two & self.value;
                let (mhi, mlo) = ((self.value >> 32) as u32, self.value as u32);
                let (whi, wlo) = ((want >> 32) as u32, want as u32);
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
