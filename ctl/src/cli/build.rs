//! `berthctl build [OPTIONS] PATH | - ` / `image build`, with docker's flags,
//! and `builder prune`. The output is BuildKit's plain progress on stderr,
//! as docker 23+ prints it (`#4 [2/3] COPY a /a`, `#4 CACHED`); a failing
//! RUN ends with `ERROR: failed to solve: process "…" did not complete
//! successfully: exit code: N`, exit 1. With `DOCKER_BUILDKIT=0` it is the
//! classic builder's ("Step N/M : …", " ---> Using cache", "Successfully
//! built <id>"), a failing RUN printing "The command '…' returned a non-zero
//! code: N" and exiting with that code. `-q` prints only the image id.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use crate::build::output::{LEGACY_NOTICE, Style};
use crate::build::{self, BuildError, BuildOptions};
use crate::config::Config;
use crate::format::units;
use crate::image::Store;
use crate::reference::Reference;

#[derive(Debug, clap::Args)]
pub(crate) struct BuildArgs {
    /// Name and optionally a tag in the 'name:tag' format
    #[arg(short = 't', long = "tag")]
    pub tags: Vec<String>,
    /// Name of the Dockerfile (Default is 'PATH/Dockerfile')
    #[arg(short = 'f', long = "file")]
    pub file: Option<String>,
    /// Do not use cache when building the image
    #[arg(long = "no-cache", num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = clap::ArgAction::Set)]
    pub no_cache: bool,
    /// Always attempt to pull a newer version of the image
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = clap::ArgAction::Set)]
    pub pull: bool,
    /// Set build-time variables
    #[arg(long = "build-arg")]
    pub build_args: Vec<String>,
    /// Set the target build stage to build.
    #[arg(long)]
    pub target: Option<String>,
    /// Set metadata for an image
    #[arg(long = "label")]
    pub labels: Vec<String>,
    /// Set platform if server is multi-platform capable
    #[arg(long)]
    pub platform: Option<String>,
    /// Suppress the build output and print image ID on success
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Set type of progress output (auto, plain, tty). Use plain to show container output
    #[arg(long, default_value = "auto")]
    pub progress: Progress,
    /// Write the image ID to the file
    #[arg(long)]
    pub iidfile: Option<PathBuf>,
    /// Set the networking mode for the RUN instructions during build
    #[arg(long, default_value = "default")]
    pub network: String,
    /// Remove intermediate containers after a successful build
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "true", action = clap::ArgAction::Set)]
    pub rm: bool,
    /// Always remove intermediate containers
    #[arg(long = "force-rm")]
    pub force_rm: bool,
    /// Optional parent cgroup for the container
    #[arg(long = "cgroup-parent", default_value = "")]
    pub cgroup_parent: String,
    /// Build context: a directory, a tar archive, or - (a Dockerfile or archive on stdin)
    #[arg(value_name = "PATH | -")]
    pub context: String,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum Progress {
    Auto,
    Plain,
    Tty,
}

pub(crate) fn run(config: &Config, args: &BuildArgs) -> anyhow::Result<i32> {
    let tags = args
        .tags
        .iter()
        .map(|t| Reference::parse(t).map_err(|e| anyhow::anyhow!("invalid argument {t:?} for \"-t, --tag\" flag: {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let style = match Style::from_env(std::env::var("DOCKER_BUILDKIT").ok().as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ERROR: {e}");
            return Ok(1);
        }
    };
    if style == Style::Classic {
        eprintln!("{LEGACY_NOTICE}");
    }
    let opts = BuildOptions {
        style,
        tags,
        no_cache: args.no_cache,
        pull: args.pull,
        build_args: args.build_args.iter().filter_map(|a| key_value(a, true)).collect(),
        target: args.target.clone(),
        labels: args.labels.iter().filter_map(|l| key_value(l, false)).collect(),
        platform: args.platform.clone(),
        quiet: args.quiet,
        cgroup_parent: args.cgroup_parent.clone(),
        network: match args.network.as_str() {
            // docker's "default" for RUN is the default bridge (BERTH_NETWORK may say otherwise).
            "default" => std::env::var("BERTH_NETWORK").unwrap_or_else(|_| "bridge".into()),
            n => n.to_string(),
        },
    };
    let scratch_parent = config.data_root.join("tmp");
    let platform = opts.platform.as_deref().map_or(Ok(()), build::check_platform);
    let built = platform
        .and_then(|()| build::context::load(&args.context, args.file.as_deref(), &scratch_parent))
        .and_then(|ctx| {
            let df = build::parse_dockerfile(&ctx.dockerfile_name, &ctx.dockerfile)?;
            build::build(config, &ctx, &df, &opts)
        });
    report(args, style, built)
}

