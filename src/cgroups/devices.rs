//! Device access rules: the list a container's cgroup enforces, and its two
//! forms — v1's `devices.allow`/`devices.deny` lines, and on cgroup v2 an eBPF
//! program of type `BPF_PROG_TYPE_CGROUP_DEVICE` built here instruction by
//! instruction (no compiler) and attached through `sys::bpf`.
//!
//! Semantics are runc's: the rules start from "deny everything", apply in order,
//! and the last rule that matches an access decides it; runc's default devices
//! (`AllowedDevices` in libcontainer/specconv) are appended after the config's
//! rules, unless the config denies exactly that rule.
//! The program is runc's libcontainer/cgroups/devices/devicefilter.go: the rules
//! are emitted last to first, so the first block that matches returns.

use std::os::fd::AsFd;
use std::path::Path;

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use super::CgroupError;
use crate::sys::bpf::{self, Insn};

/// runc's default device rules (`AllowedDevices` in runc 1.1.5's
/// libcontainer/specconv: `c 1:3 rwm` …), as v1 rule lines. Not the host's
/// `/dev/console` (c 5:1): runc does not allow it, and a config that wants
/// it says so (docker's does).
pub(super) const DEFAULT_RULES: &[&str] = &[
    "c 1:3 rwm",
    "c 1:5 rwm",
    "c 1:7 rwm",
    "c 1:8 rwm",
    "c 1:9 rwm",
    "c 5:0 rwm",
    "c 5:2 rwm",
    "c 136:* rwm",
    "c 10:200 rwm",
    "c *:* m",
    "b *:* m",
];

/// One device rule: allow or deny `access` on devices of `typ` ('a', 'b', 'c')
/// with `major:minor` (None: any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Rule {
    pub allow: bool,
    pub typ: char,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: String,
}

impl Rule {
    pub fn from_oci(d: &LinuxDeviceCgroup) -> Rule {
        let typ = match d.typ() {
            Some(LinuxDeviceType::C) | Some(LinuxDeviceType::U) => 'c',
            Some(LinuxDeviceType::B) => 'b',
            Some(LinuxDeviceType::P) => 'p',
            Some(LinuxDeviceType::A) | None => 'a',
        };
        let num = |n: Option<i64>| n.filter(|n| *n >= 0).and_then(|n| u32::try_from(n).ok());
        let access = d.access().clone().filter(|a| !a.is_empty()).unwrap_or_else(|| "rwm".into());
        Rule { allow: d.allow(), typ, major: num(d.major()), minor: num(d.minor()), access }
    }

    /// Parse a v1 line such as `c 136:* rwm`.
    pub fn parse(allow: bool, line: &str) -> Option<Rule> {
        let mut it = line.split_whitespace();
        let typ = it.next()?.chars().next()?;
        let (maj, min) = it.next()?.split_once(':')?;
        let num = |s: &str| if s == "*" { None } else { s.parse().ok() };
        Some(Rule { allow, typ, major: num(maj), minor: num(min), access: it.next()?.to_string() })
    }

    /// The v1 line: `c 1:3 rw`.
    pub fn to_v1(&self) -> String {
        let num = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_else(|| "*".into());
        format!("{} {}:{} {}", self.typ, num(self.major), num(self.minor), self.access)
    }
}

/// The config's rules followed by runc's defaults (a default the config denies
/// exactly is left out, so the deny stands).
pub(super) fn effective_rules(devs: &[LinuxDeviceCgroup]) -> Vec<Rule> {
    let mut rules: Vec<Rule> = devs.iter().map(Rule::from_oci).collect();
    for line in DEFAULT_RULES {
        let Some(rule) = Rule::parse(true, line) else { continue };
        let denied = rules.iter().any(|r| !r.allow && r.to_v1() == rule.to_v1());
        if !denied {
            rules.push(rule);
        }
    }
    rules
}

// eBPF opcodes (include/uapi/linux/bpf.h, bpf_common.h).
const LDX_MEM_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const ALU32_AND_K: u8 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const ALU32_RSH_K: u8 = 0x74; // BPF_ALU | BPF_RSH | BPF_K
const ALU32_MOV_K: u8 = 0xb4; // BPF_ALU | BPF_MOV | BPF_K
const ALU32_MOV_X: u8 = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
const JMP_JNE_K: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
const JMP_JNE_X: u8 = 0x5d; // BPF_JMP | BPF_JNE | BPF_X
const JMP_EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT

// struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }, where
// access_type is (access << 16) | type.
const DEV_BLOCK: i32 = 1; // BPF_DEVCG_DEV_BLOCK
const DEV_CHAR: i32 = 2; // BPF_DEVCG_DEV_CHAR
const ACC_MKNOD: i32 = 1; // BPF_DEVCG_ACC_MKNOD
const ACC_READ: i32 = 2;
const ACC_WRITE: i32 = 4;

