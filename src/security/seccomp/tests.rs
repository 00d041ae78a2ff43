//! The compiled programs run through a small classic-BPF interpreter, so the
//! semantics are checked without loading anything into the kernel.

use serde_json::json;

use super::asm::*;
use super::*;

mod differential;

struct Data {
    nr: u32,
    arch: u32,
    args: [u64; 6],
}

/// Run a classic-BPF seccomp program on one call, as the kernel does.
fn run(prog: &[SockFilter], d: &Data) -> u32 {
    let word = |off: u32| -> u32 {
        match off {
            0 => d.nr,
            4 => d.arch,
            o if (16..64).contains(&o) => {
                let i = ((o - 16) / 8) as usize;
                if (o - 16) % 8 == 0 { d.args[i] as u32 } else { (d.args[i] >> 32) as u32 }
            }
            o => panic!("bad load offset {o}"),
        }
    };
    let (mut pc, mut acc) = (0usize, 0u32);
    loop {
        let i = prog[pc];
        pc += 1;
        match i.code {
            BPF_LD_W_ABS => acc = word(i.k),
            BPF_ALU_AND_K => acc &= i.k,
            BPF_JA => pc += i.k as usize,
            BPF_RET_K => return i.k,
            op => {
                let taken = match op {
                    BPF_JEQ_K => acc == i.k,
                    BPF_JGT_K => acc > i.k,
                    BPF_JGE_K => acc >= i.k,
                    // BPF_JMP|BPF_JSET|BPF_K, which libseccomp's programs use.
                    0x45 => acc & i.k != 0,
                    _ => panic!("bad opcode {op:#x}"),
                };
                pc += if taken { i.jt } else { i.jf } as usize;
            }
        }
    }
}

fn profile(v: serde_json::Value) -> LinuxSeccomp {
    serde_json::from_value(v).unwrap()
}

fn call(f: &Filter, name: &str, args: [u64; 6]) -> u32 {
    run(&f.program, &Data { nr: syscall_number(name).unwrap() as u32, arch: AUDIT_ARCH_X86_64, args })
}

#[test]
fn syscall_table_is_sorted_and_knows_common_calls() {
    assert!(SYSCALLS.windows(2).all(|w| w[0].0 < w[1].0));
    assert!(SYSCALLS.iter().all(|(_, n)| n.iter().any(|nr| *nr >= 0)));
    assert_eq!(syscall_number("read"), Some(0));
    assert_eq!(syscall_number("mkdirat"), Some(258));
    assert_eq!(syscall_number("no_such_call"), None);
}

#[test]
fn errno_rule_and_default_allow() {
    let f = compile(&profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]
    })))
    .unwrap();
    assert_eq!(call(&f, "mkdir", [0; 6]), RET_ERRNO | 38);
    assert_eq!(call(&f, "mkdirat", [0; 6]), RET_ERRNO | 38);
    assert_eq!(call(&f, "getpid", [0; 6]), RET_ALLOW);
}

#[test]
fn errno_defaults_to_eperm() {
    let f = compile(&profile(json!({"defaultAction": "SCMP_ACT_ERRNO"}))).unwrap();
    assert_eq!(call(&f, "getpid", [0; 6]), RET_ERRNO | 1);
}

#[test]
fn first_matching_rule_wins() {
    let f = compile(&profile(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
            {"names": ["personality"], "action": "SCMP_ACT_LOG"}
        ]
    })))
    .unwrap();
    assert_eq!(call(&f, "personality", [8, 0, 0, 0, 0, 0]), RET_ALLOW);
    assert_eq!(call(&f, "personality", [9, 0, 0, 0, 0, 0]), RET_LOG);
    assert_eq!(call(&f, "read", [0; 6]), RET_ERRNO | 1);
}

fn one(op: &str, value: u64, value_two: u64) -> Filter {
    compile(&profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["ioctl"], "action": "SCMP_ACT_TRAP",
                      "args": [{"index": 1, "value": value, "valueTwo": value_two, "op": op}]}]
    })))
    .unwrap()
}