/// The build's result: the id (`-q`, `--iidfile`) or the error, in the
/// builder's words, and the exit code.
fn report(args: &BuildArgs, style: Style, built: Result<crate::reference::Digest, BuildError>) -> anyhow::Result<i32> {
    match built {
        Ok(id) => {
            if let Some(f) = &args.iidfile {
                std::fs::write(f, id.as_str()).map_err(|e| anyhow::anyhow!("write iidfile {}: {e}", f.display()))?;
            }
            if args.quiet {
                println!("{id}");
            }
            Ok(0)
        }
        Err(BuildError::RunFailed { command, code }) if style == Style::BuildKit => {
            eprintln!("ERROR: failed to solve: {}", build::output::run_failed(&command, code));
            Ok(1)
        }
        Err(e) if style == Style::BuildKit => {
            let solve = if matches!(e, BuildError::Context(_)) { "" } else { "failed to solve: " };
            eprintln!("ERROR: {solve}{}", super::error_chain(&anyhow::Error::from(e)));
            Ok(1)
        }
        Err(BuildError::RunFailed { command, code }) => {
            // docker's CLI prints the daemon's message bare and exits with the command's status.
            eprintln!("The command '{command}' returned a non-zero code: {code}");
            Ok(code)
        }
        Err(e) => {
            // docker build prints a failed build's message bare and exits 1.
            eprintln!("{}", super::error_chain(&anyhow::Error::from(e)));
            Ok(1)
        }
    }
}

/// `K=V`; a bare `K` takes the environment's value (build args) or "" (labels).
fn key_value(s: &str, from_env: bool) -> Option<(String, String)> {
    match s.split_once('=') {
        Some((k, v)) => Some((k.to_string(), v.to_string())),
        None if from_env => std::env::var(s).ok().map(|v| (s.to_string(), v)),
        None => Some((s.to_string(), String::new())),
    }
}

#[derive(Debug, clap::Args)]
pub(crate) struct BuilderArgs {
    #[command(subcommand)]
    pub command: BuilderCommand,
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum BuilderCommand {
    /// Build an image from a Dockerfile
    Build(Box<BuildArgs>),
    /// Remove build cache
    Prune(BuilderPruneArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct BuilderPruneArgs {
    /// Remove all unused build cache, not just dangling ones
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
}

pub(crate) fn builder(config: &Config, args: &BuilderArgs) -> anyhow::Result<i32> {
    match &args.command {
        BuilderCommand::Build(b) => run(config, b),
        BuilderCommand::Prune(p) => prune(config, p),
    }
}

fn prune(config: &Config, args: &BuilderPruneArgs) -> anyhow::Result<i32> {
    if !args.force {
        print!("WARNING! This will remove all dangling build cache. Are you sure you want to continue? [y/N] ");
        std::io::stdout().flush()?;
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        if !matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            return Ok(0);
        }
    }
    let mut store = Store::open(&config.data_root)?;
    let pruned = build::cache::prune(&mut store, None)?;
    if !pruned.images.is_empty() {
        println!("Deleted build cache objects:");
        for id in &pruned.images {
            println!("{}", id.hex());
        }
        println!();
    }
    println!("Total reclaimed space: {}", units::human_size(pruned.reclaimed));
    Ok(0)
}
