//! The local time zone's abbreviation ("UTC", "CEST"), which Go prints in
//! `Time.String()` and chrono does not know: only the C library's
//! `localtime_r` reads it from the zoneinfo file.

use std::ffi::CStr;

/// The abbreviation of the local zone at `unix_secs`, or `None` when the C
/// library has none (Go then prints the numeric offset instead).
pub(crate) fn zone_abbreviation(unix_secs: i64) -> Option<String> {
    // JUSTIFICATION: nix wraps no localtime_r, and chrono keeps only the
    // offset, not the zone's name.
    let t: libc::time_t = unix_secs;
    // SAFETY: `tm` is plain old data, so all-zero is a valid value to be
    // overwritten by localtime_r.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are to live locals of the right types;
    // localtime_r is the reentrant form and writes only into `tm`.
    let res = unsafe { libc::localtime_r(&t, &mut tm) };
    if res.is_null() || tm.tm_zone.is_null() {
        return None;
    }
    // SAFETY: tm_zone is non-null and points to a NUL-terminated string in
    // the C library's zone table, which stays valid until the next tzset();
    // it is copied out at once, and berthctl never calls tzset concurrently.
    let zone = unsafe { CStr::from_ptr(tm.tm_zone) }.to_string_lossy().into_owned();
    // glibc spells a zone without an abbreviation as its offset ("+04"); Go
    // prints the same then.
    if zone.is_empty() { None } else { Some(zone) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_epoch_has_a_zone_name() {
        let zone = zone_abbreviation(0).expect("glibc always names the zone");
        assert!(!zone.is_empty());
        assert!(zone.len() <= 6, "{zone}");
    }
}
