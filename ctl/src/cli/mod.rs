//! The command line, as docker's: global flags, one file per command group,
//! docker's flag-error style and exit codes. Each handler turns flags into
//! calls on the modules below and returns the process's exit status.

pub(crate) mod build;
mod check;
pub(crate) mod container;
mod events;
mod history;
mod image;
mod images;
mod import;
mod info;
pub(crate) mod inspect;
mod login;
mod network;
mod prune;
mod pull;
mod push;
mod restore;
mod rmi;
mod save;
mod system;
mod system_prune;
mod tag;
mod version;
mod volume;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{Config, DEFAULT_DATA_ROOT, DEFAULT_RUNROOT};

/// docker's status for an error of the CLI itself (bad flag, missing image…).
pub(crate) const EXIT_ERROR: i32 = 125;

/// An exit status a command wants returned as is (a container's status, or
/// docker's 1 for "no such object"), carried through anyhow.
#[derive(Debug, thiserror::Error)]
#[error("exit status {0}")]
pub(crate) struct ExitStatus(pub i32);

#[derive(Debug, Parser)]
#[command(name = "berthctl", about = "A daemonless docker-style front end for OCI runtimes", version)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub global: GlobalOpts,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Args)]
pub(crate) struct GlobalOpts {
    /// Root of the image, container and volume store
    #[arg(long = "data-root", alias = "root", env = "BERTH_ROOT", default_value = DEFAULT_DATA_ROOT, global = true)]
    pub data_root: PathBuf,
    /// Root of the run state (runtime state, netns files, sockets)
    #[arg(long, env = "BERTH_RUNROOT", default_value = DEFAULT_RUNROOT, global = true)]
    pub runroot: PathBuf,
    /// OCI runtime to drive: berth, runc, crun or a path
    #[arg(long, env = "BERTH_RUNTIME", default_value = "berth", global = true)]
    pub runtime: String,
    /// Set the logging level ("debug"|"info"|"warn"|"error"|"fatal")
    // Not global: as in docker, `-l` after a command is that command's own
    // flag (`run -l` is --label, `ps -l` is --latest).
    #[arg(short = 'l', long = "log-level", default_value = "warn")]
    pub log_level: LogLevel,
    /// Enable debug mode
    #[arg(short = 'D', long)]
    pub debug: bool,
    /// Location of client config files (registry credentials: DIR/config.json)
    #[arg(long = "config", env = "DOCKER_CONFIG", value_name = "DIR", global = true)]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Display system-wide information
    Info(info::InfoArgs),
    /// Show the berthctl and runtime version information
    Version(version::VersionArgs),
    /// Get real time events from the server
    Events(events::EventsArgs),
    #[command(flatten)]
    Containers(Box<container::ContainerCommand>),
    /// Manage containers
    Container {
        #[command(subcommand)]
        command: container::ContainerGroup,
    },
    /// What a container's supervisor reports (exit, failure, restart; not for users)
    #[command(name = "__hook", hide = true)]
    Hook {
        id: String,
        #[command(subcommand)]
        event: crate::supervisor::HookEvent,
    },
    /// Manage images
    #[command(subcommand)]
    Image(image::ImageCommand),
    /// List images
    Images(images::ImagesArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(import::ImportArgs),
    /// Download an image from a registry
    Pull(pull::PullArgs),
    /// Build an image from a Dockerfile
    Build(build::BuildArgs),
    /// Manage builds
    Builder(build::BuilderArgs),
    /// Upload an image to a registry
    Push(push::PushArgs),
    /// Show the history of an image
    History(history::HistoryArgs),
    /// Manage networks
    Network(network::NetworkArgs),
    /// Return low-level information on objects
    Inspect(inspect::ObjectInspectArgs),
    /// Remove one or more images
    Rmi(rmi::RmiArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(tag::TagArgs),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(save::SaveArgs),
    /// Load an image from a tar archive or STDIN
    Load(save::LoadArgs),
    /// Log in to a registry
    Login(login::LoginArgs),
    /// Log out from a registry
    Logout(login::LogoutArgs),
    /// Manage volumes
    Volume(volume::VolumeArgs),
    /// Manage berthctl (disk usage, store checks)
    System(system::SystemArgs),
}

impl Cli {
    /// Parse as docker does: a flag error prints the message and
    /// "See 'berthctl <cmd> --help'." and exits 125; help and version exit 0.
    pub(crate) fn parse_docker_style() -> Result<Cli, i32> {
        let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
        match Cli::try_parse_from(flags_end_at_image(args)) {
            Ok(cli) => Ok(cli),
            Err(e) => Err(report_parse_error(&e)),
        }
    }

    fn config(&self) -> anyhow::Result<Config> {
        let mut config = Config::new(&self.global.data_root, &self.global.runroot, &self.global.runtime)?;
        config.client_config = self.global.config.clone();
        Ok(config)
    }
}

fn report_parse_error(e: &clap::Error) -> i32 {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            0
        }
        _ => {
            let args: Vec<String> = std::env::args().skip(1).collect();
            let cmd = command_path(&args);
            match (e.kind(), e.get(clap::error::ContextKind::InvalidArg)) {
                (ErrorKind::UnknownArgument, Some(arg)) if arg.to_string().starts_with('-') => {
                    eprintln!("unknown flag: {arg}")
                }
                _ => {
                    let rendered = e.render().to_string();
                    let first = rendered.lines().next().unwrap_or("").trim_start_matches("error: ");
                    eprintln!("berthctl: {first}");
                }
            }
            if cmd.is_empty() {
                eprintln!("See 'berthctl --help'.");
            } else {
                eprintln!("See 'berthctl {cmd} --help'.");
            }
            EXIT_ERROR
        }
    }
}

