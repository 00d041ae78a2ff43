//! `berthctl version`: the client's version and the runtime's, as docker shows
//! its client and engine (the runtime stands where docker's engine does).

use std::process::Command;

use anyhow::Context;

use crate::config::Config;

#[derive(Debug, clap::Args)]
pub(crate) struct VersionArgs {}

pub(crate) fn run(config: &Config, _args: &VersionArgs) -> anyhow::Result<i32> {
    let out = Command::new(&config.runtime)
        .arg("--version")
        .output()
        .with_context(|| format!("run {} --version", config.runtime.display()))?;
    let runtime_version = String::from_utf8_lossy(&out.stdout);
    println!("Client:");
    println!(" Version:           {}", env!("CARGO_PKG_VERSION"));
    println!(" OS/Arch:           linux/{}", crate::platform_arch());
    println!();
    println!("Runtime:");
    println!(" Name:              {}", config.runtime_name);
    println!(" Path:              {}", config.runtime.display());
    for line in runtime_version.lines() {
        println!(" {line}");
    }
    println!();
    println!("Storage:");
    println!(" Data root:         {}", config.data_root.display());
    println!(" Run root:          {}", config.runroot.display());
    Ok(0)
}
