//! /proc/<pid>/mountinfo, parsed once for everyone who reads it (the cgroup
//! layout, the cgroup mounts of the rootfs). Format: proc(5) — fields up to an
//! optional-field list ended by "-", then fstype, source and super options; paths
//! escape space, tab, newline and backslash as octal (`\040`).

use std::path::PathBuf;

/// One mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountInfo {
    /// The mount's id (field 1); unique while it is mounted.
    pub id: u64,
    /// The directory of the filesystem mounted there (`/`: the whole of it).
    pub root: PathBuf,
    /// Where it is mounted, unescaped.
    pub mountpoint: PathBuf,
    pub fstype: String,
    /// Super options (`rw,memory`; for cgroup v1 the controllers), in order.
    pub super_options: Vec<String>,
}

/// Every well-formed line of a mountinfo text; malformed lines are skipped.
pub fn parse(text: &str) -> Vec<MountInfo> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<MountInfo> {
    let (left, right) = line.split_once(" - ")?;
    let mut fields = left.split(' ');
    let id = fields.next()?.parse().ok()?;
    let root = fields.nth(2)?;
    let mountpoint = fields.next()?;
    let mut r = right.split(' ');
    let fstype = r.next()?.to_string();
    let super_options = r.nth(1).unwrap_or_default().split(',').map(str::to_string).collect();
    Some(MountInfo {
        id,
        root: PathBuf::from(unescape(root)),
        mountpoint: PathBuf::from(unescape(mountpoint)),
        fstype,
        super_options,
    })
}

/// `\040` and the other octal escapes the kernel writes, back to bytes.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b.get(i + 1..i + 4).filter(|d| b[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_after_the_separator_and_escaped_paths() {
        let text = "30 23 0:26 / /sys/fs/cgroup/memory rw,nosuid shared:12 - cgroup cgroup rw,memory\n\
                    31 23 0:27 / /mnt/with\\040space rw master:1 shared:2 - tmpfs tmpfs rw,size=4k\n\
                    garbage\n";
        let m = parse(text);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].mountpoint, PathBuf::from("/sys/fs/cgroup/memory"));
        assert_eq!(m[0].fstype, "cgroup");
        assert_eq!(m[0].super_options, ["rw", "memory"]);
        assert_eq!(m[1].mountpoint, PathBuf::from("/mnt/with space"));
        assert_eq!(m[1].super_options, ["rw", "size=4k"]);
    }
}
