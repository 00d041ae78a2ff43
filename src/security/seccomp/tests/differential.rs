//! Differential test against libseccomp, the library runc builds its filters with:
//! random profiles compiled by both (libseccomp's rules added as runc's
//! `matchCall` adds them), random calls with random arguments through both
//! programs (libseccomp's exported with `seccomp_export_bpf`), the same action
//! expected. runc patches libseccomp's program so that calls newer than the
//! profile return ENOSYS when the default action denies; that patch is applied
//! to the expected action here, since our compiler builds it in.
//!
//! Each syscall gets one action per profile: with different actions on one call,
//! which rule wins in libseccomp depends on its internal tree, not on the
//! profile's order, so there is no single answer to compare with.
//!
//! A third opinion settles disagreements: `model`, the rules evaluated directly
//! (a rule holds when all its conditions do; a call whose rule holds gets its
//! action). Our program must always agree with it. libseccomp 2.5.4 (Debian
//! bookworm) miscompiles some filters through its accumulator tracking, which
//! skips loads it believes redundant: with ORed rules on one argument it reuses
//! a loaded low word as the next rule's high word (`arg0 < 0 || arg0 >= 1<<32`
//! holds for arg0 = 1), and with x32 and pseudo-numbered i386-only calls in one
//! filter it compares the x32 numbers against the architecture word, never
//! loading the number. So: on simple profiles (x86_64 only, one rule per call)
//! libseccomp and we must agree on every call; on the full mix, a call may
//! differ from libseccomp only where the model sides with us, on under 2% of calls.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::{Data, run};
use crate::security::seccomp::*;
use crate::security::syscalls::SYSCALLS;
use crate::sys::seccomp::libseccomp::{self, ArgCmp, Ctx};

const AUDIT_ARCH_X32: u32 = 0x4000_003e;
const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;

/// xorshift64*: reproducible without a crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// OCI action names with their return values (ERRNO and TRACE get data below).
const ACTIONS: &[(&str, u32)] = &[
    ("SCMP_ACT_ALLOW", RET_ALLOW),
    ("SCMP_ACT_ERRNO", RET_ERRNO),
    ("SCMP_ACT_KILL_PROCESS", RET_KILL_PROCESS),
    ("SCMP_ACT_KILL", RET_KILL_THREAD),
    ("SCMP_ACT_TRAP", RET_TRAP),
    ("SCMP_ACT_LOG", RET_LOG),
    ("SCMP_ACT_TRACE", RET_TRACE),
];

/// OCI operator names with libseccomp's `enum scmp_compare`.
const OPS: &[(&str, u32)] = &[
    ("SCMP_CMP_NE", 1),
    ("SCMP_CMP_LT", 2),
    ("SCMP_CMP_LE", 3),
    ("SCMP_CMP_EQ", 4),
    ("SCMP_CMP_GE", 5),
    ("SCMP_CMP_GT", 6),
    ("SCMP_CMP_MASKED_EQ", 7),
];

/// Values where comparisons change their answer: word boundaries, extremes.
const EDGES: &[u64] = &[0, 1, 2, 7, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0x1_0000_0000, 0x1_0000_0005, u64::MAX];

/// An action with its data, as (OCI JSON fields, return value).
fn random_action(rng: &mut Rng, not: Option<u32>) -> (String, Option<u32>, u32) {
    loop {
        let (name, ret) = *rng.pick(ACTIONS);
        let errno = matches!(ret, RET_ERRNO | RET_TRACE).then(|| 1 + rng.below(120) as u32);
        let ret = ret | errno.unwrap_or(0);
        // One action per call kind: never the default's kind, so no rule is dropped.
        if not.is_none_or(|d| (d & 0xffff_0000) != (ret & 0xffff_0000)) {
            return (name.to_string(), errno, ret);
        }
    }
}

fn random_value(rng: &mut Rng, narrow: bool) -> u64 {
    let v = if rng.chance(70) { *rng.pick(EDGES) } else { rng.next() };
    if narrow { v & 0xffff_ffff } else { v }
}

