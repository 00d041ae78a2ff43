//! `berth`'s command line: runc's global flags and subcommands, spelled exactly as
//! runc spells them, since containerd's shim and conmon call us with runc's argv.

mod checkpoint;
mod create;
mod delete;
mod events;
mod exec;
mod features;
mod kill;
mod list;
pub mod log;
mod pause;
mod ps;
mod run;
mod spec;
mod start;
mod state;
mod supervise;
mod update;

use std::path::PathBuf;

use clap::{ArgAction, CommandFactory, FromArgMatches, Parser, Subcommand};

pub use log::{LogFormat, LogSink};

/// The commit berth was built from: `BERTH_COMMIT` at build time (the Makefile
/// sets it from git), else `unknown`.
const COMMIT: &str = match option_env!("BERTH_COMMIT") {
    Some(c) if !c.is_empty() => c,
    _ => "unknown",
};

/// `--version`/`-v`, in runc's shape: docker's `info` reads the `commit:` line
/// (clap prints the binary's name before it: `berth version X`).
static VERSION: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("version {}\ncommit: {COMMIT}\nspec: 1.2.0", env!("CARGO_PKG_VERSION")));

#[derive(Parser, Debug)]
#[command(
    name = "berth",
    version = VERSION.as_str(),
    disable_version_flag = true,
    disable_help_subcommand = true,
    about = "berth: an OCI container runtime, a drop-in replacement for runc"
)]
pub struct Cli {
    /// Print the version
    #[arg(short = 'v', long = "version", action = ArgAction::Version)]
    version: Option<bool>,
    /// Root directory for container state (default /run/berth; $XDG_RUNTIME_DIR/berth
    /// for an unprivileged caller, as runc does)
    #[arg(long, global = true)]
    pub root: Option<PathBuf>,
    /// Write log lines to this file instead of stderr
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    /// Log format: text or json
    #[arg(long = "log-format", global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Enable debug logging
    #[arg(long, global = true)]
    pub debug: bool,
    /// Use the systemd cgroup driver (cgroupsPath is slice:prefix:name)
    #[arg(long = "systemd-cgroup", global = true)]
    pub systemd_cgroup: bool,
    /// Rootless mode: auto, true or false
    #[arg(long, value_enum, default_value_t = Rootless::Auto)]
    pub rootless: Rootless,
    /// Path to the criu binary used for checkpoint and restore
    #[arg(long, global = true, default_value = "criu")]
    pub criu: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a container
    Create(create::Args),
    /// Start a created container
    Start(start::Args),
    /// Create and start a container, and wait for it
    Run(run::Args),
    /// Output the state of a container
    State(state::Args),
    /// Display container events: stats and OOM notifications
    Events(events::Args),
    /// Run a process in a running container
    Exec(exec::Args),
    /// Send a signal to a container's init (or every process with --all)
    Kill(kill::Args),
    /// Delete a container
    Delete(delete::Args),
    /// Freeze every process of a container
    Pause(pause::Args),
    /// Thaw a paused container
    Resume(pause::Args),
    /// List the processes of a container
    Ps(ps::Args),
    /// Update a container's resource limits
    Update(update::Args),
    /// List containers
    #[command(alias = "ls")]
    List(list::Args),
    /// Create a new specification file (config.json)
    Spec(spec::Args),
    /// Show the features this runtime supports
    Features(features::Args),
    /// Checkpoint a running container (through CRIU)
    Checkpoint(checkpoint::Args),
    /// Restore a container from a previous checkpoint (through CRIU)
    Restore(checkpoint::RestoreArgs),
    /// Show a list of commands or help for one command
    #[command(alias = "h")]
    Help(HelpArgs),
}

#[derive(clap::Args, Debug)]
pub struct HelpArgs {
    /// The command to show help for
    pub topic: Option<String>,
}

/// `--rootless`, as runc takes it.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rootless {
    Auto,
    True,
    False,
}

/// Global settings every command gets.
pub struct Global {
    pub root: PathBuf,
    pub criu: PathBuf,
    pub systemd_cgroup: bool,
    pub rootless: bool,
}

impl Cli {
    pub fn global(&self) -> Global {
        let rootless = match self.rootless {
            Rootless::True => true,
            Rootless::False => false,
            // auto: rootless when not running as real root.
            Rootless::Auto => !nix::unistd::Uid::effective().is_root(),
        };
        let root = self.root.clone().unwrap_or_else(|| default_root(std::env::var_os("XDG_RUNTIME_DIR")));
        Global { root, criu: self.criu.clone(), systemd_cgroup: self.systemd_cgroup, rootless }
    }

    /// Parse the command line as runc's (urfave/cli) would: every boolean flag
    /// also takes `--flag=true|false`, and a usage error exits 1, not clap's 2.
    pub fn parse_args<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let mut cmd = go_bools(Cli::command());
        let matches = cmd.try_get_matches_from_mut(args)?;
        Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))
    }
}

/// Go's `strconv.ParseBool`, which urfave/cli uses for `--flag=VALUE`.
fn go_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(format!("invalid boolean value {s:?}")),
    }
}

