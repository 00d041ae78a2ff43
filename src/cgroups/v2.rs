//! cgroup v2 specifics: runc's value conversions and the freezer.

use std::path::Path;
use std::time::Duration;

use super::dirs::{read, write};
use super::{CgroupError, FreezerState};

/// cpu.shares (2..262144) to cpu.weight (1..10000), runc's formula.
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    1 + ((shares.clamp(2, 262_144) - 2) * 9999) / 262_142
}

/// blkio weight (10..1000) to io.weight (1..10000), runc's formula.
pub fn blkio_weight_to_io(weight: u16) -> u64 {
    if weight == 0 {
        return 0;
    }
    1 + (u64::from(weight).saturating_sub(10)) * 9999 / 990
}

/// memory.swap.max from OCI's swap (memory + swap): swap - limit; -1 is "max".
pub fn swap_max(swap: i64, limit: Option<i64>) -> Result<String, String> {
    if swap == -1 {
        return Ok("max".into());
    }
    match limit {
        Some(l) if l > 0 => {
            if swap < l {
                return Err(format!("memory+swap {swap} is below memory {l}"));
            }
            Ok((swap - l).to_string())
        }
        _ => Err("swap needs a memory limit on cgroup v2".into()),
    }
}

/// cpu.max "quota period"; a missing quota keeps the current one, -1 is "max".
pub fn cpu_max(quota: Option<i64>, period: Option<u64>, current: Option<&str>) -> String {
    let mut cur = current.unwrap_or("max 100000").split_whitespace();
    let (cur_q, cur_p) = (cur.next().unwrap_or("max").to_string(), cur.next().unwrap_or("100000").to_string());
    let q = match quota {
        Some(q) if q > 0 => q.to_string(),
        Some(_) => "max".into(),
        None => cur_q,
    };
    let p = period.filter(|p| *p > 0).map(|p| p.to_string()).unwrap_or(cur_p);
    format!("{q} {p}")
}

/// cgroup.freeze, then wait for cgroup.events to say so.
pub(super) fn freeze(dir: &Path, state: FreezerState) -> Result<(), CgroupError> {
    let (v, want) = match state {
        FreezerState::Frozen => ("1", "frozen 1"),
        FreezerState::Thawed => ("0", "frozen 0"),
    };
    write(&dir.join("cgroup.freeze"), v, "cgroup.freeze")?;
    for _ in 0..1000 {
        if read(&dir.join("cgroup.events")).unwrap_or_default().lines().any(|l| l == want) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Err(CgroupError::FreezeTimeout {
        path: dir.join("cgroup.freeze"),
        state: if v == "1" { "frozen" } else { "thawed" },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_convert_like_runc() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
    }

    #[test]
    fn blkio_weight_converts_like_runc() {
        assert_eq!(blkio_weight_to_io(10), 1);
        assert_eq!(blkio_weight_to_io(1000), 10_000);
    }

    #[test]
    fn swap_is_memory_plus_swap() {
        assert_eq!(swap_max(200, Some(100)).unwrap(), "100");
        assert_eq!(swap_max(-1, Some(100)).unwrap(), "max");
        assert!(swap_max(50, Some(100)).is_err());
    }

    #[test]
    fn cpu_max_keeps_what_is_not_given() {
        assert_eq!(cpu_max(Some(50_000), None, Some("max 100000")), "50000 100000");
        assert_eq!(cpu_max(None, Some(20_000), Some("10000 100000")), "10000 20000");
        assert_eq!(cpu_max(Some(-1), Some(100_000), None), "max 100000");
    }
}