#[test]
fn comparisons_are_unsigned_64_bit() {
    let big = 0x1_0000_0005u64;
    let cases: &[(&str, u64, u64, bool)] = &[
        ("SCMP_CMP_EQ", big, big, true),
        ("SCMP_CMP_EQ", big, 5, false),
        ("SCMP_CMP_NE", big, 5, true),
        ("SCMP_CMP_NE", big, big, false),
        ("SCMP_CMP_GT", big, big + 1, true),
        ("SCMP_CMP_GT", big, big, false),
        ("SCMP_CMP_GT", 5, 0x1_0000_0000, true),
        ("SCMP_CMP_GE", big, big, true),
        ("SCMP_CMP_GE", big, 0xffff_ffff, false),
        ("SCMP_CMP_LT", big, 0xffff_ffff, true),
        ("SCMP_CMP_LT", big, big, false),
        ("SCMP_CMP_LE", big, big, true),
        ("SCMP_CMP_LE", big, big + 1, false),
        ("SCMP_CMP_LT", 10, u64::MAX, false),
    ];
    for (op, value, arg, matches) in cases {
        let f = one(op, *value, 0);
        let got = call(&f, "ioctl", [0, *arg, 0, 0, 0, 0]);
        assert_eq!(got == RET_TRAP, *matches, "{op} value {value:#x} arg {arg:#x}");
    }
}

#[test]
fn masked_eq_uses_value_as_mask() {
    // clone with CLONE_NEWUSER (0x10000000) blocked, as docker's profile does.
    let f = one("SCMP_CMP_MASKED_EQ", 0x1000_0000, 0x1000_0000);
    assert_eq!(call(&f, "ioctl", [0, 0x1000_0011, 0, 0, 0, 0]), RET_TRAP);
    assert_eq!(call(&f, "ioctl", [0, 0x11, 0, 0, 0, 0]), RET_ALLOW);
}

#[test]
fn several_args_must_all_hold() {
    let f = compile(&profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["socket"], "action": "SCMP_ACT_ERRNO",
                      "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 3, "op": "SCMP_CMP_EQ"}]}]
    })))
    .unwrap();
    assert_eq!(call(&f, "socket", [2, 3, 0, 0, 0, 0]), RET_ERRNO | 1);
    assert_eq!(call(&f, "socket", [2, 1, 0, 0, 0, 0]), RET_ALLOW);
}

#[test]
fn conditions_on_one_argument_are_ored_as_runc_does() {
    // runc turns every condition into its own rule once two test the same
    // argument: socket(AF_UNIX|AF_INET, …) or any call whose type is 3.
    let f = compile(&profile(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["socket"], "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                               {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"},
                               {"index": 1, "value": 3, "op": "SCMP_CMP_EQ"}]}]
    })))
    .unwrap();
    assert_eq!(call(&f, "socket", [1, 0, 0, 0, 0, 0]), RET_ALLOW);
    assert_eq!(call(&f, "socket", [2, 0, 0, 0, 0, 0]), RET_ALLOW);
    assert_eq!(call(&f, "socket", [10, 3, 0, 0, 0, 0]), RET_ALLOW);
    assert_eq!(call(&f, "socket", [10, 1, 0, 0, 0, 0]), RET_ERRNO | 1);
}

