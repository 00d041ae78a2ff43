//! Checks the runtime spec requires before create may touch the system. Each error
//! names the field as a path in config.json.

use std::collections::HashSet;

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use super::SpecError;

/// Validate what runc and the runtime spec reject. The checks are the runtime's,
/// not serde's: types were already checked while parsing.
pub fn validate(spec: &Spec) -> Result<(), SpecError> {
    let version = spec.version();
    if version.is_empty() {
        return Err(SpecError::invalid("ociVersion", "must be set"));
    }
    if !version.starts_with("1.") {
        return Err(SpecError::invalid("ociVersion", format!("unsupported version {version:?}")));
    }
    let root = spec.root().as_ref().ok_or_else(|| SpecError::invalid("root", "must be set"))?;
    if root.path().as_os_str().is_empty() {
        return Err(SpecError::invalid("root.path", "must not be empty"));
    }
    if let Some(process) = spec.process() {
        let args = process.args().as_deref().unwrap_or_default();
        if args.is_empty() || args[0].is_empty() {
            return Err(SpecError::invalid("process.args", "must contain at least one element"));
        }
        if !process.cwd().is_absolute() {
            return Err(SpecError::invalid("process.cwd", format!("{:?} is not an absolute path", process.cwd())));
        }
        for (i, e) in process.env().as_deref().unwrap_or_default().iter().enumerate() {
            if !e.contains('=') || e.starts_with('=') {
                return Err(SpecError::invalid(format!("process.env[{i}]"), format!("{e:?} is not KEY=value")));
            }
        }
        let mut seen = HashSet::new();
        for (i, r) in process.rlimits().as_deref().unwrap_or_default().iter().enumerate() {
            let name = serde_json::to_value(r.typ()).ok().and_then(|v| v.as_str().map(str::to_string));
            let name = name.unwrap_or_else(|| format!("{:?}", r.typ()));
            if !seen.insert(name.clone()) {
                return Err(SpecError::invalid(format!("process.rlimits[{i}].type"), format!("duplicate {name}")));
            }
            if r.soft() > r.hard() {
                return Err(SpecError::invalid(
                    format!("process.rlimits[{i}]"),
                    format!("soft limit {} is above hard limit {}", r.soft(), r.hard()),
                ));
            }
        }
    }
    validate_hooks(spec)?;
    validate_linux(spec)
}

/// config.md "POSIX-platform Hooks": `path` MUST be absolute; `timeout`, if set,
/// MUST be greater than zero.
fn validate_hooks(spec: &Spec) -> Result<(), SpecError> {
    let Some(hooks) = spec.hooks() else { return Ok(()) };
    #[allow(deprecated)]
    let kinds = [
        ("prestart", hooks.prestart()),
        ("createRuntime", hooks.create_runtime()),
        ("createContainer", hooks.create_container()),
        ("startContainer", hooks.start_container()),
        ("poststart", hooks.poststart()),
        ("poststop", hooks.poststop()),
    ];
    for (kind, list) in kinds {
        for (i, h) in list.as_deref().unwrap_or_default().iter().enumerate() {
            if !h.path().is_absolute() {
                return Err(SpecError::invalid(
                    format!("hooks.{kind}[{i}].path"),
                    format!("{:?} is not an absolute path", h.path()),
                ));
            }
            if let Some(t) = h.timeout()
                && t <= 0
            {
                return Err(SpecError::invalid(format!("hooks.{kind}[{i}].timeout"), format!("{t} is not above 0")));
            }
        }
    }
    Ok(())
}