fn access_bits(access: &str) -> i32 {
    access.chars().fold(0, |acc, c| {
        acc | match c {
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            'm' => ACC_MKNOD,
            _ => 0,
        }
    })
}

/// The device program for `rules`. Registers after the prologue: r2 = device
/// type, r3 = requested access, r4 = major, r5 = minor; r0 is the verdict.
pub(super) fn program(rules: &[Rule]) -> Vec<Insn> {
    let mut p = vec![
        Insn::new(LDX_MEM_W, 2, 1, 0, 0),
        Insn::new(ALU32_AND_K, 2, 0, 0, 0xffff),
        Insn::new(LDX_MEM_W, 3, 1, 0, 0),
        Insn::new(ALU32_RSH_K, 3, 0, 0, 16),
        Insn::new(LDX_MEM_W, 4, 1, 4, 0),
        Insn::new(LDX_MEM_W, 5, 1, 8, 0),
    ];
    for rule in rules.iter().rev() {
        let typ = match rule.typ {
            'a' => None,
            'b' => Some(DEV_BLOCK),
            'c' => Some(DEV_CHAR),
            // Pipes are not device nodes; the device cgroup never sees them.
            _ => continue,
        };
        let access = access_bits(&rule.access);
        // Checks that jump to the next rule on mismatch, with their jump slot
        // patched once the block's length is known.
        let mut block: Vec<Insn> = Vec::new();
        let mut jumps: Vec<usize> = Vec::new();
        if let Some(t) = typ {
            jumps.push(block.len());
            block.push(Insn::new(JMP_JNE_K, 2, 0, 0, t));
        }
        if access != ACC_MKNOD | ACC_READ | ACC_WRITE {
            // Match only when every requested bit is allowed: (r3 & access) == r3.
            block.push(Insn::new(ALU32_MOV_X, 1, 3, 0, 0));
            block.push(Insn::new(ALU32_AND_K, 1, 0, 0, access));
            jumps.push(block.len());
            block.push(Insn::new(JMP_JNE_X, 1, 3, 0, 0));
        }
        if let Some(major) = rule.major {
            jumps.push(block.len());
            block.push(Insn::new(JMP_JNE_K, 4, 0, 0, major as i32));
        }
        if let Some(minor) = rule.minor {
            jumps.push(block.len());
            block.push(Insn::new(JMP_JNE_K, 5, 0, 0, minor as i32));
        }
        block.push(Insn::new(ALU32_MOV_K, 0, 0, 0, i32::from(rule.allow)));
        block.push(Insn::new(JMP_EXIT, 0, 0, 0, 0));
        let len = block.len();
        let matches_all = jumps.is_empty();
        for j in jumps {
            // Offsets count from the instruction after the jump.
            block[j].off = (len - j - 1) as i16;
        }
        p.extend(block);
        if matches_all {
            // Every access ends here: the verifier rejects unreachable
            // instructions, so nothing (not even the default) may follow.
            return p;
        }
    }
    // Nothing matched: deny.
    p.push(Insn::new(ALU32_MOV_K, 0, 0, 0, 0));
    p.push(Insn::new(JMP_EXIT, 0, 0, 0, 0));
    p
}