#[test]
fn a_profile_for_another_architecture_only_is_refused() {
    let e = compile(&profile(json!({"defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]})))
    .unwrap_err()
    .to_string();
    assert!(e.contains("linux.seccomp.architectures") && e.contains("x86"), "{e}");
    // Listed beside x86 ones, other architectures are skipped (they never reach
    // an x86_64 kernel).
    compile(&profile(json!({"defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"]})))
    .unwrap();
}

#[test]
fn syscall_tables_match_the_kernel_headers() {
    // linux-libc-dev's headers (Debian's multiarch path first). The table may know
    // calls newer than the headers, numbered above everything they list.
    for (col, file) in [(0, "unistd_64.h"), (1, "unistd_32.h"), (2, "unistd_x32.h")] {
        let path = ["/usr/include/x86_64-linux-gnu/asm", "/usr/include/asm"]
            .map(|d| std::path::Path::new(d).join(file))
            .into_iter()
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("asm/{file} not found: install linux-libc-dev"));
        let text = std::fs::read_to_string(&path).unwrap();
        let mut seen = HashMap::new();
        for line in text.lines() {
            let Some((name, value)) = line.strip_prefix("#define __NR_").and_then(|r| r.split_once(' ')) else {
                continue;
            };
            let value = value.trim().trim_start_matches("(__X32_SYSCALL_BIT + ").trim_end_matches(')');
            let nr: i16 = value.parse().unwrap_or_else(|_| panic!("{path:?}: {line}"));
            let row = numbers(name).unwrap_or_else(|| panic!("{name} ({path:?}) is missing from syscalls.rs"));
            assert_eq!(row[col], nr, "{name}: syscalls.rs says {}, {path:?} says {nr}", row[col]);
            seen.insert(name, nr);
        }
        assert!(seen.len() > 300, "{path:?}: only {} calls", seen.len());
        // x32's own entry points (512 and up) sit above the common numbers.
        let newest = *seen.values().filter(|n| col != 2 || **n < 512).max().unwrap();
        for (name, row) in SYSCALLS.iter().filter(|(n, row)| row[col] >= 0 && !seen.contains_key(n)) {
            assert!(row[col] > newest, "{name} ({}) is in syscalls.rs but not in {path:?}", row[col]);
        }
    }
}

#[test]
fn architectures() {
    let f =
        compile(&profile(json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"]}))).unwrap();
    assert_eq!(run(&f.program, &Data { nr: 1, arch: AUDIT_ARCH_I386, args: [0; 6] }), RET_KILL_THREAD);
    assert_eq!(
        run(&f.program, &Data { nr: X32_SYSCALL_BIT | 1, arch: AUDIT_ARCH_X86_64, args: [0; 6] }),
        RET_KILL_THREAD
    );
    let f = compile(&profile(json!({"defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]})))
    .unwrap();
    assert_eq!(run(&f.program, &Data { nr: 1, arch: AUDIT_ARCH_I386, args: [0; 6] }), RET_ERRNO | 1);
    assert_eq!(
        run(&f.program, &Data { nr: X32_SYSCALL_BIT | 1, arch: AUDIT_ARCH_X86_64, args: [0; 6] }),
        RET_ERRNO | 1
    );
}

#[test]
fn unknown_syscall_names_are_skipped() {
    let f = compile(&profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["not_a_syscall", "mkdir"], "action": "SCMP_ACT_ERRNO"}]
    })))
    .unwrap();
    assert_eq!(call(&f, "mkdir", [0; 6]), RET_ERRNO | 1);
}

#[test]
fn notify_needs_a_listener_is_never_the_default_and_never_for_sendmsg() {
    let notify = |extra: serde_json::Value| {
        let mut p = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]
        });
        for (k, v) in extra.as_object().unwrap() {
            p[k] = v.clone();
        }
        compile(&profile(p))
    };
    let e = notify(json!({})).unwrap_err().to_string();
    assert!(e.starts_with("linux.seccomp.listenerPath"), "{e}");
    let f = notify(json!({"listenerPath": "/run/agent.sock"})).unwrap();
    assert_eq!(call(&f, "mkdir", [0; 6]), 0x7fc0_0000, "SECCOMP_RET_USER_NOTIF");
    assert_ne!(f.flags & crate::sys::seccomp::FLAG_NEW_LISTENER, 0);
    let e = notify(
        json!({"listenerPath": "/a", "syscalls": [{"names": ["write", "sendmsg"], "action": "SCMP_ACT_NOTIFY"}]}),
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("linux.seccomp.syscalls[0].names[1]"), "{e}");
    let e = notify(json!({"listenerPath": "/a", "defaultAction": "SCMP_ACT_NOTIFY"})).unwrap_err().to_string();
    assert!(e.starts_with("linux.seccomp.defaultAction"), "{e}");
}

#[test]
fn bad_arg_index_is_an_error() {
    let e = compile(&profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]
    })))
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("linux.seccomp.syscalls[0].args[0].index"), "{e}");
}

#[test]
fn large_allowlist_compiles_within_jump_limits() {
    let names: Vec<&str> = SYSCALLS.iter().map(|(n, _)| *n).collect();
    let f = compile(&profile(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": names, "action": "SCMP_ACT_ALLOW"},
                     {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 0x7e020000u64, "op": "SCMP_CMP_MASKED_EQ"}]}]
    })))
    .unwrap();
    assert_eq!(call(&f, "write", [0; 6]), RET_ALLOW);
}

/// Podman's default profile as podman 4.3 (Debian bookworm) hands it to the
/// runtime, and docker 20.10's; see tests/testdata/seccomp/README.md.
const PODMAN: &str = include_str!("../../../tests/testdata/seccomp/podman-default.json");
const DOCKER: &str = include_str!("../../../tests/testdata/seccomp/docker-default.json");

fn arch_call(f: &Filter, arch: u32, nr: u32, args: [u64; 6]) -> u32 {
    run(&f.program, &Data { nr, arch, args })
}

