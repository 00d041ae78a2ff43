//! Namespaces for create, init and exec: which ones clone makes, which init
//! joins by path or unshares afterwards, when a fork is needed for them to take
//! effect (or a child is cloned into a pid namespace), the time namespace's
//! offsets, and becoming root in a new user namespace.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use oci_spec::runtime::{Linux, LinuxNamespace, LinuxNamespaceType};

use super::error::Cause;
use crate::sys;
use crate::sys::ops::{CredOps, NsOps};
use crate::sys::process::{Forked, clone_fork};

pub(super) const CLONE_NEWTIME: CloneFlags = CloneFlags::from_bits_retain(libc::CLONE_NEWTIME);

/// What `create` does with `linux.namespaces` before and at clone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Plan {
    /// Made by clone(2) itself.
    pub clone: CloneFlags,
    /// A user namespace is created (not joined): the parent writes its maps.
    pub new_user: bool,
    /// A user namespace is joined by path: init unshares the rest after setns.
    pub join_user: bool,
    /// A time namespace is created by `create` before clone (see
    /// [`new_time_namespace`]); init's flags then include CLONE_NEWTIME.
    pub new_time: bool,
}

impl Plan {
    /// Namespaces created at clone time, so that they are owned by a new user
    /// namespace created in the same call. When joining an existing user
    /// namespace, init unshares them after setns instead. The cgroup namespace is
    /// always unshared by init once it is in the container's cgroup, so that
    /// cgroup becomes the namespace's root; time namespaces cannot be created by
    /// clone(2).
    pub fn new(namespaces: &[LinuxNamespace]) -> Plan {
        let is = |n: &LinuxNamespace, t| n.typ() == t;
        let new_user = namespaces.iter().any(|n| is(n, LinuxNamespaceType::User) && n.path().is_none());
        let join_user = namespaces.iter().any(|n| is(n, LinuxNamespaceType::User) && n.path().is_some());
        let mut clone = CloneFlags::empty();
        if !join_user {
            let late = [LinuxNamespaceType::Time, LinuxNamespaceType::Cgroup];
            for ns in namespaces.iter().filter(|n| n.path().is_none() && !late.contains(&n.typ())) {
                clone |= CloneFlags::from_bits_retain(ns.typ() as i32);
            }
        }
        let new_time = !join_user && namespaces.iter().any(|n| is(n, LinuxNamespaceType::Time) && n.path().is_none());
        Plan { clone, new_user, join_user, new_time }
    }

    /// The namespaces init is in once set up (a new time namespace is entered
    /// through `create`'s own, see [`new_time_namespace`]; [`Plan::early`] ones
    /// are made by init itself).
    pub fn init_flags(&self) -> CloneFlags {
        if self.new_time { self.clone | CLONE_NEWTIME } else { self.clone }
    }

    /// Of `clone`, what init unshares itself as its first step, while `create`
    /// makes the cgroup (in parallel, on another CPU): the network namespace,
    /// most of clone's cost (the kernel's copy_net_ns, ~0.6 ms). Not with a user
    /// namespace, which must own it and is made by the same clone.
    pub fn early(&self) -> CloneFlags {
        if self.new_user || self.join_user { CloneFlags::empty() } else { self.clone & CloneFlags::CLONE_NEWNET }
    }

    /// What the clone itself makes.
    pub fn at_clone(&self) -> CloneFlags {
        self.clone - self.early()
    }
}

