//! Sizes and durations in docker's words (its `go-units` package): `HumanSize`
//! for image and container sizes (decimal, `4.26MB`), `BytesSize` for memory
//! (binary, `1.5MiB`), `HumanDuration` for "2 hours ago", and the parsing of
//! sizes given on the command line (`-m 64m`, `--shm-size 1g`).

use std::time::Duration;

const DECIMAL_UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
const BINARY_UNITS: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum UnitsError {
    #[error("invalid size: '{0}'")]
    InvalidSize(String),
}

fn scale(mut size: f64, base: f64, units: &[&'static str]) -> (f64, &'static str) {
    let mut i = 0;
    while size >= base && i < units.len() - 1 {
        size /= base;
        i += 1;
    }
    (size, units[i])
}

/// docker's `HumanSizeWithPrecision(size, 3)`, what `images`, `ps -s` and
/// `system df` print: `0B`, `1.2kB`, `4.26MB`, `1.07GB`.
pub(crate) fn human_size(bytes: u64) -> String {
    human_size_precision(bytes as f64, 3)
}

/// docker's `HumanSize` (4 significant digits), used for `SharedSize` and
/// `UniqueSize` of images and for `system df`'s reclaimable sizes.
pub(crate) fn human_size4(bytes: u64) -> String {
    human_size_precision(bytes as f64, 4)
}

fn human_size_precision(size: f64, precision: usize) -> String {
    let (v, unit) = scale(size, 1000.0, &DECIMAL_UNITS);
    format!("{}{unit}", go_g(v, precision))
}

/// docker's `BytesSize`: binary units, 4 significant digits (`stats`'
/// memory usage, `info`'s total memory): `1.5MiB`, `7.772GiB`.
pub(crate) fn bytes_size(bytes: u64) -> String {
    let (v, unit) = scale(bytes as f64, 1024.0, &BINARY_UNITS);
    format!("{}{unit}", go_g(v, 4))
}

/// Go's `%.Ng`: `precision` significant digits, trailing zeros removed,
/// scientific notation when the exponent is < -4 or >= precision (so that
/// 999.9 kB at 3 digits prints as docker does, `1e+03kB`).
pub(crate) fn go_g(v: f64, precision: usize) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    let p = precision.max(1);
    let sci = format!("{:.*e}", p - 1, v);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= p as i32 {
        let mantissa = trim_fraction(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    let decimals = (p as i32 - 1 - exp).max(0) as usize;
    trim_fraction(&format!("{v:.decimals$}")).to_string()
}

fn trim_fraction(s: &str) -> &str {
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { s }
}

/// docker's `HumanDuration`: "Less than a second", "About a minute",
/// "2 hours", "3 weeks"… (`CreatedSince` and `RunningFor` add " ago").
pub(crate) fn human_duration(d: Duration) -> String {
    let seconds = d.as_secs();
    if seconds < 1 {
        return "Less than a second".to_string();
    }
    if seconds == 1 {
        return "1 second".to_string();
    }
    if seconds < 60 {
        return format!("{seconds} seconds");
    }
    let minutes = seconds / 60;
    if minutes == 1 {
        return "About a minute".to_string();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    // Go rounds hours to the nearest: int(d.Hours() + 0.5).
    let hours = (d.as_secs_f64() / 3600.0 + 0.5) as u64;
    if hours == 1 {
        return "About an hour".to_string();
    }
    if hours < 48 {
        return format!("{hours} hours");
    }
    if hours < 24 * 7 * 2 {
        return format!("{} days", hours / 24);
    }
    if hours < 24 * 30 * 2 {
        return format!("{} weeks", hours / 24 / 7);
    }
    if hours < 24 * 365 * 2 {
        return format!("{} months", hours / 24 / 30);
    }
    format!("{} years", seconds / 3600 / 24 / 365)
}

/// docker's `RAMInBytes`: a size with an optional binary unit suffix, as
/// `-m`, `--memory-swap`, `--shm-size` take them (`64m`, `1g`, `512k`,
/// `100`, `1.5GB`); units are powers of 1024 whatever their spelling.
pub(crate) fn ram_in_bytes(text: &str) -> Result<i64, UnitsError> {
    parse_size(text, 1024)
}

/// docker's `FromHumanSize`: the same syntax with decimal units (`10m` is
/// 10 000 000 bytes).
pub(crate) fn from_human_size(text: &str) -> Result<i64, UnitsError> {
    parse_size(text, 1000)
}

fn parse_size(text: &str, base: u64) -> Result<i64, UnitsError> {
    let invalid = || UnitsError::InvalidSize(text.to_string());
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    if number.is_empty() || number.starts_with('.') || number.ends_with('.') {
        return Err(invalid());
    }
    let value: f64 = number.parse().map_err(|_| invalid())?;
    // docker's pattern: `^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$`.
    let suffix = suffix.strip_prefix(' ').unwrap_or(suffix).to_ascii_lowercase();
    let suffix = suffix.strip_suffix('b').unwrap_or(&suffix);
    let suffix = suffix.strip_suffix('i').unwrap_or(suffix);
    let power = match suffix {
        "" => 0,
        "k" => 1,
        "m" => 2,
        "g" => 3,
        "t" => 4,
        "p" => 5,
        _ => return Err(invalid()),
    };
    let bytes = value * (base as f64).powi(power);
    if !bytes.is_finite() || bytes >= i64::MAX as f64 {
        return Err(invalid());
    }
    Ok(bytes as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_size_is_decimal_with_three_digits() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(1200), "1.2kB");
        assert_eq!(human_size(4_263_345), "4.26MB");
        assert_eq!(human_size(1_073_741_824), "1.07GB");
        assert_eq!(human_size(77_800_000), "77.8MB");
        assert_eq!(human_size(124_000_000), "124MB");
    }

    #[test]
    fn human_size_rounds_into_go_exponent_form_like_docker() {
        // Go's %.3g of 999.95 is "1e+03".
        assert_eq!(human_size(999_950), "1e+03kB");
    }

    #[test]
    fn human_size4_keeps_four_digits() {
        assert_eq!(human_size4(4_263_345), "4.263MB");
    }

    #[test]
    fn bytes_size_is_binary() {
        assert_eq!(bytes_size(0), "0B");
        assert_eq!(bytes_size(1_572_864), "1.5MiB");
        assert_eq!(bytes_size(8_345_260_032), "7.772GiB");
        assert_eq!(bytes_size(1023), "1023B");
    }

    #[test]
    fn go_g_matches_go() {
        assert_eq!(go_g(4.0, 3), "4");
        assert_eq!(go_g(0.00001234, 3), "1.23e-05");
        assert_eq!(go_g(123.456, 4), "123.5");
    }

    #[test]
    fn human_duration_words() {
        let s = Duration::from_secs;
        assert_eq!(human_duration(Duration::from_millis(300)), "Less than a second");
        assert_eq!(human_duration(s(1)), "1 second");
        assert_eq!(human_duration(s(45)), "45 seconds");
        assert_eq!(human_duration(s(60)), "About a minute");
        assert_eq!(human_duration(s(119)), "About a minute");
        assert_eq!(human_duration(s(5 * 60)), "5 minutes");
        assert_eq!(human_duration(s(59 * 60)), "59 minutes");
        assert_eq!(human_duration(s(60 * 60)), "About an hour");
        assert_eq!(human_duration(s(90 * 60)), "2 hours");
        assert_eq!(human_duration(s(47 * 3600)), "47 hours");
        assert_eq!(human_duration(s(3 * 86400)), "3 days");
        assert_eq!(human_duration(s(21 * 86400)), "3 weeks");
        assert_eq!(human_duration(s(90 * 86400)), "3 months");
        assert_eq!(human_duration(s(3 * 365 * 86400)), "3 years");
    }

    #[test]
    fn ram_in_bytes_reads_docker_suffixes() {
        assert_eq!(ram_in_bytes("64m"), Ok(64 << 20));
        assert_eq!(ram_in_bytes("1g"), Ok(1 << 30));
        assert_eq!(ram_in_bytes("1GB"), Ok(1 << 30));
        assert_eq!(ram_in_bytes("512KiB"), Ok(512 << 10));
        assert_eq!(ram_in_bytes("100"), Ok(100));
        assert_eq!(ram_in_bytes("1.5k"), Ok(1536));
        assert_eq!(from_human_size("10m"), Ok(10_000_000));
    }

    #[test]
    fn bad_sizes_are_refused_with_the_text() {
        assert_eq!(ram_in_bytes("abc"), Err(UnitsError::InvalidSize("abc".into())));
        assert!(ram_in_bytes("").is_err());
        assert!(ram_in_bytes("10x").is_err());
        assert!(ram_in_bytes("-1").is_err());
    }
}