fn i386(name: &str) -> u32 {
    Abi::I386.number(name).unwrap()
}

fn x32(name: &str) -> u32 {
    Abi::X32.number(name).unwrap()
}

#[test]
fn i386_and_x32_tables_are_sorted_and_right() {
    assert_eq!(i386("write"), 4);
    assert_eq!(i386("socketcall"), 102);
    assert_eq!(i386("clone3"), 435);
    assert_eq!(x32("write"), X32_SYSCALL_BIT | 1);
    assert_eq!(x32("rt_sigaction"), X32_SYSCALL_BIT | 512);
    assert_eq!(Abi::X32.number("uselib"), None);
}

#[test]
fn podman_default_profile_compiles_and_decides_per_rule() {
    let f = compile(&serde_json::from_str(PODMAN).unwrap()).unwrap();
    assert!(f.program.len() < 400, "{} instructions", f.program.len());
    let x = AUDIT_ARCH_X86_64;
    assert_eq!(call(&f, "write", [0; 6]), RET_ALLOW);
    assert_eq!(call(&f, "personality", [8, 0, 0, 0, 0, 0]), RET_ALLOW);
    assert_eq!(call(&f, "personality", [0xffff_ffff, 0, 0, 0, 0, 0]), RET_ALLOW);
    assert_eq!(call(&f, "personality", [9, 0, 0, 0, 0, 0]), RET_ERRNO | 38);
    assert_eq!(call(&f, "kexec_load", [0; 6]), RET_ERRNO | 1);
    assert_eq!(call(&f, "swapon", [0; 6]), RET_ERRNO | 1);
    // socket(AF_NETLINK, *, NETLINK_AUDIT) is EINVAL, any other socket allowed.
    assert_eq!(call(&f, "socket", [16, 3, 9, 0, 0, 0]), RET_ERRNO | 22);
    assert_eq!(call(&f, "socket", [16, 3, 0, 0, 0, 0]), RET_ALLOW);
    assert_eq!(call(&f, "socket", [2, 1, 0, 0, 0, 0]), RET_ALLOW);
    assert_eq!(call(&f, "add_key", [0; 6]), RET_ERRNO | 38);
    assert_eq!(arch_call(&f, x, 1000, [0; 6]), RET_ERRNO | 38);
    // The 32-bit ABIs are served with their own numbers.
    assert_eq!(arch_call(&f, AUDIT_ARCH_I386, i386("write"), [0; 6]), RET_ALLOW);
    assert_eq!(arch_call(&f, AUDIT_ARCH_I386, i386("socketcall"), [0; 6]), RET_ALLOW);
    assert_eq!(arch_call(&f, AUDIT_ARCH_I386, i386("nice"), [0; 6]), RET_ERRNO | 1);
    assert_eq!(arch_call(&f, AUDIT_ARCH_I386, i386("add_key"), [0; 6]), RET_ERRNO | 38);
    assert_eq!(arch_call(&f, x, x32("write"), [0; 6]), RET_ALLOW);
    assert_eq!(arch_call(&f, x, x32("rt_sigaction"), [0; 6]), RET_ALLOW);
    assert_eq!(arch_call(&f, x, x32("kexec_load"), [0; 6]), RET_ERRNO | 1);
    assert_eq!(arch_call(&f, 0xc000_00b7, 1, [0; 6]), RET_KILL_THREAD);
}

#[test]
fn docker_default_profile_compiles_and_decides_per_rule() {
    let f = compile(&serde_json::from_str(DOCKER).unwrap()).unwrap();
    assert!(f.program.len() < 400, "{} instructions", f.program.len());
    assert_eq!(call(&f, "read", [0; 6]), RET_ALLOW);
    assert_eq!(call(&f, "ptrace", [0; 6]), RET_ALLOW);
    // clone without namespace flags only (the mask is 0x7e020000).
    assert_eq!(call(&f, "clone", [0x0120_0011, 0, 0, 0, 0, 0]), RET_ALLOW);
    assert_eq!(call(&f, "clone", [0x1000_0011, 0, 0, 0, 0, 0]), RET_ERRNO | 1);
    assert_eq!(call(&f, "clone3", [0; 6]), RET_ERRNO | 38);
    assert_eq!(call(&f, "unshare", [0; 6]), RET_ERRNO | 1);
    assert_eq!(call(&f, "keyctl", [0; 6]), RET_ERRNO | 1);
    assert_eq!(call(&f, "mount", [0; 6]), RET_ERRNO | 1);
    // Numbers past every call the profile names get ENOSYS (runc's stub).
    assert_eq!(run(&f.program, &Data { nr: 1000, arch: AUDIT_ARCH_X86_64, args: [0; 6] }), RET_ERRNO | 38);
    assert_eq!(arch_call(&f, AUDIT_ARCH_I386, i386("unshare"), [0; 6]), RET_ERRNO | 1);
    assert_eq!(arch_call(&f, AUDIT_ARCH_I386, i386("clone"), [0x0120_0011, 0, 0, 0, 0, 0]), RET_ALLOW);
}

