//! `berthctl push [-q] NAME[:TAG]` / `image push`: docker's output — "The
//! push refers to repository [...]", a line per layer (`Preparing`,
//! `Layer already exists`, `Mounted from`, `Pushing`, `Pushed`), then
//! "<tag>: digest: <digest> size: <n>"; `-q` prints only the reference.

use crate::config::Config;
use crate::image::{self, Store};
use crate::progress::Progress;
use crate::reference::{Reference, familiar};
use crate::registry::{self, PushOptions};

#[derive(Debug, clap::Args)]
pub(crate) struct PushArgs {
    /// Push all tagged images in the repository
    #[arg(short = 'a', long = "all-tags")]
    pub all_tags: bool,
    /// Suppress verbose output
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Skip image signing
    #[arg(long = "disable-content-trust", default_value_t = true)]
    pub disable_content_trust: bool,
    #[arg(value_name = "NAME[:TAG]")]
    pub name: String,
}

pub(crate) fn run(config: &Config, args: &PushArgs) -> anyhow::Result<i32> {
    let progress = Progress::new(args.quiet);
    let explicit = Reference::parse_name_only(&args.name)?;
    let name_only = explicit.tag.is_none() && explicit.digest.is_none();
    if args.all_tags && !name_only {
        anyhow::bail!("tag can't be used with --all-tags/-a");
    }
    let mut store = Store::open(&config.data_root)?;
    if args.all_tags {
        return push_all_tags(&mut store, &explicit, config, &progress, args.quiet);
    }
    if name_only {
        progress.message("Using default tag: latest");
    }
    let opts = PushOptions { auth_file: config.auth_file(), no_header: false };
    let pushed = registry::push(&mut store, &args.name, &opts, &progress)?;
    tracing::debug!(digest = %pushed.digest, size = pushed.size, "pushed");
    if args.quiet {
        println!("{}", pushed.reference);
    }
    Ok(0)
}

/// `push -a`: every local tag of the repository, in name order, under one
/// "The push refers to repository" line, as docker's daemon pushes them.
fn push_all_tags(
    store: &mut Store,
    repo: &Reference,
    config: &Config,
    progress: &Progress,
    quiet: bool,
) -> anyhow::Result<i32> {
    let repository = repo.repository();
    let short = familiar(&repository);
    let mut tags: Vec<String> =
        image::list(&store.db)?.into_iter().flat_map(|s| s.tags).filter(|(r, _)| *r == short).map(|(_, t)| t).collect();
    tags.sort();
    if tags.is_empty() {
        anyhow::bail!("An image does not exist locally with the tag: {short}");
    }
    progress.message(&format!("The push refers to repository [{repository}]"));
    let opts = PushOptions { auth_file: config.auth_file(), no_header: true };
    for tag in &tags {
        registry::push(store, &format!("{repository}:{tag}"), &opts, progress)?;
    }
    if quiet {
        println!("{repository}");
    }
    Ok(0)
}
