//! `berthctl push [-q] NAME[:TAG]` / `image push`: docker's output — "The
//! push refers to repository [...]", a line per layer (`Preparing`,
//! `Layer already exists`, `Mounted from`, `Pushing`, `Pushed`), then
//! "<tag>: digest: <digest> size: <n>"; `-q` prints only the reference.

use crate::config::Config;
use crate::image::Store;
use crate::progress::Progress;
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
    if args.all_tags {
        anyhow::bail!("push --all-tags: not supported; push each tag by name");
    }
    let progress = Progress::new(args.quiet);
    let mut store = Store::open(&config.data_root)?;
    let opts = PushOptions { auth_file: config.auth_file() };
    let pushed = registry::push(&mut store, &args.name, &opts, &progress)?;
    tracing::debug!(digest = %pushed.digest, size = pushed.size, "pushed");
    if args.quiet {
        println!("{}", pushed.reference);
    }
    Ok(0)
}