/// Whether `a` (a word starting with '-') is a flag of `cmd` (or a global
/// one) that takes its value from the next word.
fn takes_next_value(root: &clap::Command, cmd: &clap::Command, a: &str) -> bool {
    if a.contains('=') && a.starts_with("--") {
        return false;
    }
    let found = cmd.get_arguments().chain(root.get_arguments()).find(|x| match a.strip_prefix("--") {
        Some(l) => x.get_long() == Some(l) || x.get_all_aliases().is_some_and(|al| al.contains(&l)),
        // The last letter of a cluster (`-it`, `-de`) may take the next word.
        None => a.chars().last() == x.get_short(),
    });
    let attached = !a.starts_with("--") && a.len() > 2 && {
        // `-eA=1`: the value is in the word when the first letter takes one.
        let first = a.chars().nth(1);
        cmd.get_arguments().any(|x| x.get_short() == first && x.get_action().takes_values())
    };
    !attached && found.is_some_and(|x| x.get_action().takes_values())
}

/// docker parses `run` and `create` flags only up to the image: what follows
/// is the command, `-c`, `--help` and all (`docker run redis --port 7000`).
/// clap would take a flag-looking word after the image as ours, so a `--` is
/// put after the image; the words after it stay exactly as given.
fn flags_end_at_image(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    use clap::CommandFactory;
    let root = Cli::command();
    let mut cmd = root.clone();
    let mut i = 1;
    let mut leaf = false;
    while i < args.len() {
        let Some(a) = args[i].to_str() else { return args };
        if a == "--" {
            return args;
        }
        if a.starts_with('-') && a.len() > 1 {
            i += if takes_next_value(&root, &cmd, a) { 2 } else { 1 };
            continue;
        }
        if leaf {
            let mut out = args;
            out.insert(i + 1, "--".into());
            return out;
        }
        let Some(sub) = cmd.find_subcommand(a).cloned() else { return args };
        // `run`/`create` and `container run`/`container create`, not `volume
        // create` or `network create`, whose flags may follow the name.
        let container_level = cmd.get_name() == "berthctl" || cmd.get_name() == "container";
        leaf = container_level && matches!(sub.get_name(), "run" | "create");
        cmd = sub;
        i += 1;
    }
    args
}

/// The subcommand words of a command line (`image ls` of `--data-root /x image
/// ls --foo`), for docker's "See 'docker image ls --help'." hint: values of
/// flags are skipped, and a word counts only if it names a subcommand.
fn command_path(args: &[String]) -> String {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    let mut words = Vec::new();
    let mut args = args.iter();
    while let Some(a) = args.next() {
        if a.starts_with('-') {
            let takes_value = cmd
                .get_arguments()
                .chain(Cli::command().get_arguments())
                .find(|x| {
                    a.strip_prefix("--").is_some_and(|l| {
                        x.get_long() == Some(l) || x.get_all_aliases().is_some_and(|al| al.contains(&l))
                    }) || (a.len() == 2 && a.strip_prefix('-').and_then(|s| s.chars().next()) == x.get_short())
                })
                .is_some_and(|x| x.get_action().takes_values());
            if takes_value {
                args.next();
            }
            continue;
        }
        let Some(sub) = cmd.find_subcommand(a).cloned() else { break };
        words.push(sub.get_name().to_string());
        cmd = sub;
    }
    words.join(" ")
}