fn validate_linux(spec: &Spec) -> Result<(), SpecError> {
    let Some(linux) = spec.linux() else {
        return Ok(());
    };
    let namespaces = linux.namespaces().as_deref().unwrap_or_default();
    validate_namespaces(spec, linux, namespaces)?;
    let has = |t: LinuxNamespaceType| namespaces.iter().any(|n| n.typ() == t);
    let absolute = |field: &str, paths: &[String]| -> Result<(), SpecError> {
        match paths.iter().position(|p| !p.starts_with('/')) {
            Some(i) => {
                Err(SpecError::invalid(format!("{field}[{i}]"), format!("{:?} is not an absolute path", paths[i])))
            }
            None => Ok(()),
        }
    };
    // runc's words: both are mounts, which would land in the caller's mount
    // namespace.
    if !has(LinuxNamespaceType::Mount) {
        for (field, paths) in
            [("linux.maskedPaths", linux.masked_paths()), ("linux.readonlyPaths", linux.readonly_paths())]
        {
            if paths.as_ref().is_some_and(|p| !p.is_empty()) {
                return Err(SpecError::invalid(
                    field,
                    "unable to restrict sys entries without a private MNT namespace",
                ));
            }
        }
    }
    absolute("linux.maskedPaths", linux.masked_paths().as_deref().unwrap_or_default())?;
    absolute("linux.readonlyPaths", linux.readonly_paths().as_deref().unwrap_or_default())?;
    for (i, d) in linux.devices().as_deref().unwrap_or_default().iter().enumerate() {
        if !d.path().is_absolute() {
            return Err(SpecError::invalid(
                format!("linux.devices[{i}].path"),
                format!("{:?} is not an absolute path", d.path()),
            ));
        }
    }
    validate_device_rules(linux)?;
    for key in linux.sysctl().iter().flat_map(|s| s.keys()) {
        validate_sysctl(
            key,
            has(LinuxNamespaceType::Network),
            has(LinuxNamespaceType::Ipc),
            has(LinuxNamespaceType::Uts),
        )?;
    }
    Ok(())
}

/// runc's check of `linux.resources.devices` (libcontainer/specconv): every rule
/// names its access. What the access string holds is not checked: runc takes its
/// `r`, `w` and `m` and ignores anything else (see `cgroups::devices`).
fn validate_device_rules(linux: &oci_spec::runtime::Linux) -> Result<(), SpecError> {
    let rules = linux.resources().as_ref().and_then(|r| r.devices().as_ref());
    for (i, d) in rules.map(Vec::as_slice).unwrap_or_default().iter().enumerate() {
        if d.access().as_deref().unwrap_or_default().is_empty() {
            return Err(SpecError::invalid(
                format!("linux.resources.devices[{i}].access"),
                format!("device access at {i} field cannot be empty"),
            ));
        }
    }
    Ok(())
}

/// Each namespace once, joined by an absolute path; user namespace mappings
/// exactly with a new user namespace; hostname and domainname need a UTS one.
fn validate_namespaces(
    spec: &Spec,
    linux: &oci_spec::runtime::Linux,
    namespaces: &[oci_spec::runtime::LinuxNamespace],
) -> Result<(), SpecError> {
    let mut seen = HashSet::new();
    for (i, ns) in namespaces.iter().enumerate() {
        if !seen.insert(ns.typ()) {
            // runc's specconv refuses any second entry of a type, with or without
            // a path, in these words (Go's %q of the entry).
            let typ = serde_json::to_value(ns.typ()).ok().and_then(|v| v.as_str().map(str::to_string));
            let path = ns.path().as_ref().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
            return Err(SpecError::invalid(
                format!("linux.namespaces[{i}]"),
                format!("malformed spec file: duplicated ns {{{:?} {path:?}}}", typ.unwrap_or_default()),
            ));
        }
        if let Some(p) = ns.path()
            && !p.is_absolute()
        {
            return Err(SpecError::invalid(
                format!("linux.namespaces[{i}].path"),
                format!("{p:?} is not an absolute path"),
            ));
        }
    }
    let has = |t: LinuxNamespaceType| namespaces.iter().any(|n| n.typ() == t);
    let new_user = namespaces.iter().any(|n| n.typ() == LinuxNamespaceType::User && n.path().is_none());
    let has_maps = linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty())
        || linux.gid_mappings().as_ref().is_some_and(|m| !m.is_empty());
    if has_maps && !has(LinuxNamespaceType::User) {
        return Err(SpecError::invalid("linux.uidMappings", "user namespace mappings given without a user namespace"));
    }
    if new_user && !has_maps {
        return Err(SpecError::invalid("linux.uidMappings", "a new user namespace needs uid and gid mappings"));
    }
    if spec.hostname().as_deref().is_some_and(|h| !h.is_empty()) && !has(LinuxNamespaceType::Uts) {
        return Err(SpecError::invalid("hostname", "unable to set hostname without a private UTS namespace"));
    }
    if spec.domainname().as_deref().is_some_and(|h| !h.is_empty()) && !has(LinuxNamespaceType::Uts) {
        return Err(SpecError::invalid("domainname", "unable to set domainname without a private UTS namespace"));
    }
    Ok(())
}

