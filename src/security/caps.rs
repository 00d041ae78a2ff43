//! Capabilities: the five sets of `process.capabilities`, applied as runc does.
//! Names the kernel does not know are skipped with a warning (runc's behaviour);
//! names nobody knows were already rejected when config.json was parsed.

use std::collections::HashSet;

use caps::{CapSet, Capability as KCap, CapsHashSet};
use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities};

use super::SecurityError;

fn kernel_cap(c: &Capability) -> Option<KCap> {
    let name = serde_json::to_value(c).ok()?;
    name.as_str()?.parse::<KCap>().ok().filter(|k| caps::all().contains(k))
}

/// The kernel's capabilities for one OCI set (absent = empty).
fn to_set(set: &Option<Capabilities>) -> CapsHashSet {
    let mut out = HashSet::new();
    for c in set.iter().flatten() {
        match kernel_cap(c) {
            Some(k) => {
                out.insert(k);
            }
            None => tracing::warn!(capability = %c, "capability unknown to this kernel, ignored"),
        }
    }
    out
}

fn err(field: &'static str) -> impl Fn(caps::errors::CapsError) -> SecurityError {
    move |e| SecurityError::Caps { field, what: e.to_string() }
}

/// Drop every capability not in `caps.bounding` from the bounding set. Runs before
/// the uid switch, while init still holds CAP_SETPCAP.
pub fn drop_bounding(caps: Option<&LinuxCapabilities>) -> Result<(), SecurityError> {
    let keep = to_set(&caps.and_then(|c| c.bounding().clone()));
    for c in caps::all() {
        if !keep.contains(&c) {
            caps::drop(None, CapSet::Bounding, c).map_err(err("process.capabilities.bounding"))?;
        }
    }
    Ok(())
}

/// The sets `apply` left for one last capset, once the seccomp filter is loaded.
#[derive(Debug, Clone, Copy)]
pub struct Deferred {
    effective: u64,
    permitted: u64,
    inheritable: u64,
}

fn bits(set: &CapsHashSet) -> u64 {
    set.iter().fold(0, |acc, c| acc | c.bitmask())
}

/// Set inheritable, effective and permitted exactly as listed, then ambient. Runs
/// after the uid switch (with PR_SET_KEEPCAPS set around it). CVE-2022-29162: an
/// absent inheritable set means empty.
///
/// `keep_sys_admin`: a seccomp filter is still to be loaded without no_new_privs,
/// which needs CAP_SYS_ADMIN. Loading it here would make every call after it
/// (capset, prctl, close_range, the exec fifo) need the profile's permission, so
/// CAP_SYS_ADMIN stays effective and permitted on top of the listed sets and the
/// exact sets come back as `Deferred`, for [`finish`] right after the filter
/// (one capset, the only call between the filter and execve). Ambient
/// capabilities are raised here already: the final capset keeps those that stay
/// permitted and inheritable, as the kernel does for any capset.
pub fn apply(caps: Option<&LinuxCapabilities>, keep_sys_admin: bool) -> Result<Option<Deferred>, SecurityError> {
    let get = |f: fn(&LinuxCapabilities) -> &Option<Capabilities>| to_set(&caps.and_then(|c| f(c).clone()));
    let inheritable = get(LinuxCapabilities::inheritable);
    let mut effective = get(LinuxCapabilities::effective);
    let mut permitted = get(LinuxCapabilities::permitted);
    let ambient = get(LinuxCapabilities::ambient);
    let admin = KCap::CAP_SYS_ADMIN;
    let deferred = (keep_sys_admin
        && !(effective.contains(&admin) && permitted.contains(&admin))
        && current_permitted().contains(&admin))
    .then(|| Deferred { effective: bits(&effective), permitted: bits(&permitted), inheritable: bits(&inheritable) });
    if deferred.is_some() {
        effective.insert(admin);
        permitted.insert(admin);
    }
    // Order matters: inheritable may only grow within the old permitted set, and
    // effective must stay a subset of permitted at every step.
    caps::set(None, CapSet::Inheritable, &inheritable).map_err(err("process.capabilities.inheritable"))?;
    caps::set(None, CapSet::Effective, &effective.intersection(&current_permitted()).copied().collect())
        .map_err(err("process.capabilities.effective"))?;
    caps::set(None, CapSet::Permitted, &permitted).map_err(err("process.capabilities.permitted"))?;
    caps::set(None, CapSet::Effective, &effective).map_err(err("process.capabilities.effective"))?;
    caps::clear(None, CapSet::Ambient).map_err(err("process.capabilities.ambient"))?;
    for c in ambient {
        // An ambient capability needs to be permitted and inheritable too; runc
        // skips one that is not without a word (`berth spec`'s own config asks
        // for three ambient capabilities and no inheritable ones), so only
        // --debug shows it.
        if let Err(e) = caps::raise(None, CapSet::Ambient, c) {
            tracing::debug!(capability = %c, error = %e, "cannot raise ambient capability");
        }
    }
    Ok(deferred)
}

/// The last capset of [`apply`], after the seccomp filter: drop what was kept.
pub fn finish(d: &Deferred) -> Result<(), SecurityError> {
    crate::sys::capset::set(d.effective, d.permitted, d.inheritable)
        .map_err(|source| SecurityError::Sys { call: "capset (process.capabilities)", source })
}

fn current_permitted() -> CapsHashSet {
    caps::read(None, CapSet::Permitted).unwrap_or_default()
}

/// PR_SET_KEEPCAPS: keep permitted capabilities across the uid change.
pub fn set_keep_caps(keep: bool) -> Result<(), SecurityError> {
    nix::sys::prctl::set_keepcaps(keep)
        .map_err(|e| SecurityError::Sys { call: "prctl PR_SET_KEEPCAPS", source: crate::sys::Error::new("prctl", e) })
}

/// PR_SET_NO_NEW_PRIVS.
pub fn set_no_new_privs() -> Result<(), SecurityError> {
    nix::sys::prctl::set_no_new_privs().map_err(|e| SecurityError::Sys {
        call: "prctl PR_SET_NO_NEW_PRIVS",
        source: crate::sys::Error::new("prctl", e),
    })
}

/// Capability names this kernel knows, as `CAP_*` strings, sorted.
pub fn known_names() -> Vec<String> {
    let mut v: Vec<String> = caps::all().iter().map(|c| c.to_string()).collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oci_names_map_to_kernel_caps() {
        assert_eq!(kernel_cap(&Capability::SysAdmin), Some(KCap::CAP_SYS_ADMIN));
        assert_eq!(kernel_cap(&Capability::NetBindService), Some(KCap::CAP_NET_BIND_SERVICE));
    }

    #[test]
    fn absent_set_is_empty() {
        assert!(to_set(&None).is_empty());
    }

    #[test]
    fn known_names_are_cap_prefixed_and_sorted() {
        let n = known_names();
        assert!(n.iter().all(|c| c.starts_with("CAP_")));
        assert!(n.windows(2).all(|w| w[0] <= w[1]));
        assert!(n.contains(&"CAP_KILL".to_string()));
    }
}
