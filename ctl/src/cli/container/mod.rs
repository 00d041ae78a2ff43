//! docker's container commands, at the top level (`berthctl run`) and
//! under `berthctl container …`.

pub(crate) mod commit;
pub(crate) mod cp;
pub(crate) mod create;
pub(crate) mod create_flags;
pub(crate) mod exec;
pub(crate) mod image;
pub(crate) mod inspect;
pub(crate) mod logs;
pub(crate) mod misc;
pub(crate) mod ps;
pub(crate) mod rm;
pub(crate) mod run;
pub(crate) mod start;
pub(crate) mod stats;
pub(crate) mod stop;
pub(crate) mod update;
pub(crate) mod values;

use clap::Subcommand;

use crate::config::Config;
use crate::container::store::{Store, StoreError};

#[derive(Debug, Subcommand)]
pub(crate) enum ContainerCommand {
    /// Create a new container
    #[command(disable_help_flag = true)]
    Create(create::CreateArgs),
    /// Create and run a new container from an image
    Run(run::RunArgs),
    /// Start one or more stopped containers
    Start(start::StartArgs),
    /// Stop one or more running containers
    Stop(stop::StopArgs),
    /// Restart one or more containers
    Restart(stop::StopArgs),
    /// Kill one or more running containers
    Kill(stop::KillArgs),
    /// Remove one or more containers
    Rm(rm::RmArgs),
    /// List containers
    #[command(alias = "list", alias = "ls")]
    Ps(ps::PsArgs),
    /// Fetch the logs of a container
    Logs(logs::LogsArgs),
    /// Execute a command in a running container
    Exec(exec::ExecArgs),
    /// Block until one or more containers stop, then print their exit codes
    Wait(stop::NamesArgs),
    /// Pause all processes within one or more containers
    Pause(stop::NamesArgs),
    /// Unpause all processes within one or more containers
    Unpause(stop::NamesArgs),
    /// Rename a container
    Rename(rm::RenameArgs),
    /// Display the running processes of a container
    Top(misc::TopArgs),
    /// List port mappings or a specific mapping for the container
    Port(misc::PortArgs),
    /// Attach local standard input, output, and error streams to a running container
    Attach(misc::AttachArgs),
    /// Display a live stream of container(s) resource usage statistics
    Stats(stats::StatsArgs),
    /// Create a new image from a container's changes
    Commit(commit::CommitArgs),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(commit::DiffArgs),
    /// Export a container's filesystem as a tar archive
    Export(commit::ExportArgs),
    /// Copy files/folders between a container and the local filesystem
    Cp(cp::CpArgs),
    /// Update configuration of one or more containers
    Update(update::UpdateArgs),
}

/// `berthctl container …` also has inspect and prune.
#[derive(Debug, Subcommand)]
pub(crate) enum ContainerGroup {
    #[command(flatten)]
    Common(Box<ContainerCommand>),
    /// Display detailed information on one or more containers
    Inspect(inspect::InspectArgs),
    /// Remove all stopped containers
    Prune(rm::PruneArgs),
}

pub(crate) fn run(config: &Config, cmd: &ContainerCommand) -> anyhow::Result<i32> {
    match cmd {
        ContainerCommand::Create(a) => create::run(config, a),
        ContainerCommand::Run(a) => run::run(config, a),
        ContainerCommand::Start(a) => start::run(config, a),
        ContainerCommand::Stop(a) => stop::stop(config, a),
        ContainerCommand::Restart(a) => stop::restart(config, a),
        ContainerCommand::Kill(a) => stop::kill(config, a),
        ContainerCommand::Rm(a) => rm::rm(config, a),
        ContainerCommand::Ps(a) => ps::run(config, a),
        ContainerCommand::Logs(a) => logs::run(config, a),
        ContainerCommand::Exec(a) => exec::run(config, a),
        ContainerCommand::Wait(a) => stop::wait(config, a),
        ContainerCommand::Pause(a) => stop::pause(config, a),
        ContainerCommand::Unpause(a) => stop::unpause(config, a),
        ContainerCommand::Rename(a) => rm::rename(config, a),
        ContainerCommand::Top(a) => misc::top(config, a),
        ContainerCommand::Port(a) => misc::port(config, a),
        ContainerCommand::Attach(a) => misc::attach(config, a),
        ContainerCommand::Stats(a) => stats::run(config, a),
        ContainerCommand::Commit(a) => commit::commit(config, a),
        ContainerCommand::Diff(a) => commit::diff(config, a),
        ContainerCommand::Export(a) => commit::export(config, a),
        ContainerCommand::Cp(a) => cp::run(config, a),
        ContainerCommand::Update(a) => update::run(config, a),
    }
}

pub(crate) fn run_group(config: &Config, cmd: &ContainerGroup) -> anyhow::Result<i32> {
    match cmd {
        ContainerGroup::Common(c) => run(config, c),
        ContainerGroup::Inspect(a) => inspect::run(config, a),
        ContainerGroup::Prune(a) => rm::prune(config, a),
    }
}

/// An error's message chain, as docker prints after "Error response from daemon: ".
pub(crate) fn message(e: &anyhow::Error) -> String {
    crate::cli::error_chain(e)
}

/// Run `f` for each named container (resolved to its id); print the name
/// as given when `echo` and it worked; print docker's error line when not.
/// docker's exit status: 1 when any failed.
pub(crate) fn for_each(
    config: &Config,
    names: &[String],
    echo: bool,
    mut f: impl FnMut(&mut Store, &str) -> anyhow::Result<()>,
) -> i32 {
    let mut store = match Store::open(&config.data_root) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Error: {}", message(&e.into()));
            return 125;
        }
    };
    let mut failed = false;
    for name in names {
        let result = store.resolve(name).map_err(anyhow::Error::from).and_then(|id| f(&mut store, &id));
        match result {
            Ok(()) if echo => println!("{name}"),
            Ok(()) => {}
            Err(e) => {
                failed = true;
                let text = match e.downcast_ref::<StoreError>() {
                    Some(StoreError::NotFound(n)) => format!("No such container: {n}"),
                    _ => message(&e),
                };
                eprintln!("Error response from daemon: {text}");
            }
        }
    }
    i32::from(failed)
}
