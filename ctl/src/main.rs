//! `berthctl`: a daemonless docker-style front end. Parse the command line as
//! docker's CLI does, set up logging, run one command, and map the result to
//! docker's exit codes (125 for an error of berthctl itself, the container's
//! status where a command returns one).
#![deny(unsafe_code)]

mod archive;
mod auth;
mod build;
mod cli;
mod config;
mod container;
mod content;
mod db;
mod events;
mod format;
mod host;
mod image;
mod names;
mod network;
mod pack;
mod progress;
mod reference;
mod registry;
mod snapshot;
mod supervisor;
#[allow(unsafe_code)]
mod sys;
mod testhook;
mod unpack;
mod volume;

fn main() {
    let cli = match cli::Cli::parse_docker_style() {
        Ok(cli) => cli,
        Err(code) => std::process::exit(code),
    };
    cli::init_logging(&cli.global);
    let code = match cli::run(cli) {
        Ok(code) => code,
        // docker prints template and inspect failures bare, with their own
        // status (1, or 64 for an inspect template that does not parse).
        Err(err) => match err.downcast_ref::<format::FormatError>() {
            Some(f) => {
                eprintln!("{}", cli::error_chain(&err));
                f.exit_code()
            }
            None => {
                eprintln!("Error: {}", cli::error_chain(&err));
                cli::exit_code_of(&err)
            }
        },
    };
    std::process::exit(code);
}

/// The host's architecture in OCI's spelling (GOARCH), for platform choice and
/// `version`/`info`.
pub(crate) fn platform_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}
