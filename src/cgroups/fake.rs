//! A recording `CgroupManager` for the unit tests of `container/` (as youki's
//! libcgroups test_manager.rs): every call in order, nothing on the host.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

use nix::unistd::Pid;
use oci_spec::runtime::LinuxResources;

use super::{CgroupError, CgroupManager, FreezerState, Stats};

/// One recorded call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CgCall {
    Create,
    /// `set`, with the memory limit and pids limit it was given.
    Set {
        memory: Option<i64>,
        pids: Option<i64>,
    },
    AddTask(i32),
    AddTaskExceptSelfJoin(i32),
    Pids,
    Freeze(FreezerState),
    IsFrozen,
    Destroy,
}

/// Answers as configured (`frozen`, `pids`, `self_join`) and records; the
/// recording is shared (`calls`) so a test keeps it after the manager is boxed.
#[derive(Default, Clone)]
pub(crate) struct FakeManager {
    pub calls: Rc<RefCell<Vec<CgCall>>>,
    pub frozen: bool,
    pub pids: Vec<Pid>,
    pub self_join: Vec<PathBuf>,
}

impl FakeManager {
    fn push(&self, c: CgCall) {
        self.calls.borrow_mut().push(c);
    }
}

impl CgroupManager for FakeManager {
    fn create(&self) -> Result<(), CgroupError> {
        self.push(CgCall::Create);
        Ok(())
    }

    fn set(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        let memory = r.memory().as_ref().and_then(|m| m.limit());
        let pids = r.pids().as_ref().map(|p| p.limit());
        self.push(CgCall::Set { memory, pids });
        Ok(())
    }

    fn add_task(&self, pid: Pid) -> Result<(), CgroupError> {
        self.push(CgCall::AddTask(pid.as_raw()));
        Ok(())
    }

    fn self_join_files(&self) -> Vec<PathBuf> {
        self.self_join.clone()
    }

    fn add_task_except_self_join(&self, pid: Pid) -> Result<(), CgroupError> {
        self.push(CgCall::AddTaskExceptSelfJoin(pid.as_raw()));
        Ok(())
    }

    fn pids(&self) -> Result<Vec<Pid>, CgroupError> {
        self.push(CgCall::Pids);
        Ok(self.pids.clone())
    }

    fn freeze(&self, state: FreezerState) -> Result<(), CgroupError> {
        self.push(CgCall::Freeze(state));
        Ok(())
    }

    fn is_frozen(&self) -> Result<bool, CgroupError> {
        self.push(CgCall::IsFrozen);
        Ok(self.frozen)
    }

    fn destroy(&self) -> Result<(), CgroupError> {
        self.push(CgCall::Destroy);
        Ok(())
    }

    fn paths(&self) -> Vec<PathBuf> {
        Vec::new()
    }

    fn stats(&self) -> Result<Stats, CgroupError> {
        Ok(Stats::default())
    }

    fn oom_kills(&self) -> u64 {
        0
    }
}
