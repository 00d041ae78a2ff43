//! `system restore`: what docker's daemon does for containers when it starts
//! (moby `daemon.restore`), run once at boot since berthctl has no daemon
//! (README: a systemd unit). Every record that still says running is checked
//! (its supervisor and the runtime's state are gone after a reboot, so it is
//! recorded as exited, 255); then those whose restart policy asks for it are
//! started, by docker's restart manager rule: `always` always (even after a
//! manual stop), `unless-stopped` unless the user stopped it, `on-failure`
//! when the last exit was not 0 and the retries are not used up.

use crate::config::Config;
use crate::container::lifecycle;
use crate::container::record::Container;
use crate::container::store::Store;

#[derive(Debug, clap::Args)]
pub(crate) struct RestoreArgs {}

/// Whether docker's daemon would start `c` when it comes up.
pub(crate) fn wants_restart(c: &Container) -> bool {
    let p = &c.host_config.restart_policy;
    match p.name.as_str() {
        "always" => true,
        "unless-stopped" => !c.manually_stopped,
        "on-failure" => {
            c.state.exit_code != 0 && (p.maximum_retry_count == 0 || c.restart_count < p.maximum_retry_count)
        }
        _ => false,
    }
}

/// Refresh every container, start those that want it; print each started
/// container's name. Exit status 1 if one failed to start.
pub(crate) fn run(config: &Config, _a: &RestoreArgs) -> anyhow::Result<i32> {
    let mut store = Store::open(&config.data_root)?;
    let mut failed = false;
    for c in store.list()? {
        let c = lifecycle::refresh(config, &mut store, c)?;
        if lifecycle::is_active(&c) || !wants_restart(&c) {
            continue;
        }
        lifecycle::wait_supervisor_gone(&store, &c.id);
        let c = store.update(&c.id, |r| r.manually_stopped = false)?;
        match super::container::start::start_container(config, &c, None) {
            Ok(_) => println!("{}", c.name),
            Err(e) => {
                failed = true;
                eprintln!("Error response from daemon: {}: {}", c.name, super::error_chain(&e));
            }
        }
    }
    Ok(i32::from(failed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::record::RestartPolicy;

    fn with(policy: &str, max: u32, code: i32, stopped: bool) -> Container {
        let mut c = Container::default();
        c.host_config.restart_policy = RestartPolicy { name: policy.into(), maximum_retry_count: max };
        c.state.exit_code = code;
        c.manually_stopped = stopped;
        c
    }

    #[test]
    fn dockers_daemon_start_rule() {
        assert!(wants_restart(&with("always", 0, 0, true)), "always, even after a manual stop");
        assert!(wants_restart(&with("unless-stopped", 0, 255, false)));
        assert!(!wants_restart(&with("unless-stopped", 0, 0, true)), "stopped by the user");
        assert!(wants_restart(&with("on-failure", 0, 255, false)));
        assert!(!wants_restart(&with("on-failure", 0, 0, false)));
        let mut used_up = with("on-failure", 2, 1, false);
        used_up.restart_count = 2;
        assert!(!wants_restart(&used_up));
        assert!(!wants_restart(&with("no", 0, 255, false)));
        assert!(!wants_restart(&with("", 0, 255, false)));
    }
}
