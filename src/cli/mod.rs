//! `berth`'s command line: runc's global flags and subcommands, spelled exactly as
//! runc spells them, since containerd's shim and conmon call us with runc's argv.

mod args;
mod checkpoint;
mod create;
mod delete;
mod events;
mod exec;
mod features;
mod help;
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

use std::ffi::OsString;
use std::path::PathBuf;

use args::{Arity, Flag, Kind, Matches, flag};
pub use log::{LogFormat, LogSink};

/// The commit berth was built from: `BERTH_COMMIT` at build time (the Makefile
/// sets it from git), else `unknown`.
const COMMIT: &str = match option_env!("BERTH_COMMIT") {
    Some(c) if !c.is_empty() => c,
    _ => "unknown",
};

/// `--version`/`-v`, in runc's shape: docker's `info` reads the `commit:` line.
fn version() -> String {
    format!("berth version {}\ncommit: {COMMIT}\nspec: 1.2.0\n", env!("CARGO_PKG_VERSION"))
}

/// The parsed command line: runc's global flags and one command.
#[derive(Debug)]
pub struct Cli {
    /// `--root`: the state directory (default /run/berth; $XDG_RUNTIME_DIR/berth
    /// for an unprivileged caller, as runc does)
    pub root: Option<PathBuf>,
    /// `--log`: log lines go to this file instead of stderr
    pub log: Option<PathBuf>,
    /// `--log-format text|json`
    pub log_format: LogFormat,
    /// `--debug`
    pub debug: bool,
    /// `--systemd-cgroup`: cgroupsPath is slice:prefix:name
    pub systemd_cgroup: bool,
    /// `--rootless auto|true|false`
    pub rootless: Rootless,
    /// `--criu`: the criu binary for checkpoint and restore
    pub criu: PathBuf,
    pub command: Command,
}

#[derive(Debug)]
pub enum Command {
    Create(create::Args),
    Start(start::Args),
    Run(run::Args),
    State(state::Args),
    Events(events::Args),
    Exec(exec::Args),
    Kill(kill::Args),
    Delete(delete::Args),
    Pause(pause::Args),
    Resume(pause::Args),
    Ps(ps::Args),
    Update(update::Args),
    List(list::Args),
    Spec(spec::Args),
    Features(features::Args),
    Checkpoint(checkpoint::Args),
    Restore(checkpoint::RestoreArgs),
    /// `help [TOPIC]`, `CMD --help`, or no command at all.
    Help(HelpArgs),
    /// The command's arguments were wrong: runc prints why and the command's
    /// help, and exits 1.
    Usage(Usage),
}

#[derive(Debug)]
pub struct HelpArgs {
    /// The command to show help for
    pub topic: Option<String>,
}

/// A usage error of one command.
#[derive(Debug)]
pub struct Usage {
    command: &'static str,
    message: String,
    shown: Shown,
}

/// What urfave/cli prints on stdout before the command's help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    /// A flag could not be parsed: "Incorrect Usage: ERR".
    FlagError,
    /// Too few or too many arguments: "Incorrect Usage." (runc's checkArgs).
    ArgCount,
    /// A value the command itself refuses: nothing, and no help.
    Nothing,
}

/// `--rootless`, as runc takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// A command line that ends before any command runs: help, the version, or a
/// usage error of the global flags. `print` writes what runc writes.
#[derive(Debug)]
pub struct Early {
    stdout: String,
    error: Option<String>,
    code: i32,
}

impl Early {
    fn usage(error: String) -> Early {
        // urfave/cli: "Incorrect Usage. ERR", except for normalizeFlags' error,
        // printed bare.
        let head = if error.starts_with("Cannot use two forms") { String::new() } else { "Incorrect Usage. ".into() };
        Early { stdout: format!("{head}{error}\n\n{}", help::app()), error: Some(error), code: 1 }
    }

    /// Print runc's output for this ending: the text on stdout, the error (if
    /// any) on stderr.
    pub fn print(&self) -> std::io::Result<()> {
        use std::io::Write;
        let mut out = std::io::stdout();
        out.write_all(self.stdout.as_bytes())?;
        out.flush()?;
        if let Some(e) = &self.error {
            writeln!(std::io::stderr(), "berth: {e}")?;
        }
        Ok(())
    }

    /// The exit status: 0 for help and version, 1 for a usage error.
    pub fn code(&self) -> i32 {
        self.code
    }
}

/// The global flags, in runc's order (urfave adds help and version).
const GLOBAL: &[Flag] = &[
    flag(&["debug"], Kind::Bool),
    flag(&["log"], Kind::Str),
    flag(&["log-format"], Kind::Str),
    flag(&["root"], Kind::Str),
    flag(&["criu"], Kind::Str),
    flag(&["systemd-cgroup"], Kind::Bool),
    flag(&["rootless"], Kind::Str),
    flag(&["version", "v"], Kind::Bool),
];