#[test]
fn rules_with_the_default_action_are_dropped_as_runc_does() {
    let f = compile(&profile(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
            {"names": ["personality", "getpid"], "action": "SCMP_ACT_ALLOW"}
        ]
    })))
    .unwrap();
    assert_eq!(call(&f, "personality", [8, 0, 0, 0, 0, 0]), RET_ALLOW);
    assert_eq!(call(&f, "getpid", [0; 6]), RET_ALLOW);
}

#[test]
fn every_call_with_its_own_errno_needs_long_jumps_and_still_decides_right() {
    // Hundreds of distinct bodies, each with argument checks: the tree's jumps to
    // them are far beyond 255 instructions.
    let x86_64: Vec<(&str, i64)> =
        SYSCALLS.iter().filter(|(_, n)| n[0] >= 0).map(|(name, n)| (*name, i64::from(n[0]))).collect();
    let entries: Vec<serde_json::Value> = x86_64
        .iter()
        .map(|(name, nr)| {
            json!({"names": [name], "action": "SCMP_ACT_ERRNO", "errnoRet": nr + 1,
                   "args": [{"index": 1, "value": 7, "op": "SCMP_CMP_NE"}]})
        })
        .collect();
    let f = compile(&profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
        "syscalls": entries
    })))
    .unwrap();
    assert!(f.program.len() > 2000, "{} instructions", f.program.len());
    assert!(f.program.iter().any(|i| i.code == BPF_JA && i.k > 255));
    for (name, nr) in &x86_64 {
        assert_eq!(call(&f, name, [0; 6]), RET_ERRNO | (*nr as u32 + 1), "{name}");
        assert_eq!(call(&f, name, [0, 7, 0, 0, 0, 0]), RET_ALLOW, "{name}");
        if let Some(n) = Abi::I386.number(name) {
            assert_eq!(arch_call(&f, AUDIT_ARCH_I386, n, [0; 6]), RET_ERRNO | (*nr as u32 + 1), "i386 {name}");
        }
    }
}

#[test]
fn a_profile_over_the_kernel_limit_names_the_size() {
    let entries: Vec<serde_json::Value> = (0..1000)
        .map(|v| {
            json!({"names": ["ioctl"], "action": "SCMP_ACT_ALLOW",
                         "args": [{"index": 1, "value": v, "op": "SCMP_CMP_EQ"}]})
        })
        .collect();
    let e = compile(&profile(json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": entries}))).unwrap_err();
    assert!(e.to_string().contains("BPF instructions (the kernel takes 4096)"), "{e}");
}

#[test]
fn empty_profile_is_the_default_action() {
    let f = compile(&profile(json!({"defaultAction": "SCMP_ACT_LOG"}))).unwrap();
    assert_eq!(call(&f, "read", [0; 6]), RET_LOG);
    assert_eq!(arch_call(&f, AUDIT_ARCH_I386, 4, [0; 6]), RET_KILL_THREAD);
}

/// Not a check: prints how long compiling podman's profile takes
/// (`cargo test --release --lib compile_speed -- --ignored --nocapture`).
#[test]
#[ignore = "benchmark"]
fn compile_speed_podman_profile() {
    let p: LinuxSeccomp = serde_json::from_str(PODMAN).unwrap();
    let n = 2000;
    let start = std::time::Instant::now();
    for _ in 0..n {
        std::hint::black_box(compile(std::hint::black_box(&p)).unwrap());
    }
    let per = start.elapsed() / n;
    let parse = std::time::Instant::now();
    for _ in 0..n {
        std::hint::black_box(serde_json::from_str::<LinuxSeccomp>(PODMAN).unwrap());
    }
    println!("podman profile: compile {per:?}, parse JSON {:?} per run", parse.elapsed() / n);
}
