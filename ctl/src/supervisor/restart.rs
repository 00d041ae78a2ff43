//! The restart policy as docker's restartmanager applies it: `no`,
//! `always`, `unless-stopped`, `on-failure[:N]`; never after a manual stop.
//! The delay between restarts is the supervisor's (`supervise/backoff.rs`).

use crate::container::record::RestartPolicy;

/// A `--restart` value docker refuses, in docker's words: the client's
/// parse (`opts.ParseRestartPolicy`) or the daemon's check of the policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PolicyError {
    #[error("invalid restart policy format")]
    Format,
    #[error("maximum retry count must be an integer")]
    Count,
    #[error("maximum retry count cannot be negative")]
    Negative,
    #[error("maximum retry count cannot be used with restart policy '{0}'")]
    CountNotAllowed(String),
    #[error("invalid restart policy '{0}'")]
    Invalid(String),
}

impl PolicyError {
    /// Whether docker's client refuses it (printed bare), rather than its
    /// daemon ("Error response from daemon: …").
    pub(crate) fn is_client_side(&self) -> bool {
        matches!(self, PolicyError::Format | PolicyError::Count)
    }
}

/// Parse `--restart` as docker does: `name[:count]`, then the daemon's
/// rules (a count only with on-failure, never negative).
pub(crate) fn parse(s: &str) -> Result<RestartPolicy, PolicyError> {
    let mut parts = s.split(':');
    let name = parts.next().unwrap_or_default();
    let count: i64 = match (parts.next(), parts.next()) {
        (None, _) => 0,
        (Some(c), None) => c.parse().map_err(|_| PolicyError::Count)?,
        (Some(_), Some(_)) => return Err(PolicyError::Format),
    };
    match name {
        "" | "no" | "always" | "unless-stopped" if count != 0 => Err(PolicyError::CountNotAllowed(name.to_string())),
        "" | "no" => Ok(RestartPolicy { name: "no".into(), maximum_retry_count: 0 }),
        "always" | "unless-stopped" => Ok(RestartPolicy { name: name.into(), maximum_retry_count: 0 }),
        "on-failure" => {
            let max = u32::try_from(count).map_err(|_| PolicyError::Negative)?;
            Ok(RestartPolicy { name: name.into(), maximum_retry_count: max })
        }
        _ => Err(PolicyError::Invalid(name.to_string())),
    }
}

/// docker's `RestartPolicy.IsNone`.
pub(crate) fn is_none(p: &RestartPolicy) -> bool {
    p.name.is_empty() || p.name == "no"
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
        assert_eq!(parse("always:3"), Err(PolicyError::CountNotAllowed("always".into())));
        assert_eq!(parse("sometimes"), Err(PolicyError::Invalid("sometimes".into())));
        assert_eq!(parse("on-failure:-1"), Err(PolicyError::Negative));
        assert_eq!(parse("on-failure:x"), Err(PolicyError::Count));
        assert_eq!(parse("a:b:c"), Err(PolicyError::Format));
        assert!(PolicyError::Count.is_client_side() && !PolicyError::Negative.is_client_side());
        assert_eq!(
            PolicyError::CountNotAllowed("always".into()).to_string(),
            "maximum retry count cannot be used with restart policy 'always'"
        );
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
