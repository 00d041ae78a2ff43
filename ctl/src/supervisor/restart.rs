//! The restart policy as docker's restartmanager applies it: `no`,
//! `always`, `unless-stopped`, `on-failure[:N]`; never after a manual stop.
//! The delay between restarts is the supervisor's (`supervise/backoff.rs`).

use crate::container::record::RestartPolicy;

#[derive(Debug, thiserror::Error)]
#[error("--restart {0:?}: expected no, always, unless-stopped or on-failure[:max-retries]")]
pub(crate) struct PolicyError(String);

/// Parse `--restart` as docker does.
pub(crate) fn parse(s: &str) -> Result<RestartPolicy, PolicyError> {
    let (name, count) = s.split_once(':').map_or((s, None), |(n, c)| (n, Some(c)));
    let max = match count {
        Some(c) if name == "on-failure" => c.parse().map_err(|_| PolicyError(s.to_string()))?,
        Some(_) => return Err(PolicyError(s.to_string())),
        None => 0,
    };
    match name {
        "" | "no" => Ok(RestartPolicy { name: "no".into(), maximum_retry_count: 0 }),
        "always" | "unless-stopped" | "on-failure" => Ok(RestartPolicy { name: name.into(), maximum_retry_count: max }),
        _ => Err(PolicyError(s.to_string())),
    }
}

/// Whether to start the container again after it exited with `code`.
pub(crate) fn should_restart(p: &RestartPolicy, code: i32, restarts: u32, manually_stopped: bool) -> bool {
    if manually_stopped {
        return false;
    }
    match p.name.as_str() {
        "always" | "unless-stopped" => true,
        "on-failure" => code != 0 && (p.maximum_retry_count == 0 || restarts < p.maximum_retry_count),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_policies() {
        assert_eq!(parse("on-failure:3").unwrap().maximum_retry_count, 3);
        assert_eq!(parse("always").unwrap().name, "always");
        assert_eq!(parse("no").unwrap().name, "no");
        assert!(parse("always:3").is_err());
        assert!(parse("sometimes").is_err());
    }

    #[test]
    fn on_failure_counts_and_manual_stop_wins() {
        let p = parse("on-failure:2").unwrap();
        assert!(should_restart(&p, 1, 0, false));
        assert!(should_restart(&p, 1, 1, false));
        assert!(!should_restart(&p, 1, 2, false));
        assert!(!should_restart(&p, 0, 0, false));
        assert!(!should_restart(&parse("always").unwrap(), 0, 9, true));
        assert!(should_restart(&parse("unless-stopped").unwrap(), 0, 9, false));
    }
}