pub(crate) fn init_logging(g: &GlobalOpts) {
    let level = if g.debug {
        "debug"
    } else {
        match g.log_level {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error | LogLevel::Fatal => "error",
        }
    };
    let filter = tracing_subscriber::EnvFilter::new(format!("berthctl={level}"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).init();
}

/// Run one command and return the exit status it asks for.
pub(crate) fn run(cli: Cli) -> anyhow::Result<i32> {
    let config = cli.config()?;
    match cli.command {
        Command::Info(args) => info::run(&config, &args),
        Command::Version(args) => version::run(&config, &args),
        Command::Events(args) => events::run(&config, &args),
        Command::Containers(cmd) => container::run(&config, &cmd),
        Command::Container { command } => container::run_group(&config, &command),
        Command::Hook { id, event } => crate::supervisor::hook(&config, &id, &event),
        Command::Image(cmd) => image::run(&config, cmd),
        Command::Images(args) => images::run(&config, &args),
        Command::Import(args) => import::run(&config, &args),
        Command::History(args) => history::run(&config, &args),
        Command::Pull(args) => pull::run(&config, &args),
        Command::Build(args) => build::run(&config, &args),
        Command::Builder(args) => build::builder(&config, &args),
        Command::Push(args) => push::run(&config, &args),
        Command::Network(args) => network::run(&config, args),
        Command::Inspect(args) => inspect::run_any(&config, &args),
        Command::Rmi(args) => rmi::run(&config, &args),
        Command::Tag(args) => tag::run(&config, &args),
        Command::Save(args) => save::save(&config, &args),
        Command::Load(args) => save::load(&config, &args),
        Command::Login(args) => login::login(&config, &args),
        Command::Logout(args) => login::logout(&config, &args),
        Command::Volume(args) => volume::run(&config, &args),
        Command::System(args) => system::run(&config, &args),
    }
}

/// docker's exit status for a failed command: a status the command carries,
/// 1 for a missing object or an output template, 125 for anything else.
pub(crate) fn exit_code_of(err: &anyhow::Error) -> i32 {
    if let Some(s) = err.downcast_ref::<ExitStatus>() {
        return s.0;
    }
    if let Some(s) = err.downcast_ref::<crate::supervisor::spawn::StartError>() {
        return s.code;
    }
    if let Some(f) = err.downcast_ref::<crate::format::FormatError>() {
        return f.exit_code();
    }
    if let Some(crate::container::store::StoreError::NotFound(_)) = err.downcast_ref() {
        return 1;
    }
    EXIT_ERROR
}

/// The error and its causes joined by ": ", skipping a cause whose text the
/// message already ends with (so a wrapped message is not repeated).
pub(crate) fn error_chain(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.ends_with(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(line: &str) -> String {
        command_path(&line.split_whitespace().map(String::from).collect::<Vec<_>>())
    }

    fn split(line: &str) -> String {
        let args = std::iter::once("berthctl").chain(line.split_whitespace()).map(std::ffi::OsString::from).collect();
        let out: Vec<String> = flags_end_at_image(args).into_iter().skip(1).map(|a| a.into_string().unwrap()).collect();
        out.join(" ")
    }

    #[test]
    fn run_and_create_flags_end_at_the_image() {
        assert_eq!(split("run --rm -e A=1 busybox -c x"), "run --rm -e A=1 busybox -- -c x");
        assert_eq!(
            split("--data-root /d run -it -eA=1 --name n busybox sh -c x"),
            "--data-root /d run -it -eA=1 --name n busybox -- sh -c x"
        );
        assert_eq!(
            split("container create --network=none img --help"),
            "container create --network=none img -- --help"
        );
        assert_eq!(split("run -w /w -u 1 img"), "run -w /w -u 1 img --");
        // docker hands a "--" after the image to the container too.
        assert_eq!(split("run img -- x"), "run img -- -- x");
        // Other commands keep docker's interspersed flags.
        assert_eq!(split("volume create v --driver local"), "volume create v --driver local");
        assert_eq!(split("exec c ls -la"), "exec c ls -la");
        // The parse of the result: the words after the image are the command.
        let cli = Cli::try_parse_from(flags_end_at_image(
            ["berthctl", "run", "busybox", "-c", "--", "x"].map(std::ffi::OsString::from).to_vec(),
        ))
        .unwrap();
        match cli.command {
            Command::Containers(c) => {
                let container::ContainerCommand::Run(r) = *c else { panic!("not run") };
                assert_eq!(r.create.image, "busybox");
                assert_eq!(r.create.command, ["-c", "--", "x"]);
            }
            _ => panic!("not run"),
        }
    }

    #[test]
    fn help_hint_names_the_subcommands_not_a_flag_value() {
        assert_eq!(path("--data-root /x volume ls --bogus"), "volume ls");
        assert_eq!(path("--runroot /r -l debug images --bogus"), "images");
        assert_eq!(path("--bogus"), "");
        assert_eq!(path("volume nosuch"), "volume");
    }
}
