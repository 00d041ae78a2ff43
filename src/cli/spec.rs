//! `berth spec`: write runc's default config.json into the bundle.
use std::path::PathBuf;

use anyhow::{Context, bail};

use super::Global;
use super::args::{Flag, Kind, Matches, flag};

#[derive(Debug)]
pub struct Args {
    /// Bundle directory to write config.json into
    pub bundle: PathBuf,
    /// Generate a config for a rootless container
    pub rootless: bool,
}

pub(crate) const FLAGS: &[Flag] = &[flag(&["bundle", "b"], Kind::Str), flag(&["rootless"], Kind::Bool)];

impl Args {
    pub(crate) fn parse(m: &Matches) -> Result<Args, String> {
        Ok(Args { bundle: m.path("bundle").unwrap_or_else(|| ".".into()), rootless: m.bool("rootless") })
    }
}

pub fn run(_g: &Global, args: Args) -> anyhow::Result<i32> {
    let path = args.bundle.join("config.json");
    if path.exists() {
        bail!("File {} exists. Remove it first", path.display());
    }
    let spec = if args.rootless {
        crate::spec::rootless_spec(nix::unistd::Uid::effective().as_raw(), nix::unistd::Gid::effective().as_raw())
    } else {
        crate::spec::default_spec()
    };
    let text = serde_json::to_string_pretty(&spec)?;
    std::fs::write(&path, text + "\n").with_context(|| format!("write {}", path.display()))?;
    Ok(0)
}