/// The ABIs' audit tokens and our table columns.
#[derive(Clone, Copy, PartialEq)]
enum Which {
    X86_64,
    I386,
    X32,
}

impl Which {
    fn column(self) -> usize {
        match self {
            Which::X86_64 => 0,
            Which::I386 => 1,
            Which::X32 => 2,
        }
    }

    fn number(self, name: &str) -> Option<u32> {
        let row = &SYSCALLS[SYSCALLS.binary_search_by(|(n, _)| n.cmp(&name)).ok()?].1;
        let nr = u32::try_from(row[self.column()]).ok()?;
        Some(if self == Which::X32 { nr | X32_SYSCALL_BIT } else { nr })
    }
}

/// A profile entry: its names, action, and rules as runc gives them to libseccomp.
type Entry = (Vec<&'static str>, u32, Vec<Vec<ArgCmp>>);

/// One random profile as OCI JSON and as a libseccomp context, with the names
/// it uses. None when libseccomp refuses a rule (runc would fail create).
struct Case {
    json: Value,
    ctx: Ctx,
    names: Vec<&'static str>,
    default: u32,
    abis: Vec<Which>,
    values: Vec<u64>,
    /// (names, action, rules as runc gives them to libseccomp).
    entries: Vec<Entry>,
}

/// A random profile; `simple`: x86_64 only, no argument tested twice, each call
/// in one entry at most (nothing libseccomp ORs).
fn random_case(rng: &mut Rng, pool: &[(&'static str, i32)], simple: bool) -> Option<Case> {
    let (dname, derrno, default) = random_action(rng, None);
    let mut ctx = Ctx::new(default).expect("seccomp_init");
    let mut abis = vec![Which::X86_64];
    let mut archs = vec![json!("SCMP_ARCH_X86_64")];
    for (which, name, token) in
        [(Which::I386, "SCMP_ARCH_X86", AUDIT_ARCH_I386), (Which::X32, "SCMP_ARCH_X32", AUDIT_ARCH_X32)]
    {
        if !simple && rng.chance(40) {
            abis.push(which);
            archs.push(json!(name));
            ctx.add_arch(token).expect("seccomp_arch_add");
        }
    }
    // libseccomp compares only the low word on the 32-bit ABIs; values that fit
    // are compared the same way by both.
    let narrow = abis.len() > 1;
    let mut action_of: HashMap<&str, u32> = HashMap::new();
    let (mut entries, mut names, mut values, mut model) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..1 + rng.below(10) {
        let (aname, errno, ret) = random_action(rng, Some(default));
        let mut entry_names = Vec::new();
        for _ in 0..1 + rng.below(3) {
            let (name, nr) = *rng.pick(pool);
            let fresh = !action_of.contains_key(name);
            if (fresh || !simple) && *action_of.entry(name).or_insert(ret) == ret && !entry_names.contains(&(name, nr))
            {
                entry_names.push((name, nr));
            }
        }
        let mut conds: Vec<ArgCmp> = Vec::new();
        for _ in 0..rng.below(4) {
            let repeat = !simple && !conds.is_empty() && rng.chance(30);
            let unused: Vec<u32> = (0..6).filter(|i| conds.iter().all(|c| c.arg != *i)).collect();
            let arg = if repeat { conds[rng.below(conds.len())].arg } else { *rng.pick(&unused) };
            let op = rng.pick(OPS).1;
            let (a, b) = (random_value(rng, narrow), random_value(rng, narrow));
            values.extend([a, b, a.wrapping_add(1), a.wrapping_sub(1), a & b]);
            conds.push(ArgCmp { arg, op, datum_a: a, datum_b: b });
        }
        // runc's matchCall: conditions on a repeated argument become one rule each.
        let repeated = conds.iter().enumerate().any(|(i, c)| conds[..i].iter().any(|d| d.arg == c.arg));
        let rules: Vec<Vec<ArgCmp>> =
            if repeated { conds.iter().map(|c| vec![*c]).collect() } else { vec![conds.clone()] };
        for (_, nr) in &entry_names {
            for r in &rules {
                ctx.add_rule(ret, *nr, r).ok()?;
            }
        }
        let args: Vec<Value> = conds
            .iter()
            .map(|c| {
                let op = OPS.iter().find(|(_, n)| *n == c.op).unwrap().0;
                json!({"index": c.arg, "op": op, "value": c.datum_a, "valueTwo": c.datum_b})
            })
            .collect();
        let list: Vec<&str> = entry_names.iter().map(|(n, _)| *n).collect();
        names.extend(&list);
        entries.push(json!({"names": list, "action": aname, "errnoRet": errno, "args": args}));
        model.push((list, ret, rules));
    }
    let json = json!({"defaultAction": dname, "defaultErrnoRet": derrno, "architectures": archs, "syscalls": entries});
    Some(Case { json, ctx, names, default, abis, values, entries: model })
}

/// A random call to `case`'s filter: (arch token, number, args, ABI when served).
fn random_call(rng: &mut Rng, case: &Case) -> Data {
    let narrow_args = |rng: &mut Rng, narrow: bool| {
        let mut args = [0u64; 6];
        for a in &mut args {
            *a = if rng.chance(60) && !case.values.is_empty() {
                *rng.pick(&case.values)
            } else {
                random_value(rng, false)
            };
            if narrow {
                *a &= 0xffff_ffff;
            }
        }
        args
    };
    if rng.chance(5) {
        // An architecture the filter does not serve.
        let arch = if rng.chance(50) { AUDIT_ARCH_AARCH64 } else { AUDIT_ARCH_I386 };
        return Data { nr: rng.below(400) as u32, arch, args: narrow_args(rng, false) };
    }
    let which = *rng.pick(&[Which::X86_64, Which::I386, Which::X32]);
    let nr = match case.names.get(rng.below(case.names.len() + 2)).and_then(|n| which.number(n)) {
        Some(nr) => nr,
        None => (rng.below(470) as u32) | if which == Which::X32 { X32_SYSCALL_BIT } else { 0 },
    };
    let arch = if which == Which::I386 { AUDIT_ARCH_I386 } else { AUDIT_ARCH_X86_64 };
    Data { nr, arch, args: narrow_args(rng, which != Which::X86_64) }
}

/// The ABI a call is served by, if the filter serves it.
fn served(case: &Case, d: &Data) -> Option<Which> {
    let which = match (d.arch, d.nr >= X32_SYSCALL_BIT) {
        (AUDIT_ARCH_X86_64, false) => Which::X86_64,
        (AUDIT_ARCH_X86_64, true) => Which::X32,
        (AUDIT_ARCH_I386, _) => Which::I386,
        _ => return None,
    };
    case.abis.contains(&which).then_some(which)
}

/// Whether one condition holds, as seccomp_data's 64-bit argument.
fn holds(c: &ArgCmp, args: &[u64; 6]) -> bool {
    let (arg, a, b) = (args[c.arg as usize], c.datum_a, c.datum_b);
    match c.op {
        1 => arg != a,
        2 => arg < a,
        3 => arg <= a,
        4 => arg == a,
        5 => arg >= a,
        6 => arg > a,
        7 => arg & a == b & a,
        op => panic!("op {op}"),
    }
}

/// The rules of the call `d`'s number on its ABI: (action, rules).
fn rules_of(case: &Case, which: Which, nr: u32) -> Vec<(u32, &Vec<ArgCmp>)> {
    let mut out = Vec::new();
    for (names, ret, rules) in &case.entries {
        if names.iter().any(|n| which.number(n) == Some(nr)) {
            out.extend(rules.iter().map(|r| (*ret, r)));
        }
    }
    out
}

/// The action the profile gives `d`, evaluated directly.
fn model(case: &Case, d: &Data) -> u32 {
    let Some(which) = served(case, d) else { return RET_KILL_THREAD };
    let rules = rules_of(case, which, d.nr);
    if let Some((ret, _)) = rules.iter().find(|(_, r)| r.iter().all(|c| holds(c, &d.args))) {
        return *ret;
    }
    if enosys(case, d) { RET_ERRNO | libc::ENOSYS as u32 } else { case.default }
}

/// runc's ENOSYS patch: a served ABI, a denying default, and a number above every
/// call the profile names on that ABI.
fn enosys(case: &Case, d: &Data) -> bool {
    let Some(which) = served(case, d) else { return false };
    let denies = !matches!(case.default, RET_ALLOW | RET_LOG) && (case.default & 0xffff_0000) != RET_TRACE;
    let highest = case.names.iter().filter_map(|n| which.number(n)).max();
    denies && highest.is_some_and(|h| d.nr > h)
}

/// Names both sides know on x86_64, with libseccomp's number (negative: its
/// pseudo-number for a call only i386 has).
fn pool() -> Vec<(&'static str, i32)> {
    SYSCALLS
        .iter()
        .filter_map(|(name, row)| {
            let nr = libseccomp::resolve(AUDIT_ARCH_X86_64, name)?;
            (nr >= 0 || row[1] >= 0 || row[2] >= 0).then_some((*name, nr))
        })
        .collect()
}

#[test]
fn syscall_numbers_agree_with_libseccomp() {
    let mut compared = 0;
    for (name, row) in SYSCALLS {
        for (col, token, bit) in
            [(0, AUDIT_ARCH_X86_64, 0), (1, AUDIT_ARCH_I386, 0), (2, AUDIT_ARCH_X32, X32_SYSCALL_BIT)]
        {
            let (Some(theirs), true) = (libseccomp::resolve(token, name), row[col] >= 0) else { continue };
            if theirs < 0 {
                continue;
            }
            assert_eq!((theirs as u32) | bit, (row[col] as u32) | bit, "{name} on arch {token:#x}");
            compared += 1;
        }
    }
    assert!(compared > 900, "only {compared} numbers compared");
}

/// `profiles` random profiles, 200 calls each; the calls libseccomp got wrong.
fn differential(seed: u64, profiles: usize, simple: bool) -> (usize, usize) {
    let pool = pool();
    assert!(pool.len() > 300, "libseccomp knows only {} of our calls", pool.len());
    let mut rng = Rng(seed);
    let (mut done, mut refused, mut calls, mut libseccomp_wrong) = (0, 0, 0, 0);
    while done < profiles {
        let Some(case) = random_case(&mut rng, &pool, simple) else {
            refused += 1;
            assert!(refused < profiles / 4, "libseccomp refused {refused} random profiles");
            continue;
        };
        done += 1;
        let ours = compile(&serde_json::from_value(case.json.clone()).unwrap())
            .unwrap_or_else(|e| panic!("{e}: {}", case.json));
        let theirs = case.ctx.export();
        for _ in 0..200 {
            let d = random_call(&mut rng, &case);
            let (got, want) = (run(&ours.program, &d), model(&case, &d));
            let lib = if enosys(&case, &d) { RET_ERRNO | libc::ENOSYS as u32 } else { run(&theirs, &d) };
            let why = || {
                format!(
                    "arch {:#x} nr {:#x} args {:x?}: ours {got:#x}, model {want:#x}, libseccomp {lib:#x}\nprofile {}",
                    d.arch, d.nr, d.args, case.json
                )
            };
            assert_eq!(got, want, "{}", why());
            if lib != want {
                assert!(!simple, "libseccomp disagrees on a simple profile: {}", why());
                libseccomp_wrong += 1;
            }
            calls += 1;
        }
    }
    eprintln!(
        "{done} profiles ({refused} refused by libseccomp), {calls} calls, {libseccomp_wrong} miscompiled by libseccomp"
    );
    (calls, libseccomp_wrong)
}

#[test]
fn simple_random_profiles_decide_exactly_as_libseccomp_does() {
    let (calls, wrong) = differential(0x9e37_79b9_7f4a_7c15, 300, true);
    assert_eq!((calls, wrong), (300 * 200, 0));
}

#[test]
fn random_profiles_decide_as_libseccomp_does_but_for_its_miscompiles() {
    let (calls, wrong) = differential(0x2545_f491_4f6c_dd1d, 400, false);
    assert_eq!(calls, 400 * 200);
    assert!(wrong < calls / 50, "libseccomp differed on {wrong} of {calls} calls");
}
