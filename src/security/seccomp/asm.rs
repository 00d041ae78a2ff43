//! A small classic-BPF assembler: instructions with symbolic, forward-only jump
//! targets, resolved at the end.
//!
//! A conditional jump's offsets are 8 bits; a target further than 255
//! instructions away gets a trampoline, an unconditional `BPF_JA` (32-bit
//! offset) placed right after the jump, which then jumps 0 or 1 instructions
//! to reach it. Trampolines only ever lengthen the program, so a few passes
//! that add them until every short offset fits always end.

use crate::sys::seccomp::SockFilter;

pub(super) const BPF_LD_W_ABS: u16 = 0x20;
pub(super) const BPF_ALU_AND_K: u16 = 0x54;
pub(super) const BPF_JEQ_K: u16 = 0x15;
pub(super) const BPF_JGT_K: u16 = 0x25;
pub(super) const BPF_JGE_K: u16 = 0x35;
pub(super) const BPF_JA: u16 = 0x05;
pub(super) const BPF_RET_K: u16 = 0x06;

/// The kernel's limit on a classic-BPF program (BPF_MAXINSNS).
pub(super) const MAX_INSNS: usize = 4096;

/// A jump target; bound to a position with [`Asm::bind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Label(usize);

#[derive(Default)]
pub(super) struct Asm {
    code: Vec<Ins>,
    /// Each label's instruction index, once bound.
    labels: Vec<Option<usize>>,
}

#[derive(Clone, Copy)]
enum Ins {
    Ld(u32),
    And(u32),
    Jmp { op: u16, k: u32, t: Label, f: Label },
    Ja(Label),
    Ret(u32),
}

impl Asm {
    pub(super) fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }
    pub(super) fn bind(&mut self, l: Label) {
        self.labels[l.0] = Some(self.code.len());
    }
    pub(super) fn ld(&mut self, off: u32) {
        self.code.push(Ins::Ld(off));
    }
    pub(super) fn and(&mut self, k: u32) {
        self.code.push(Ins::And(k));
    }
    pub(super) fn jeq(&mut self, k: u32, t: Label, f: Label) {
        self.code.push(Ins::Jmp { op: BPF_JEQ_K, k, t, f });
    }
    pub(super) fn jgt(&mut self, k: u32, t: Label, f: Label) {
        self.code.push(Ins::Jmp { op: BPF_JGT_K, k, t, f });
    }
    pub(super) fn jge(&mut self, k: u32, t: Label, f: Label) {
        self.code.push(Ins::Jmp { op: BPF_JGE_K, k, t, f });
    }
    pub(super) fn ja(&mut self, l: Label) {
        self.code.push(Ins::Ja(l));
    }
    pub(super) fn ret(&mut self, k: u32) {
        self.code.push(Ins::Ret(k));
    }

    /// Resolve the labels into a program, adding trampolines where a conditional
    /// jump cannot reach its target.
    pub(super) fn assemble(&self) -> Result<Vec<SockFilter>, String> {
        let n = self.code.len();
        let at = |l: Label| self.labels[l.0].ok_or_else(|| "internal: unbound label".to_string());
        // far[i] = (true branch needs a trampoline, false branch needs one).
        let mut far = vec![(false, false); n];
        // pos[i]: where instruction i lands once trampolines are in; pos[n] is the end.
        let mut pos = vec![0usize; n + 1];
        loop {
            let mut p = 0;
            for i in 0..n {
                pos[i] = p;
                p += 1 + usize::from(far[i].0) + usize::from(far[i].1);
            }
            pos[n] = p;
            let mut changed = false;
            for (i, ins) in self.code.iter().enumerate() {
                if let Ins::Jmp { t, f, .. } = *ins {
                    let from = pos[i] + 1;
                    let reach = |l: Label| -> Result<bool, String> {
                        let to = pos[at(l)?];
                        if to < from {
                            return Err("internal: backward jump".into());
                        }
                        Ok(to - from <= 255)
                    };
                    if !far[i].0 && !reach(t)? {
                        far[i].0 = true;
                        changed = true;
                    }
                    if !far[i].1 && !reach(f)? {
                        far[i].1 = true;
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        if pos[n] > MAX_INSNS {
            return Err(format!("profile too large: {} BPF instructions (the kernel takes {MAX_INSNS})", pos[n]));
        }
        let mut out = Vec::with_capacity(pos[n]);
        let ja_to = |l: Label, from: usize| -> Result<SockFilter, String> {
            let to = pos[at(l)?];
            let k = to.checked_sub(from + 1).ok_or("internal: backward jump")?;
            Ok(SockFilter { code: BPF_JA, jt: 0, jf: 0, k: k as u32 })
        };
        for (i, ins) in self.code.iter().enumerate() {
            match *ins {
                Ins::Ld(off) => out.push(SockFilter { code: BPF_LD_W_ABS, jt: 0, jf: 0, k: off }),
                Ins::And(k) => out.push(SockFilter { code: BPF_ALU_AND_K, jt: 0, jf: 0, k }),
                Ins::Ret(k) => out.push(SockFilter { code: BPF_RET_K, jt: 0, jf: 0, k }),
                Ins::Ja(l) => out.push(ja_to(l, pos[i])?),
                Ins::Jmp { op, k, t, f } => {
                    let from = pos[i] + 1;
                    let (t_far, f_far) = far[i];
                    // Trampolines sit right after the jump: true's first, then false's.
                    let jt = if t_far { 0 } else { pos[at(t)?] - from };
                    let jf = if f_far { usize::from(t_far) } else { pos[at(f)?] - from };
                    let short = |o: usize| u8::try_from(o).map_err(|_| "internal: jump offset over 255".to_string());
                    out.push(SockFilter { code: op, jt: short(jt)?, jf: short(jf)?, k });
                    if t_far {
                        out.push(ja_to(t, from)?);
                    }
                    if f_far {
                        out.push(ja_to(f, from + usize::from(t_far))?);
                    }
                }
            }
        }
        Ok(out)
    }
}
