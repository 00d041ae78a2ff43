//! `--user` resolved as docker (moby/sys/user GetExecUser) does: `name`,
//! `uid`, `name:group`, `uid:gid`, looked up in the container's /etc/passwd
//! and /etc/group; supplementary groups from /etc/group only when the user
//! was named and no group was given.

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub(crate) enum UserError {
    #[error("unable to find user {0}: no matching entries in passwd file")]
    NoUser(String),
    #[error("unable to find group {0}: no matching entries in group file")]
    NoGroup(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExecUser {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub home: String,
}

struct PasswdEntry {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

struct GroupEntry {
    name: String,
    gid: u32,
    members: Vec<String>,
}

fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 4 || l.starts_with('#') {
                return None;
            }
            Some(PasswdEntry {
                name: f[0].to_string(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f.get(5).unwrap_or(&"").to_string(),
            })
        })
        .collect()
}

fn parse_group(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 3 || l.starts_with('#') {
                return None;
            }
            Some(GroupEntry {
                name: f[0].to_string(),
                gid: f[2].parse().ok()?,
                members: f
                    .get(3)
                    .map(|m| m.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect())
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// Resolve `spec` against the passwd and group files of a rootfs (missing
/// files count as empty, as in docker).
pub(crate) fn resolve_in(rootfs: &Path, spec: &str) -> Result<ExecUser, UserError> {
    let passwd = std::fs::read_to_string(rootfs.join("etc/passwd")).unwrap_or_default();
    let group = std::fs::read_to_string(rootfs.join("etc/group")).unwrap_or_default();
    resolve(spec, &passwd, &group)
}

/// `--group-add` entries (names in the rootfs's /etc/group, or numbers) as gids.
pub(crate) fn group_ids_in(rootfs: &Path, names: &[String]) -> Result<Vec<u32>, UserError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let group = std::fs::read_to_string(rootfs.join("etc/group")).unwrap_or_default();
    let groups = parse_group(&group);
    names
        .iter()
        .map(|n| match groups.iter().find(|e| &e.name == n) {
            Some(e) => Ok(e.gid),
            None => n.parse().map_err(|_| UserError::NoGroup(n.clone())),
        })
        .collect()
}

pub(crate) fn resolve(spec: &str, passwd: &str, group: &str) -> Result<ExecUser, UserError> {
    let (user_part, group_part) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let users = parse_passwd(passwd);
    let mut out = ExecUser { uid: 0, gid: 0, additional_gids: Vec::new(), home: "/".to_string() };
    let mut matched_name = None;
    if !user_part.is_empty() {
        if let Some(e) = users.iter().find(|e| e.name == user_part) {
            (out.uid, out.gid, out.home) = (e.uid, e.gid, e.home.clone());
            matched_name = Some(e.name.clone());
        } else if let Ok(uid) = user_part.parse::<u32>() {
            out.uid = uid;
            if let Some(e) = users.iter().find(|e| e.uid == uid) {
                (out.gid, out.home) = (e.gid, e.home.clone());
            }
        } else {
            return Err(UserError::NoUser(user_part.to_string()));
        }
    } else if let Some(e) = users.iter().find(|e| e.uid == 0) {
        out.home = e.home.clone();
    }
    let groups = parse_group(group);
    match group_part {
        Some(g) if !g.is_empty() => {
            out.gid = match groups.iter().find(|e| e.name == g) {
                Some(e) => e.gid,
                None => g.parse().map_err(|_| UserError::NoGroup(g.to_string()))?,
            };
        }
        _ => {
            if let Some(name) = matched_name {
                out.additional_gids = groups.iter().filter(|e| e.members.contains(&name)).map(|e| e.gid).collect();
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/var/www:/bin/sh\nnobody:x:65534:65534::/nonexistent:/bin/false\n";
    const GROUP: &str = "root:x:0:\nwww:x:33:\nadm:x:4:www,other\nstaff:x:50:www\nnogroup:x:65534:\n";

    #[test]
    fn empty_is_root() {
        let u = resolve("", PASSWD, GROUP).unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (0, 0, "/root"));
    }

    #[test]
    fn name_gets_gid_home_and_supplementary_groups() {
        let u = resolve("www", PASSWD, GROUP).unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (33, 33, "/var/www"));
        assert_eq!(u.additional_gids, vec![4, 50]);
    }

    #[test]
    fn explicit_group_drops_supplementary() {
        let u = resolve("www:nogroup", PASSWD, GROUP).unwrap();
        assert_eq!((u.uid, u.gid), (33, 65534));
        assert!(u.additional_gids.is_empty());
    }

    #[test]
    fn numeric_ids_need_no_entries() {
        let u = resolve("1234:5678", PASSWD, GROUP).unwrap();
        assert_eq!((u.uid, u.gid), (1234, 5678));
        let u = resolve("33", PASSWD, GROUP).unwrap();
        assert_eq!((u.uid, u.gid), (33, 33), "a known uid takes its passwd gid");
        assert!(u.additional_gids.is_empty(), "docker adds no supplementary groups for a numeric user");
    }

    #[test]
    fn unknown_names_fail_as_docker() {
        assert_eq!(
            resolve("ghost", PASSWD, GROUP).unwrap_err().to_string(),
            "unable to find user ghost: no matching entries in passwd file"
        );
        assert_eq!(
            resolve("www:ghosts", PASSWD, GROUP).unwrap_err().to_string(),
            "unable to find group ghosts: no matching entries in group file"
        );
    }
}