/// One command: its name, flags, positional count and how its arguments are
/// read. `reorder` is urfave's default; runc turns it off for `exec` and `ps`,
/// whose trailing arguments are the process's own.
struct Spec {
    name: &'static str,
    flags: &'static [Flag],
    reorder: bool,
    arity: Arity,
    build: fn(&Matches) -> Result<Command, String>,
}

const fn cmd(
    name: &'static str,
    flags: &'static [Flag],
    arity: Arity,
    build: fn(&Matches) -> Result<Command, String>,
) -> Spec {
    Spec { name, flags, reorder: true, arity, build }
}

/// runc 1.1.5's commands, with each one's `checkArgs`.
const COMMANDS: &[Spec] = &[
    cmd("checkpoint", checkpoint::FLAGS, Arity::Exactly(1), |m| Ok(Command::Checkpoint(checkpoint::Args::parse(m)?))),
    cmd("create", create::FLAGS, Arity::Exactly(1), |m| Ok(Command::Create(create::Args::parse(m)?))),
    cmd("delete", delete::FLAGS, Arity::Exactly(1), |m| Ok(Command::Delete(delete::Args::parse(m)?))),
    cmd("events", events::FLAGS, Arity::Exactly(1), |m| Ok(Command::Events(events::Args::parse(m)?))),
    Spec {
        name: "exec",
        flags: exec::FLAGS,
        reorder: false,
        arity: Arity::AtLeast(1),
        build: |m| Ok(Command::Exec(exec::Args::parse(m)?)),
    },
    cmd("kill", kill::FLAGS, Arity::Between(1, 2), |m| Ok(Command::Kill(kill::Args::parse(m)?))),
    cmd("list", list::FLAGS, Arity::Exactly(0), |m| Ok(Command::List(list::Args::parse(m)?))),
    cmd("pause", &[], Arity::Exactly(1), |m| Ok(Command::Pause(pause::Args::parse(m)?))),
    Spec {
        name: "ps",
        flags: ps::FLAGS,
        reorder: false,
        arity: Arity::AtLeast(1),
        build: |m| Ok(Command::Ps(ps::Args::parse(m)?)),
    },
    cmd("restore", checkpoint::RESTORE_FLAGS, Arity::Exactly(1), |m| {
        Ok(Command::Restore(checkpoint::RestoreArgs::parse(m)?))
    }),
    cmd("resume", &[], Arity::Exactly(1), |m| Ok(Command::Resume(pause::Args::parse(m)?))),
    cmd("run", run::FLAGS, Arity::Exactly(1), |m| Ok(Command::Run(run::Args::parse(m)?))),
    cmd("spec", spec::FLAGS, Arity::Exactly(0), |m| Ok(Command::Spec(spec::Args::parse(m)?))),
    cmd("start", &[], Arity::Exactly(1), |m| Ok(Command::Start(start::Args::parse(m)?))),
    cmd("state", &[], Arity::Exactly(1), |m| Ok(Command::State(state::Args::parse(m)?))),
    cmd("update", update::FLAGS, Arity::Exactly(1), |m| Ok(Command::Update(update::Args::parse(m)?))),
    cmd("features", &[], Arity::Exactly(0), |m| Ok(Command::Features(features::Args::parse(m)?))),
    cmd("help", &[], Arity::Any, |m| Ok(Command::Help(HelpArgs { topic: first_arg(m) }))),
    cmd("h", &[], Arity::Any, |m| Ok(Command::Help(HelpArgs { topic: first_arg(m) }))),
];

/// `help`'s topic: its first argument (a name that is no UTF-8 is no topic
/// either, so it is shown lossily in the error).
fn first_arg(m: &Matches) -> Option<String> {
    m.rest.first().map(|a| a.to_string_lossy().into_owned())
}

/// One command's arguments, as urfave/cli's `Command.Run` and runc's
/// `checkArgs` read them.
fn parse_command(spec: &Spec, args: Vec<OsString>) -> Command {
    let args = if spec.reorder { args::reorder(spec.flags, args) } else { args };
    let usage = |message: String, shown: Shown| Command::Usage(Usage { command: spec.name, message, shown });
    let m = match Matches::parse(spec.flags, &args) {
        Ok(m) => m,
        Err(e) => return usage(e, Shown::FlagError),
    };
    if m.help() {
        return Command::Help(HelpArgs { topic: Some(spec.name.into()) });
    }
    if let Err(e) = spec.arity.check(spec.name, m.rest.len()) {
        return usage(e, Shown::ArgCount);
    }
    (spec.build)(&m).unwrap_or_else(|e| usage(e, Shown::Nothing))
}

