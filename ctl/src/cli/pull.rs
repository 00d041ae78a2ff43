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
    let progress = Progress::new(args.quiet);
    let explicit = Reference::parse_name_only(&args.name)?;
    let name_only = explicit.tag.is_none() && explicit.digest.is_none();
    if args.all_tags && !name_only {
        anyhow::bail!("tag can't be used with --all-tags/-a");
    }
    let mut store = Store::open(&config.data_root)?;
    let opts = PullOptions { platform: args.platform.clone(), auth_file: config.auth_file() };
    if args.all_tags {
        return pull_all_tags(&mut store, &explicit, &opts, &progress);
    }
    if name_only {
        progress.message("Using default tag: latest");
    }
    let pulled = registry::pull(&mut store, &args.name, &opts, &progress)?;
    tracing::debug!(id = %pulled.id, digest = %pulled.digest, "pulled");
    progress.message(&format!("Digest: {}", pulled.digest));
    let shown = familiar(&pulled.reference.to_string());
    status(&progress, &shown, pulled.downloaded);
    println!("{}", pulled.reference);
    crate::events::image(&config.data_root, "pull", &shown, &familiar(&pulled.reference.repository()));
    Ok(0)
}

/// `pull -a`: every tag the registry lists, each with its own "Pulling
/// from" and "Digest:" lines, then one status line and the repository's
/// name, as docker's daemon reports a whole-repository pull.
fn pull_all_tags(store: &mut Store, repo: &Reference, opts: &PullOptions, progress: &Progress) -> anyhow::Result<i32> {
    let repository = repo.repository();
    let tags = registry::tags(&repository, opts)?;
    let mut downloaded = false;
    for tag in &tags {
        let pulled = registry::pull(store, &format!("{repository}:{tag}"), opts, progress)?;
        progress.message(&format!("Digest: {}", pulled.digest));
        downloaded |= pulled.downloaded;
    }
    status(progress, &familiar(&repository), downloaded);
    println!("{repository}");
    Ok(0)
}

fn status(progress: &Progress, shown: &str, downloaded: bool) {
    if downloaded {
        progress.message(&format!("Status: Downloaded newer image for {shown}"));
    } else {
        progress.message(&format!("Status: Image is up to date for {shown}"));
    }
}