/// A sysctl must be namespaced, and its namespace private (runc's rules).
fn validate_sysctl(key: &str, private_net: bool, private_ipc: bool, private_uts: bool) -> Result<(), SpecError> {
    let field = || format!("linux.sysctl.{key}");
    let net = key.starts_with("net.");
    let ipc = key.starts_with("kernel.msg")
        || key.starts_with("kernel.sem")
        || key.starts_with("kernel.shm")
        || key.starts_with("fs.mqueue.");
    if net && !private_net {
        return Err(SpecError::invalid(field(), "needs a private network namespace"));
    }
    if ipc && !private_ipc {
        return Err(SpecError::invalid(field(), "needs a private ipc namespace"));
    }
    // runc: kernel.domainname has no dedicated field to conflict with and is
    // namespaced by UTS; kernel.hostname conflicts with `hostname`.
    if key == "kernel.hostname" {
        return Err(SpecError::invalid(field(), "not allowed as it conflicts with the OCI \"hostname\" field"));
    }
    if key == "kernel.domainname" {
        return if private_uts { Ok(()) } else { Err(SpecError::invalid(field(), "needs a private uts namespace")) };
    }
    if !net && !ipc {
        return Err(SpecError::invalid(field(), "not a namespaced sysctl"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{default_spec, parse};
    use std::path::Path;

    fn check(mut v: serde_json::Value, edit: impl FnOnce(&mut serde_json::Value)) -> Result<(), SpecError> {
        edit(&mut v);
        let mut spec = parse("config.json".as_ref(), &v.to_string())?;
        crate::spec::normalize(&mut spec);
        validate(&spec)
    }

    fn err_text(r: Result<(), SpecError>) -> String {
        r.expect_err("expected an error").to_string()
    }

    #[test]
    fn relative_hook_path_and_zero_timeout_are_rejected() {
        let v = default_spec();
        let e = err_text(check(v.clone(), |v| v["hooks"] = serde_json::json!({"poststop": [{"path": "x"}]})));
        assert!(e.contains("hooks.poststop[0].path"), "{e}");
        let e = err_text(check(v, |v| v["hooks"] = serde_json::json!({"prestart": [{"path": "/x", "timeout": 0}]})));
        assert!(e.contains("hooks.prestart[0].timeout"), "{e}");
    }

    #[test]
    fn empty_args_names_process_args() {
        let e = err_text(check(default_spec(), |v| v["process"]["args"] = serde_json::json!([])));
        assert!(e.starts_with("process.args"), "{e}");
    }

    #[test]
    fn relative_cwd_is_rejected() {
        let e = err_text(check(default_spec(), |v| v["process"]["cwd"] = "tmp".into()));
        assert!(e.starts_with("process.cwd"), "{e}");
    }

    #[test]
    fn duplicate_namespace_names_the_index() {
        let e = err_text(check(crate::spec::generate::default_spec_for(false), |v| {
            v["linux"]["namespaces"].as_array_mut().unwrap().push(serde_json::json!({"type": "pid"}))
        }));
        assert!(e.starts_with("linux.namespaces[5]: malformed spec file: duplicated ns {\"pid\" \"\"}"), "{e}");
    }

    #[test]
    fn unknown_namespace_is_a_parse_error_with_field_path() {
        let e = err_text(check(default_spec(), |v| v["linux"]["namespaces"][0]["type"] = "bogus".into()));
        assert!(e.contains("linux.namespaces[0].type"), "{e}");
    }

    #[test]
    fn wrong_type_names_field() {
        let e = err_text(check(default_spec(), |v| v["process"]["user"]["uid"] = "root".into()));
        assert!(e.contains("process.user.uid"), "{e}");
    }

    #[test]
    fn relative_mount_destination_is_relative_to_root() {
        let mut v = default_spec();
        v["mounts"][0]["destination"] = "proc".into();
        let mut spec = parse("config.json".as_ref(), &v.to_string()).unwrap();
        crate::spec::normalize(&mut spec);
        assert_eq!(spec.mounts().as_ref().unwrap()[0].destination(), Path::new("/proc"));
        validate(&spec).unwrap();
    }

    #[test]
    fn no_linux_object_means_no_namespaces() {
        let mut v = default_spec();
        v.as_object_mut().unwrap().remove("linux");
        v.as_object_mut().unwrap().remove("hostname");
        let mut spec = parse("config.json".as_ref(), &v.to_string()).unwrap();
        crate::spec::normalize(&mut spec);
        let linux = spec.linux().as_ref().unwrap();
        assert!(linux.namespaces().is_none() && linux.masked_paths().is_none() && linux.readonly_paths().is_none());
        assert!(linux.resources().is_none());
        validate(&spec).unwrap();
        // Without a UTS namespace of its own, a hostname is refused as runc does.
        v["hostname"] = "box".into();
        let e = err_text(check(v, |_| {}));
        assert!(e.contains("unable to set hostname without a private UTS namespace"), "{e}");
    }

    #[test]
    fn hostname_without_uts_is_rejected() {
        let e = err_text(check(default_spec(), |v| {
            v["linux"]["namespaces"].as_array_mut().unwrap().retain(|n| n["type"] != "uts")
        }));
        assert!(e.starts_with("hostname"), "{e}");
    }

    #[test]
    fn net_sysctl_needs_network_namespace() {
        let e = err_text(check(default_spec(), |v| {
            v["linux"]["sysctl"] = serde_json::json!({"net.ipv4.ip_forward": "1"});
            v["linux"]["namespaces"].as_array_mut().unwrap().retain(|n| n["type"] != "network")
        }));
        assert!(e.starts_with("linux.sysctl.net.ipv4.ip_forward"), "{e}");
    }

    #[test]
    fn kernel_domainname_sysctl_needs_only_a_uts_namespace() {
        let set = |v: &mut serde_json::Value| v["linux"]["sysctl"] = serde_json::json!({"kernel.domainname": "x"});
        check(default_spec(), set).unwrap();
        let e = err_text(check(default_spec(), |v| {
            set(v);
            v["linux"]["namespaces"].as_array_mut().unwrap().retain(|n| n["type"] != "uts");
            v.as_object_mut().unwrap().remove("hostname");
        }));
        assert!(e.starts_with("linux.sysctl.kernel.domainname"), "{e}");
        let e = err_text(check(default_spec(), |v| v["linux"]["sysctl"] = serde_json::json!({"kernel.hostname": "x"})));
        assert!(e.contains("conflicts with the OCI \"hostname\" field"), "{e}");
    }

    #[test]
    fn user_namespace_needs_mappings() {
        let e = err_text(check(default_spec(), |v| {
            v["linux"]["namespaces"].as_array_mut().unwrap().push(serde_json::json!({"type": "user"}))
        }));
        assert!(e.starts_with("linux.uidMappings"), "{e}");
    }

    #[test]
    fn soft_rlimit_above_hard_is_rejected() {
        let e = err_text(check(default_spec(), |v| v["process"]["rlimits"][0]["soft"] = 4096.into()));
        assert!(e.starts_with("process.rlimits[0]"), "{e}");
    }
}
