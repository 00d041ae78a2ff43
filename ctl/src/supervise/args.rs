//! The supervisor's command line, written by berthctl (`supervisor::spawn`)
//! and parsed by hand: no clap, so the binary stays small.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// Everything the supervisor needs to know about its container.
#[derive(Debug)]
pub(crate) struct Args {
    pub id: String,
    /// The bundle (config.json, rootfs) berthctl prepared.
    pub bundle: PathBuf,
    /// The container's run dir: attach and console sockets, pid file, runtime log.
    pub run: PathBuf,
    pub runtime: PathBuf,
    pub runtime_root: PathBuf,
    /// berthctl, for the hooks that touch the store.
    pub berthctl: PathBuf,
    pub data_root: PathBuf,
    pub runroot: PathBuf,
    /// The json-file log, with its rotation (max size in bytes, 0 = never; max files).
    pub log: Option<(PathBuf, u64, u32)>,
    pub tty: bool,
    pub stdin: bool,
    /// The attach socket, bound and listening, inherited from berthctl
    /// (which connects to it before it starts us); else we bind it.
    pub attach_fd: Option<i32>,
    /// The health checks, when the container has one (`--health-*`).
    pub health: Option<crate::health::Schedule>,
}

/// Parse `--key value` pairs and the `--tty` and `--stdin` flags.
pub(crate) fn parse(mut it: impl Iterator<Item = OsString>) -> Result<Args, String> {
    let mut a = Args {
        id: String::new(),
        bundle: PathBuf::new(),
        run: PathBuf::new(),
        runtime: PathBuf::new(),
        runtime_root: PathBuf::new(),
        berthctl: PathBuf::new(),
        data_root: PathBuf::new(),
        runroot: PathBuf::new(),
        log: None,
        tty: false,
        stdin: false,
        attach_fd: None,
        health: None,
    };
    let mut health = crate::health::Schedule {
        process: PathBuf::new(),
        interval: Duration::ZERO,
        timeout: Duration::ZERO,
        start_period: Duration::ZERO,
        retries: 0,
    };
    let (mut log, mut max_size, mut max_files) = (None, 0u64, 1u32);
    while let Some(key) = it.next() {
        let key = key.to_string_lossy().into_owned();
        match key.as_str() {
            "--tty" => a.tty = true,
            "--stdin" => a.stdin = true,
            _ => {
                let value = it.next().ok_or_else(|| format!("{key}: missing value"))?;
                let number =
                    || value.to_str().and_then(|v| v.parse().ok()).ok_or_else(|| format!("{key}: not a number"));
                match key.as_str() {
                    "--id" => a.id = value.to_string_lossy().into_owned(),
                    "--bundle" => a.bundle = value.into(),
                    "--run" => a.run = value.into(),
                    "--runtime" => a.runtime = value.into(),
                    "--runtime-root" => a.runtime_root = value.into(),
                    "--berthctl" => a.berthctl = value.into(),
                    "--data-root" => a.data_root = value.into(),
                    "--runroot" => a.runroot = value.into(),
                    "--log" => log = Some(PathBuf::from(value)),
                    "--log-max-size" => max_size = number()?,
                    "--log-max-files" => max_files = number()? as u32,
                    "--attach-fd" => a.attach_fd = Some(number()? as i32),
                    "--health-process" => health.process = value.into(),
                    "--health-interval" => health.interval = Duration::from_nanos(number()?),
                    "--health-timeout" => health.timeout = Duration::from_nanos(number()?),
                    "--health-start-period" => health.start_period = Duration::from_nanos(number()?),
                    "--health-retries" => health.retries = number()? as u32,
                    _ => return Err(format!("unknown argument {key}")),
                }
            }
        }
    }
    for (name, empty) in [
        ("--id", a.id.is_empty()),
        ("--bundle", a.bundle.as_os_str().is_empty()),
        ("--run", a.run.as_os_str().is_empty()),
        ("--runtime", a.runtime.as_os_str().is_empty()),
        ("--runtime-root", a.runtime_root.as_os_str().is_empty()),
        ("--berthctl", a.berthctl.as_os_str().is_empty()),
        ("--data-root", a.data_root.as_os_str().is_empty()),
        ("--runroot", a.runroot.as_os_str().is_empty()),
    ] {
        if empty {
            return Err(format!("{name} is required"));
        }
    }
    a.log = log.map(|p| (p, max_size, max_files.max(1)));
    if !health.process.as_os_str().is_empty() {
        if health.interval.is_zero() || health.timeout.is_zero() || health.retries == 0 {
            return Err("--health-process needs --health-interval, --health-timeout and --health-retries".into());
        }
        a.health = Some(health);
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<OsString> {
        s.split_whitespace().map(OsString::from).collect()
    }

    #[test]
    fn parses_what_berthctl_writes() {
        let a = parse(
            args(
                "--id c1 --bundle /d/c1 --run /r/c1 --runtime /bin/runc --runtime-root /r/rt --berthctl /bin/berthctl \
                 --data-root /d --runroot /r --log /d/c1/c1-json.log --log-max-size 100 --log-max-files 3 --tty --attach-fd 3",
            )
            .into_iter(),
        )
        .unwrap();
        assert_eq!(a.id, "c1");
        assert_eq!(a.log, Some((PathBuf::from("/d/c1/c1-json.log"), 100, 3)));
        assert!(a.tty && !a.stdin);
        assert_eq!(a.attach_fd, Some(3));
        assert_eq!(a.health, None);
    }

    #[test]
    fn health_schedule_is_parsed_whole() {
        let base =
            "--id c1 --bundle /b --run /r --runtime rt --runtime-root /rr --berthctl b --data-root /d --runroot /rr";
        let a = parse(
            args(&format!("{base} --health-process /r/p.json --health-interval 1000 --health-timeout 5 --health-start-period 0 --health-retries 3"))
                .into_iter(),
        )
        .unwrap();
        let h = a.health.unwrap();
        assert_eq!((h.interval, h.timeout, h.retries), (Duration::from_micros(1), Duration::from_nanos(5), 3));
        assert!(parse(args(&format!("{base} --health-process /r/p.json")).into_iter()).is_err());
    }

    #[test]
    fn missing_and_unknown_arguments_are_named() {
        assert_eq!(parse(args("--id c1").into_iter()).unwrap_err(), "--bundle is required");
        assert_eq!(parse(args("--nope x").into_iter()).unwrap_err(), "unknown argument --nope");
        assert_eq!(parse(args("--id").into_iter()).unwrap_err(), "--id: missing value");
    }
}