/// Namespaces joined by path, opened before any is joined (after joining a
/// mount namespace the paths would resolve elsewhere), user namespace first so
/// the others are joined with its privileges.
pub(super) fn open_paths(namespaces: &[LinuxNamespace]) -> Result<Vec<(OwnedFd, CloneFlags, &Path)>, Cause> {
    let mut to_join = Vec::new();
    for ns in namespaces {
        if let Some(p) = ns.path() {
            let fd = sys::fd::open(p.as_path(), OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
                .map_err(|e| sys::Error::with_path("open namespace", p, e))?;
            to_join.push((fd, CloneFlags::from_bits_retain(ns.typ() as i32), p.as_path()));
        }
    }
    to_join.sort_by_key(|(_, f, _)| *f != CloneFlags::CLONE_NEWUSER);
    Ok(to_join)
}

/// setns into each, in order. Returns whether a pid namespace was joined: that
/// takes effect for children only, so the caller must fork.
pub(super) fn join<P: AsRef<Path>>(ops: &dyn NsOps, to_join: &[(OwnedFd, CloneFlags, P)]) -> Result<bool, Cause> {
    let mut needs_fork = false;
    for (fd, flag, path) in to_join {
        ops.setns(fd.as_fd(), *flag).map_err(|e| sys::Error::with_path("setns", path.as_ref(), e))?;
        needs_fork |= *flag == CloneFlags::CLONE_NEWPID;
    }
    Ok(needs_fork)
}

/// clone(2) a child into the pid namespace `fd` (`path`, for errors), as
/// [`clone_fork`]: setns(CLONE_NEWPID) changes only the namespace our children
/// are born in, never our own, and we go back to ours right after the clone so
/// that nothing else we start is born in there. Needs CAP_SYS_ADMIN over the
/// namespace (no user namespace to join).
pub(super) fn clone_in_pid_namespace(fd: &OwnedFd, path: &str) -> Result<Forked, Cause> {
    const OWN: &str = "/proc/self/ns/pid";
    let own = sys::fd::open(OWN, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| sys::Error::with_path("open namespace", OWN, e))?;
    nix::sched::setns(fd, CloneFlags::CLONE_NEWPID).map_err(|e| sys::Error::with_path("setns", path, e))?;
    let forked = clone_fork(CloneFlags::empty());
    if let Ok(Forked::Child) = forked {
        return Ok(Forked::Child);
    }
    let back = nix::sched::setns(&own, CloneFlags::CLONE_NEWPID).map_err(|e| sys::Error::with_path("setns", OWN, e));
    match (forked?, back) {
        (Forked::Parent(pid), Err(e)) => {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(pid, None);
            Err(e.into())
        }
        (forked, _) => Ok(forked),
    }
}

/// The namespaces to create that clone did not (`made`).
pub(super) fn to_unshare(namespaces: &[LinuxNamespace], made: CloneFlags) -> CloneFlags {
    let mut unshare = CloneFlags::empty();
    for ns in namespaces.iter().filter(|n| n.path().is_none()) {
        let flag = CloneFlags::from_bits_retain(ns.typ() as i32);
        if !made.contains(flag) {
            unshare |= flag;
        }
    }
    unshare
}

/// unshare(2) `flags` (none: nothing). Returns whether a fork must follow: a new
/// pid or time namespace holds only the children of the caller.
pub(super) fn unshare(ops: &dyn NsOps, flags: CloneFlags, linux: &Linux) -> Result<bool, Cause> {
    if flags.is_empty() {
        return Ok(false);
    }
    ops.unshare(flags).map_err(|e| sys::Error::new("unshare", e))?;
    if flags.contains(CLONE_NEWTIME) {
        write_time_offsets(linux)?;
    }
    Ok(flags.intersects(CloneFlags::CLONE_NEWPID | CLONE_NEWTIME))
}

/// In a new user namespace we are still the host's root, which it does not map:
/// become its root (the mapped uid/gid 0) so files we create, mounts we make and
/// the process we exec carry ids that exist in there.
pub(super) fn become_root(ops: &dyn CredOps, allow_setgroups: bool) -> Result<(), Cause> {
    let root_gid = nix::unistd::Gid::from_raw(0);
    let root_uid = nix::unistd::Uid::from_raw(0);
    if allow_setgroups {
        ops.setgroups(&[]).map_err(|e| sys::Error::new("setgroups", e))?;
    }
    ops.setresgid(root_gid).map_err(|e| sys::Error::new("setresgid 0 in user namespace", e))?;
    ops.setresuid(root_uid).map_err(|e| sys::Error::new("setresuid 0 in user namespace", e))?;
    Ok(())
}

/// In `create`, before clone: unshare a time namespace for our children and write
/// its offsets. Returns our own (the runtime's) time namespace, to go back to.
pub(super) fn new_time_namespace(linux: &Linux) -> Result<OwnedFd, Cause> {
    let own = sys::fd::open("/proc/self/ns/time", OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| sys::Error::with_path("open namespace", "/proc/self/ns/time", e))?;
    nix::sched::unshare(CLONE_NEWTIME).map_err(|e| sys::Error::new("unshare CLONE_NEWTIME", e))?;
    write_time_offsets(linux)?;
    Ok(own)
}

/// Back to the runtime's own time namespace (for children: the hooks).
pub(super) fn restore_time_namespace(own: OwnedFd) -> Result<(), Cause> {
    nix::sched::setns(own, CLONE_NEWTIME).map_err(|e| sys::Error::with_path("setns", "/proc/self/ns/time", e))?;
    Ok(())
}

fn write_time_offsets(linux: &Linux) -> Result<(), Cause> {
    let Some(offsets) = linux.time_offsets() else { return Ok(()) };
    let mut text = String::new();
    for (clock, o) in offsets {
        let name = match clock.as_str() {
            "monotonic" | "boottime" => clock.as_str(),
            other => {
                return Err(
                    crate::spec::SpecError::invalid(format!("linux.timeOffsets.{other}"), "unknown clock").into()
                );
            }
        };
        text.push_str(&format!("{name} {} {}\n", o.secs().unwrap_or(0), o.nanosecs().unwrap_or(0)));
    }
    std::fs::write("/proc/self/timens_offsets", text).map_err(|source| Cause::Io {
        what: "linux.timeOffsets",
        path: "/proc/self/timens_offsets".into(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::ops::fake::{Call, Recorder};
    use oci_spec::runtime::LinuxNamespaceBuilder;

    fn setns_types(calls: &[Call]) -> Vec<CloneFlags> {
        calls.iter().filter_map(|c| if let Call::Setns { nstype, .. } = c { Some(*nstype) } else { None }).collect()
    }

    fn ns(t: LinuxNamespaceType, path: Option<&str>) -> LinuxNamespace {
        let b = LinuxNamespaceBuilder::default().typ(t);
        match path {
            Some(p) => b.path(p).build().unwrap(),
            None => b.build().unwrap(),
        }
    }

    #[test]
    fn clone_makes_all_but_cgroup_and_time() {
        use LinuxNamespaceType::*;
        let p = Plan::new(&[ns(Pid, None), ns(Mount, None), ns(Cgroup, None), ns(Time, None), ns(User, None)]);
        assert_eq!(p.clone, CloneFlags::CLONE_NEWPID | CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWUSER);
        assert!(p.new_user && !p.join_user && p.new_time);
        assert_eq!(p.init_flags(), p.clone | CLONE_NEWTIME);
        assert_eq!(to_unshare(&[ns(Pid, None), ns(Cgroup, None)], p.clone), CloneFlags::CLONE_NEWCGROUP);
    }

    #[test]
    fn init_makes_the_network_namespace_itself_unless_a_user_namespace_owns_it() {
        use LinuxNamespaceType::*;
        let p = Plan::new(&[ns(Pid, None), ns(Network, None), ns(Mount, None)]);
        assert_eq!(p.early(), CloneFlags::CLONE_NEWNET);
        assert_eq!(p.at_clone(), CloneFlags::CLONE_NEWPID | CloneFlags::CLONE_NEWNS);
        assert_eq!(p.init_flags(), p.clone, "init is in it before it reads its config's namespaces");
        let p = Plan::new(&[ns(User, None), ns(Network, None)]);
        assert_eq!((p.early(), p.at_clone()), (CloneFlags::empty(), p.clone));
        let p = Plan::new(&[ns(Pid, None), ns(Network, Some("/proc/1/ns/net"))]);
        assert_eq!((p.early(), p.at_clone()), (CloneFlags::empty(), CloneFlags::CLONE_NEWPID));
    }

    #[test]
    fn joining_a_user_namespace_leaves_every_creation_to_init() {
        use LinuxNamespaceType::*;
        let list = [ns(User, Some("/proc/1/ns/user")), ns(Mount, None), ns(Time, None), ns(Network, Some("/x"))];
        let p = Plan::new(&list);
        assert_eq!(p.clone, CloneFlags::empty());
        assert!(!p.new_user && p.join_user && !p.new_time);
        assert_eq!(to_unshare(&list, p.init_flags()), CloneFlags::CLONE_NEWNS | CLONE_NEWTIME);
    }

    #[test]
    fn init_joins_the_user_namespace_first_unshares_the_rest_and_becomes_root() {
        use LinuxNamespaceType::*;
        let list = [
            ns(Network, Some("/proc/self/ns/net")),
            ns(User, Some("/proc/self/ns/user")),
            ns(Mount, None),
            ns(Cgroup, None),
        ];
        let plan = Plan::new(&list);
        let rec = Recorder::default();
        let needs_fork = join(&rec, &open_paths(&list).unwrap()).unwrap();
        let flags = to_unshare(&list, plan.init_flags());
        let fork_after_unshare = unshare(&rec, flags, &Linux::default()).unwrap();
        become_root(&rec, false).unwrap();
        assert!(!needs_fork && !fork_after_unshare);
        assert_eq!(setns_types(&rec.calls()), [CloneFlags::CLONE_NEWUSER, CloneFlags::CLONE_NEWNET]);
        assert_eq!(
            rec.calls()[2..],
            [
                Call::Unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWCGROUP),
                // No setgroups: a rootless parent could not allow it.
                Call::Setresgid(0),
                Call::Setresuid(0),
            ]
        );
        let rec = Recorder::default();
        become_root(&rec, true).unwrap();
        assert_eq!(rec.calls(), [Call::Setgroups(vec![]), Call::Setresgid(0), Call::Setresuid(0)]);
    }

    #[test]
    fn a_joined_or_new_pid_namespace_needs_a_fork() {
        use LinuxNamespaceType::*;
        let rec = Recorder::default();
        assert!(join(&rec, &open_paths(&[ns(Pid, Some("/proc/self/ns/pid"))]).unwrap()).unwrap());
        assert!(unshare(&rec, CloneFlags::CLONE_NEWPID, &Linux::default()).unwrap());
        assert!(!unshare(&rec, CloneFlags::empty(), &Linux::default()).unwrap());
        assert_eq!(rec.calls().len(), 2, "nothing to unshare makes no call");
    }
}
