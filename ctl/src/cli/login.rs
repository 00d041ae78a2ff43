//! `berthctl login` / `logout`: docker's flags and messages. Credentials are
//! checked against the registry before they are stored (as docker's login),
//! in the file `Config::auth_file` names or its credential helper.

use std::io::{self, BufRead, IsTerminal, Write};

use anyhow::Context;

use crate::auth::{self, StoredIn};
use crate::config::Config;

#[derive(Debug, clap::Args)]
pub(crate) struct LoginArgs {
    /// Username
    #[arg(short = 'u', long)]
    username: Option<String>,
    /// Password
    #[arg(short = 'p', long)]
    password: Option<String>,
    /// Take the password from stdin
    #[arg(long = "password-stdin")]
    password_stdin: bool,
    /// Registry (default Docker Hub)
    server: Option<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct LogoutArgs {
    /// Registry (default Docker Hub)
    server: Option<String>,
}

pub(crate) fn login(config: &Config, args: &LoginArgs) -> anyhow::Result<i32> {
    let server = auth::server_key(args.server.as_deref().unwrap_or(auth::DOCKER_HUB_SERVER));
    if args.password.is_some() && args.password_stdin {
        anyhow::bail!("--password and --password-stdin are mutually exclusive");
    }
    if args.password_stdin && args.username.is_none() {
        anyhow::bail!("Must provide --username with --password-stdin");
    }
    if args.password.is_some() {
        eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
    }
    let (username, password) = credentials(args)?;
    if let Err(e) = auth::verify(&server, &username, &password) {
        eprintln!("Error response from registry: {}", crate::cli::error_chain(&e.into()));
        return Ok(1);
    }
    let file = config.auth_file();
    match auth::store(&file, &server, &username, &password)? {
        StoredIn::File => {
            eprintln!("WARNING! Your password will be stored unencrypted in {}.", file.display());
            eprintln!("Configure a credential helper to remove this warning. See");
            eprintln!("https://docs.docker.com/engine/reference/commandline/login/#credentials-store");
            eprintln!();
        }
        StoredIn::Helper(_) => {}
    }
    println!("Login Succeeded");
    Ok(0)
}

/// From the flags, stdin (`--password-stdin`) or, on a terminal, prompts.
fn credentials(args: &LoginArgs) -> anyhow::Result<(String, String)> {
    let stdin = io::stdin();
    let interactive = stdin.is_terminal();
    let username = match &args.username {
        Some(u) => u.clone(),
        None if interactive => prompt("Username: ")?,
        None => anyhow::bail!("Cannot perform an interactive login from a non TTY device"),
    };
    if username.is_empty() {
        anyhow::bail!("Username is required");
    }
    let password = if let Some(p) = &args.password {
        p.clone()
    } else if args.password_stdin {
        let mut line = String::new();
        stdin.lock().read_line(&mut line).context("read the password from stdin")?;
        line.trim_end_matches(['\n', '\r']).to_string()
    } else if interactive {
        let p = crate::sys::term::read_hidden("Password: ").context("read the password")?;
        eprintln!();
        p
    } else {
        anyhow::bail!("Cannot perform an interactive login from a non TTY device");
    };
    if password.is_empty() {
        anyhow::bail!("Password is required");
    }
    Ok((username, password))
}

fn prompt(text: &str) -> anyhow::Result<String> {
    eprint!("{text}");
    io::stderr().flush().ok();
    let mut line = String::new();
    io::stdin().lock().read_line(&mut line).context("read from the terminal")?;
    Ok(line.trim().to_string())
}

pub(crate) fn logout(config: &Config, args: &LogoutArgs) -> anyhow::Result<i32> {
    let server = auth::server_key(args.server.as_deref().unwrap_or(auth::DOCKER_HUB_SERVER));
    let file = config.auth_file();
    if auth::erase(&file, &server)? {
        println!("Removing login credentials for {server}");
    } else {
        println!("Not logged in to {server}");
    }
    Ok(0)
}
