//! docker's restartmanager backoff: a delay that starts at 100 ms, doubles
//! on each restart up to one minute, and starts over once the container has
//! run for 10 s. Whether to restart at all is berthctl's call (the policy
//! and the manual-stop flag are in its store: `supervisor::restart`).

use std::time::Duration;

const INITIAL: Duration = Duration::from_millis(100);
const MAX: Duration = Duration::from_secs(60);
const RESET_AFTER: Duration = Duration::from_secs(10);

/// The backoff between restarts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { next: INITIAL }
    }
}

impl Backoff {
    /// The delay before the next start, given how long the last run lasted.
    pub(crate) fn delay(&mut self, ran_for: Duration) -> Duration {
        if ran_for >= RESET_AFTER {
            self.next = INITIAL;
        }
        let d = self.next;
        self.next = (self.next * 2).min(MAX);
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_resets() {
        let mut b = Backoff::default();
        let short = Duration::from_secs(1);
        assert_eq!(b.delay(short), Duration::from_millis(100));
        assert_eq!(b.delay(short), Duration::from_millis(200));
        for _ in 0..20 {
            b.delay(short);
        }
        assert_eq!(b.delay(short), MAX);
        assert_eq!(b.delay(Duration::from_secs(11)), INITIAL);
    }
}