/// runc's `--rootless` values: `auto` (any case) or empty, or Go's ParseBool.
fn rootless(value: Option<OsString>) -> Result<Rootless, String> {
    let Some(v) = value else { return Ok(Rootless::Auto) };
    let b = v.as_encoded_bytes();
    if b.is_empty() || b.eq_ignore_ascii_case(b"auto") {
        return Ok(Rootless::Auto);
    }
    match args::go_bool(b) {
        Some(true) => Ok(Rootless::True),
        Some(false) => Ok(Rootless::False),
        None => Err(format!("invalid --rootless value {:?}: want true, false or auto", v.to_string_lossy())),
    }
}

/// runc's `--log-format`, checked before any command runs.
fn log_format(value: Option<OsString>) -> Result<LogFormat, String> {
    match value.as_ref().map(|v| v.as_encoded_bytes()) {
        None | Some(b"" | b"text") => Ok(LogFormat::Text),
        Some(b"json") => Ok(LogFormat::Json),
        Some(v) => Err(format!("invalid log-format: {}", String::from_utf8_lossy(v))),
    }
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

    /// Parse the command line (`args` starts with the program's name) as runc's
    /// urfave/cli does. Help, the version and a usage error of the global flags
    /// end here; a command's usage error becomes `Command::Usage`, reported once
    /// logging is set up, as runc does.
    pub fn parse_args<I, T>(args: I) -> Result<Cli, Early>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString>,
    {
        let argv: Vec<OsString> = args.into_iter().skip(1).map(Into::into).collect();
        let mut m = Matches::parse(GLOBAL, &argv).map_err(Early::usage)?;
        if m.help() {
            return Err(Early { stdout: help::app(), error: None, code: 0 });
        }
        if m.bool("version") {
            return Err(Early { stdout: version(), error: None, code: 0 });
        }
        let fail = |error: String| Early { stdout: String::new(), error: Some(error), code: 1 };
        let log_format = log_format(m.os("log-format")).map_err(fail)?;
        let rootless = rootless(m.os("rootless")).map_err(fail)?;
        let rest = std::mem::take(&mut m.rest);
        let command = match rest.first() {
            None => Command::Help(HelpArgs { topic: None }),
            Some(name) => match COMMANDS.iter().find(|c| name.as_encoded_bytes() == c.name.as_bytes()) {
                Some(spec) => parse_command(spec, rest[1..].to_vec()),
                // urfave/cli shows the help of an unknown command: none.
                None => Command::Help(HelpArgs { topic: Some(name.to_string_lossy().into_owned()) }),
            },
        };
        Ok(Cli {
            root: m.path("root"),
            log: m.path("log"),
            log_format,
            debug: m.bool("debug"),
            systemd_cgroup: m.bool("systemd-cgroup"),
            rootless,
            criu: m.path("criu").unwrap_or_else(|| "criu".into()),
            command,
        })
    }
}

/// `berth help [COMMAND]`: runc's help command. An unknown topic is an error
/// with urfave/cli's wording and exit code 3.
fn help(args: HelpArgs) -> anyhow::Result<i32> {
    use std::io::Write;
    let text = match args.topic {
        None => help::app(),
        Some(topic) => help::command(&topic).ok_or(UnknownHelpTopic(topic))?.to_string(),
    };
    let mut out = std::io::stdout();
    out.write_all(text.as_bytes())?;
    // The bin ends with process::exit, which drops what a LineWriter still holds.
    out.flush()?;
    Ok(0)
}

/// A command's usage error: runc's text and the command's help on stdout, the
/// error itself returned (printed by the bin, exit 1).
fn usage(u: Usage) -> anyhow::Result<i32> {
    use std::io::Write;
    let head = match u.shown {
        Shown::FlagError => format!("Incorrect Usage: {}\n\n", u.message),
        Shown::ArgCount => "Incorrect Usage.\n\n".into(),
        Shown::Nothing => return Err(anyhow::anyhow!(u.message)),
    };
    let mut out = std::io::stdout();
    out.write_all(head.as_bytes())?;
    out.write_all(help::command(u.command).unwrap_or_default().as_bytes())?;
    out.flush()?;
    Err(anyhow::anyhow!(u.message))
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
        Command::Usage(u) => usage(u),
    };
    result.map_err(|e| if e.is::<UnknownHelpTopic>() { CommandError::Help(e) } else { CommandError::Failed(e) })
}

#[cfg(test)]
mod tests;