/// Load the program for `rules` and attach it to the cgroup v2 directory `dir`,
/// replacing the device programs attached before (runc's order: attach the new
/// one with BPF_F_ALLOW_MULTI first, then detach the old, so there is never a
/// moment without a filter).
pub(super) fn attach(dir: &Path, rules: &[Rule]) -> Result<(), CgroupError> {
    let sys_err = |what: &'static str| {
        move |e: crate::sys::Error| CgroupError::Io {
            what,
            path: dir.to_path_buf(),
            source: std::io::Error::from_raw_os_error(e.errno as i32),
        }
    };
    let cgroup = std::fs::File::open(dir).map_err(|source| CgroupError::Io {
        what: "open cgroup for the device program",
        path: dir.to_path_buf(),
        source,
    })?;
    let old = bpf::query_cgroup_device(cgroup.as_fd()).map_err(sys_err("list device programs of"))?;
    let prog = bpf::load_cgroup_device(&program(rules), c"Apache")
        .map_err(sys_err("load the eBPF device program (linux.resources.devices) for"))?;
    bpf::attach_cgroup_device(cgroup.as_fd(), prog.as_fd(), bpf::BPF_F_ALLOW_MULTI)
        .map_err(sys_err("attach the eBPF device program (linux.resources.devices) to"))?;
    for id in old {
        match bpf::prog_fd_by_id(id) {
            Ok(fd) => {
                if let Err(e) = bpf::detach_cgroup_device(cgroup.as_fd(), fd.as_fd()) {
                    tracing::warn!(id, error = %e, "detach old device program");
                }
            }
            Err(e) => tracing::warn!(id, error = %e, "open old device program"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Run `prog` as the kernel would on one access: enough of an eBPF
    /// interpreter for the instructions `program` emits.
    fn run(prog: &[Insn], typ: i32, access: i32, major: u32, minor: u32) -> u64 {
        let ctx = [((access as u32) << 16) | typ as u32, major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        for _ in 0..10_000 {
            let i = prog[pc];
            pc += 1;
            let (d, s) = (i.dst(), i.src());
            match i.code {
                LDX_MEM_W => {
                    assert_eq!(s, 1, "loads only from the context");
                    r[d] = u64::from(ctx[i.off as usize / 4]);
                }
                ALU32_AND_K => r[d] = u64::from(r[d] as u32 & i.imm as u32),
                ALU32_RSH_K => r[d] = u64::from((r[d] as u32) >> i.imm),
                ALU32_MOV_K => r[d] = u64::from(i.imm as u32),
                ALU32_MOV_X => r[d] = u64::from(r[s] as u32),
                JMP_JNE_K => {
                    if r[d] != i.imm as i64 as u64 {
                        pc += i.off as usize;
                    }
                }
                JMP_JNE_X => {
                    if r[d] != r[s] {
                        pc += i.off as usize;
                    }
                }
                JMP_EXIT => return r[0],
                c => panic!("unexpected opcode {c:#x}"),
            }
        }
        panic!("program did not exit");
    }

    /// The kernel's verifier refuses a program with an instruction no path reaches
    /// (EINVAL from BPF_PROG_LOAD), and one whose jumps leave it.
    fn assert_verifiable(prog: &[Insn]) {
        let mut seen = vec![false; prog.len()];
        let mut todo = vec![0usize];
        while let Some(pc) = todo.pop() {
            assert!(pc < prog.len(), "jump out of the program");
            if std::mem::replace(&mut seen[pc], true) {
                continue;
            }
            match prog[pc].code {
                JMP_EXIT => {}
                JMP_JNE_K | JMP_JNE_X => todo.extend([pc + 1, pc + 1 + prog[pc].off as usize]),
                _ => todo.push(pc + 1),
            }
        }
        assert!(seen.iter().all(|s| *s), "unreachable instructions: {seen:?}");
    }

    fn rules(json: serde_json::Value) -> Vec<Rule> {
        let devs: Vec<LinuxDeviceCgroup> = serde_json::from_value(json).unwrap();
        effective_rules(&devs)
    }

    const RW: i32 = ACC_READ | ACC_WRITE;

    #[test]
    fn deny_all_allows_only_runc_defaults() {
        let p = program(&rules(serde_json::json!([{"allow": false, "access": "rwm"}])));
        assert_verifiable(&p);
        assert_eq!(run(&p, DEV_CHAR, RW, 1, 3), 1, "/dev/null");
        assert_eq!(run(&p, DEV_CHAR, RW, 136, 7), 1, "/dev/pts/7");
        assert_eq!(run(&p, DEV_CHAR, RW, 10, 229), 0, "/dev/fuse");
        assert_eq!(run(&p, DEV_BLOCK, ACC_READ, 8, 0), 0, "/dev/sda");
        assert_eq!(run(&p, DEV_BLOCK, ACC_MKNOD, 8, 0), 1, "mknod of any block device");
        assert_eq!(run(&p, DEV_CHAR, ACC_MKNOD | ACC_READ, 10, 229), 0, "m alone does not give r");
    }

    #[test]
    fn access_must_be_a_subset_of_the_rule() {
        let p = program(&rules(serde_json::json!([
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "b", "major": 8, "minor": 0, "access": "r"}
        ])));
        assert_verifiable(&p);
        assert_eq!(run(&p, DEV_BLOCK, ACC_READ, 8, 0), 1);
        assert_eq!(run(&p, DEV_BLOCK, RW, 8, 0), 0);
        assert_eq!(run(&p, DEV_BLOCK, ACC_READ, 8, 1), 0);
        assert_eq!(run(&p, DEV_CHAR, ACC_READ, 8, 0), 0, "type is checked");
    }

    #[test]
    fn the_last_matching_rule_wins() {
        let p = program(&rules(serde_json::json!([
            {"allow": true, "access": "rwm"},
            {"allow": false, "type": "c", "major": 10, "access": "rwm"},
            {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rw"}
        ])));
        assert_verifiable(&p);
        assert_eq!(run(&p, DEV_CHAR, RW, 10, 229), 1, "allowed again by the last rule");
        assert_eq!(run(&p, DEV_CHAR, RW, 10, 228), 0, "denied by major");
        assert_eq!(run(&p, DEV_BLOCK, RW, 8, 0), 1, "allowed by the first rule");
    }

    #[test]
    fn an_exact_deny_of_a_default_keeps_it_denied() {
        let r = rules(serde_json::json!([
            {"allow": false, "access": "rwm"},
            {"allow": false, "type": "c", "major": 1, "minor": 3, "access": "rwm"}
        ]));
        assert!(!r.iter().any(|r| r.allow && r.to_v1() == "c 1:3 rwm"));
        let p = program(&r);
        assert_verifiable(&p);
        assert_eq!(run(&p, DEV_CHAR, RW, 1, 3), 0);
        assert_eq!(run(&p, DEV_CHAR, RW, 1, 5), 1);
    }

    #[test]
    fn program_for_one_rule_is_runc_shaped() {
        let rule = Rule::parse(true, "c 1:3 rw").unwrap();
        let p = program(&[rule]);
        assert_verifiable(&p);
        let golden = [
            Insn::new(LDX_MEM_W, 2, 1, 0, 0),
            Insn::new(ALU32_AND_K, 2, 0, 0, 0xffff),
            Insn::new(LDX_MEM_W, 3, 1, 0, 0),
            Insn::new(ALU32_RSH_K, 3, 0, 0, 16),
            Insn::new(LDX_MEM_W, 4, 1, 4, 0),
            Insn::new(LDX_MEM_W, 5, 1, 8, 0),
            Insn::new(JMP_JNE_K, 2, 0, 7, DEV_CHAR),
            Insn::new(ALU32_MOV_X, 1, 3, 0, 0),
            Insn::new(ALU32_AND_K, 1, 0, 0, RW),
            Insn::new(JMP_JNE_X, 1, 3, 4, 0),
            Insn::new(JMP_JNE_K, 4, 0, 3, 1),
            Insn::new(JMP_JNE_K, 5, 0, 2, 3),
            Insn::new(ALU32_MOV_K, 0, 0, 0, 1),
            Insn::new(JMP_EXIT, 0, 0, 0, 0),
            Insn::new(ALU32_MOV_K, 0, 0, 0, 0),
            Insn::new(JMP_EXIT, 0, 0, 0, 0),
        ];
        assert_eq!(p, golden);
    }

    #[test]
    fn a_rule_matching_everything_ends_the_program() {
        // Allow-all after the deny: the deny can never decide, and the program ends
        // with the allow-all block (runc's defaults come before it, emitted first).
        let p = program(&rules(serde_json::json!([
            {"allow": false, "type": "c", "major": 1, "access": "rwm"},
            {"allow": true, "access": "rwm"}
        ])));
        assert_verifiable(&p);
        let tail = [Insn::new(ALU32_MOV_K, 0, 0, 0, 1), Insn::new(JMP_EXIT, 0, 0, 0, 0)];
        assert_eq!(p[p.len() - 2..], tail, "allow-all is the last block, with no default after it");
        assert_eq!(run(&p, DEV_CHAR, RW, 1, 3), 1);
        assert_eq!(run(&p, DEV_BLOCK, RW, 8, 0), 1);
    }

    /// The kernel's own verifier accepts what we generate (needs CAP_BPF; attaches
    /// nothing).
    #[test]
    #[ignore = "needs root"]
    fn the_kernel_loads_the_programs() {
        for json in [
            serde_json::json!([{"allow": false, "access": "rwm"}]),
            serde_json::json!([{"allow": true, "access": "rwm"}, {"allow": false, "type": "b", "access": "w"}]),
            serde_json::json!([
                {"allow": false, "access": "rwm"},
                {"allow": true, "type": "c", "major": 99, "minor": 1, "access": "rw"}
            ]),
        ] {
            let p = program(&rules(json.clone()));
            if let Err(e) = bpf::load_cgroup_device(&p, c"Apache") {
                panic!("{json}: {e}: {:?}", e.errno);
            }
        }
    }

    #[test]
    fn v1_lines_round_trip() {
        for line in DEFAULT_RULES {
            assert_eq!(Rule::parse(true, line).unwrap().to_v1(), *line);
        }
        let d: LinuxDeviceCgroup =
            serde_json::from_value(serde_json::json!({"allow": false, "access": "rwm"})).unwrap();
        assert_eq!(Rule::from_oci(&d).to_v1(), "a *:* rwm");
    }
}
