//! `stop`, `restart`, `kill`, `wait`, `pause`, `unpause`: each takes one or
//! more containers, prints each name as given on success, and reports
//! failures as docker does (exit status 1 when any failed).

use std::time::Duration;

use crate::config::Config;
use crate::container::record::Container;
use crate::container::{health, lifecycle};

use super::for_each;

#[derive(Debug, clap::Args)]
pub(crate) struct StopArgs {
    /// Seconds to wait before killing the container
    #[arg(short = 't', long = "time", alias = "timeout", allow_hyphen_values = true)]
    pub time: Option<i64>,
    /// Signal to send to the container
    #[arg(short = 's', long)]
    pub signal: Option<String>,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct KillArgs {
    /// Signal to send to the container
    #[arg(short = 's', long, default_value = "KILL")]
    pub signal: String,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct NamesArgs {
    #[arg(required = true)]
    pub containers: Vec<String>,
}

pub(crate) fn stop(config: &Config, a: &StopArgs) -> anyhow::Result<i32> {
    Ok(for_each(config, &a.containers, true, |store, id| {
        if let Some(sig) = &a.signal {
            store.update(id, |r| r.config.stop_signal = Some(sig.clone()))?;
        }
        lifecycle::stop(config, store, id, a.time)
    }))
}

pub(crate) fn restart(config: &Config, a: &StopArgs) -> anyhow::Result<i32> {
    Ok(for_each(config, &a.containers, true, |store, id| {
        lifecycle::stop(config, store, id, a.time)?;
        lifecycle::wait_supervisor_gone(store, id);
        let c = store.update(id, |r| r.manually_stopped = false)?;
        super::start::start_container(config, &c, None)?;
        store.log(&c.event("restart"));
        Ok(())
    }))
}

pub(crate) fn kill(config: &Config, a: &KillArgs) -> anyhow::Result<i32> {
    Ok(for_each(config, &a.containers, true, |store, id| lifecycle::kill(config, store, id, &a.signal)))
}

/// `wait`: block until each container stops, print its exit code.
pub(crate) fn wait(config: &Config, a: &NamesArgs) -> anyhow::Result<i32> {
    Ok(for_each(config, &a.containers, false, |store, id| {
        loop {
            let c = lifecycle::reload(config, store, id)?;
            if !lifecycle::is_active(&c) && c.supervisor.as_ref().is_none_or(|s| !crate::container::is_alive(s)) {
                println!("{}", c.state.exit_code);
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }))
}

pub(crate) fn pause(config: &Config, a: &NamesArgs) -> anyhow::Result<i32> {
    Ok(for_each(config, &a.containers, true, |store, id| {
        let c = lifecycle::reload(config, store, id)?;
        if !c.state.running {
            anyhow::bail!("Container {id} is not running");
        }
        if c.state.paused {
            anyhow::bail!("Container {id} is already paused");
        }
        let run = crate::container::Layout::new(config, id).run;
        health::mark_paused(&run, &c, true);
        if let Err(e) = lifecycle::runtime_for(config, &c).and_then(|rt| Ok(rt.pause(id)?)) {
            health::mark_paused(&run, &c, false);
            return Err(e);
        }
        let change = |r: &mut Container| {
            r.state.paused = true;
            r.state.status = "paused".into();
        };
        store.update_logged(id, change, |r| vec![r.event("pause")])?;
        Ok(())
    }))
}

pub(crate) fn unpause(config: &Config, a: &NamesArgs) -> anyhow::Result<i32> {
    Ok(for_each(config, &a.containers, true, |store, id| {
        let c = lifecycle::reload(config, store, id)?;
        if !c.state.paused {
            anyhow::bail!("Container {id} is not paused");
        }
        lifecycle::runtime_for(config, &c)?.resume(id)?;
        health::mark_paused(&crate::container::Layout::new(config, id).run, &c, false);
        let change = |r: &mut Container| {
            r.state.paused = false;
            r.state.status = "running".into();
        };
        store.update_logged(id, change, |r| vec![r.event("unpause")])?;
        Ok(())
    }))
}