/// Every `SetTrue` flag of `cmd` and its subcommands, made to take an optional
/// `=true|false` as well (`--debug=true`, `delete --force=false`), as runc does.
fn go_bools(cmd: clap::Command) -> clap::Command {
    let cmd = cmd.mut_args(|a| {
        if matches!(a.get_action(), ArgAction::SetTrue) {
            a.action(ArgAction::Set)
                .num_args(0..=1)
                .require_equals(true)
                .default_missing_value("true")
                .default_value("false")
                .hide_default_value(true)
                .hide_possible_values(true)
                .value_parser(clap::builder::ValueParser::new(go_bool))
        } else {
            a
        }
    });
    cmd.mut_subcommands(go_bools)
}

/// `berth help [COMMAND]`: runc's help command. An unknown topic is an error
/// with urfave/cli's wording and exit code 3.
fn help(args: HelpArgs) -> anyhow::Result<i32> {
    let mut cmd = Cli::command();
    // Gives each subcommand its full name ("berth kill") for its usage line.
    cmd.build();
    let Some(topic) = args.topic else {
        cmd.print_help()?;
        return Ok(0);
    };
    let found = cmd.get_subcommands_mut().find(|c| c.get_name() == topic || c.get_all_aliases().any(|a| a == topic));
    match found {
        Some(sub) => {
            sub.print_help()?;
            Ok(0)
        }
        None => Err(UnknownHelpTopic(topic).into()),
    }
}

/// `help foo`: runc's "No help topic for 'foo'", exit status 3.
#[derive(Debug, thiserror::Error)]
#[error("No help topic for '{0}'")]
pub struct UnknownHelpTopic(pub String);

/// runc's default state root: `$XDG_RUNTIME_DIR/berth` when an unprivileged caller
/// has one (root's is ignored, as runc's shouldHonorXDGRuntimeDir does), else
/// /run/berth.
fn default_root(xdg: Option<std::ffi::OsString>) -> PathBuf {
    match xdg.filter(|x| !x.is_empty()) {
        Some(x) if !nix::unistd::Uid::effective().is_root() => PathBuf::from(x).join("berth"),
        _ => PathBuf::from("/run/berth"),
    }
}

/// A failed command, typed by how the bin maps it to an exit status (the one
/// `match` in `src/bin/berth.rs`).
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// `exec` failed before the process ran. runc exits 255 then, so that its own
    /// failures differ from the process's exit codes.
    #[error(transparent)]
    Exec(anyhow::Error),
    /// `help` of an unknown topic (urfave/cli: 3).
    #[error(transparent)]
    Help(anyhow::Error),
    /// Any other command (runc: 1).
    #[error(transparent)]
    Failed(anyhow::Error),
}

/// Run the parsed command; `Ok(code)` is the process exit status.
pub fn run(cli: Cli) -> Result<i32, CommandError> {
    let g = cli.global();
    let result = match cli.command {
        Command::Exec(a) => return exec::run(&g, a).map_err(CommandError::Exec),
        Command::Create(a) => create::run(&g, a),
        Command::Start(a) => start::run(&g, a),
        Command::Run(a) => run::run(&g, a),
        Command::State(a) => state::run(&g, a),
        Command::Events(a) => events::run(&g, a),
        Command::Kill(a) => kill::run(&g, a),
        Command::Delete(a) => delete::run(&g, a),
        Command::Pause(a) => pause::pause(&g, a),
        Command::Resume(a) => pause::resume(&g, a),
        Command::Ps(a) => ps::run(&g, a),
        Command::Update(a) => update::run(&g, a),
        Command::List(a) => list::run(&g, a),
        Command::Spec(a) => spec::run(&g, a),
        Command::Features(a) => features::run(&g, a),
        Command::Checkpoint(a) => checkpoint::checkpoint(&g, a),
        Command::Restore(a) => checkpoint::restore(&g, a),
        Command::Help(a) => help(a),
    };
    result.map_err(|e| if e.is::<UnknownHelpTopic>() { CommandError::Help(e) } else { CommandError::Failed(e) })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn boolean_flags_take_go_bool_values_and_negative_numbers_parse() {
        let cli = Cli::parse_args(["berth", "--debug=true", "delete", "--force=false", "x"]).unwrap();
        assert!(cli.debug);
        assert!(matches!(cli.command, Command::Delete(ref d) if !d.force));
        assert!(Cli::parse_args(["berth", "--debug", "delete", "-f", "x"]).unwrap().debug);
        assert!(!Cli::parse_args(["berth", "--debug=F", "list"]).unwrap().debug);
        assert!(Cli::parse_args(["berth", "--debug=maybe", "list"]).is_err());
        let cli = Cli::parse_args(["berth", "update", "--memory", "-1", "--pids-limit", "-1", "x"]).unwrap();
        assert!(matches!(cli.command, Command::Update(ref u) if u.pids_limit == Some(-1)));
    }

    #[test]
    fn rootless_takes_only_auto_true_or_false() {
        let cli = Cli::try_parse_from(["berth", "--rootless", "true", "list"]).unwrap();
        assert_eq!(cli.rootless, Rootless::True);
        assert!(cli.global().rootless);
        let cli = Cli::try_parse_from(["berth", "--rootless", "false", "list"]).unwrap();
        assert!(!cli.global().rootless);
        assert_eq!(Cli::try_parse_from(["berth", "list"]).unwrap().rootless, Rootless::Auto);
        let err = Cli::try_parse_from(["berth", "--rootless", "yes", "list"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::InvalidValue);
        // `spec --rootless` stays the subcommand's own flag.
        assert!(Cli::try_parse_from(["berth", "spec", "--rootless"]).is_ok());
    }
}
