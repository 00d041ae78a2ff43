//! `berthctl pull [-q] [--platform P] NAME[:TAG|@DIGEST]` / `image pull`:
//! docker's output — "Using default tag", "<tag>: Pulling from <repo>", a
//! line per layer, "Digest:", "Status:", then the full reference; `-q`
//! prints only the reference.

use crate::config::Config;
use crate::image::Store;
use crate::progress::Progress;
use crate::reference::{Reference, familiar};
use crate::registry::{self, PullOptions};

#[derive(Debug, clap::Args)]
pub(crate) struct PullArgs {
    /// Download all tagged images in the repository
    #[arg(short = 'a', long = "all-tags")]
    pub all_tags: bool,
    /// Set platform if server is multi-platform capable
    #[arg(long)]
    pub platform: Option<String>,
    /// Suppress verbose output
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Skip image verification
    #[arg(long = "disable-content-trust", default_value_t = true)]
    pub disable_content_trust: bool,
    #[arg(value_name = "NAME[:TAG|@DIGEST]")]
    pub name: String,
}

pub(crate) fn run(config: &Config, args: &PullArgs) -> anyhow::Result<i32> {
    if args.all_tags {
        anyhow::bail!("pull --all-tags: not supported; pull each tag by name");
    }
    let progress = Progress::new(args.quiet);
    let explicit = Reference::parse_name_only(&args.name)?;
    if explicit.tag.is_none() && explicit.digest.is_none() {
        progress.message("Using default tag: latest");
    }
    let mut store = Store::open(&config.data_root)?;
    let opts = PullOptions { platform: args.platform.clone(), auth_file: config.auth_file() };
    let pulled = registry::pull(&mut store, &args.name, &opts, &progress)?;
    tracing::debug!(id = %pulled.id, digest = %pulled.digest, "pulled");
    let shown = familiar(&pulled.reference.to_string());
    progress.message(&format!("Digest: {}", pulled.digest));
    if pulled.downloaded {
        progress.message(&format!("Status: Downloaded newer image for {shown}"));
    } else {
        progress.message(&format!("Status: Image is up to date for {shown}"));
    }
    println!("{}", pulled.reference);
    let name = familiar(&pulled.reference.repository());
    crate::events::image(&config.data_root, "pull", &shown, &name);
    Ok(0)
}
