//! `berthctl image …`: docker's management-command spellings of the image
//! commands (`image ls` is `images`, `image import` is `import`, …).

use clap::Subcommand;

use crate::config::Config;

use super::{build, history, images, import, inspect, prune, pull, push, rmi, save, tag};

#[derive(Debug, Subcommand)]
pub(crate) enum ImageCommand {
    /// List images
    #[command(visible_alias = "list")]
    Ls(images::ImagesArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(import::ImportArgs),
    /// Show the history of an image
    History(history::HistoryArgs),
    /// Display detailed information on one or more images
    Inspect(inspect::InspectArgs),
    /// Remove one or more images
    #[command(visible_alias = "remove")]
    Rm(rmi::RmiArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(tag::TagArgs),
    /// Remove unused images
    Prune(prune::PruneArgs),
    /// Download an image from a registry
    Pull(pull::PullArgs),
    /// Build an image from a Dockerfile
    Build(build::BuildArgs),
    /// Upload an image to a registry
    Push(push::PushArgs),
    /// Save one or more images to a tar archive
    Save(save::SaveArgs),
    /// Load an image from a tar archive or STDIN
    Load(save::LoadArgs),
}

pub(crate) fn run(config: &Config, cmd: ImageCommand) -> anyhow::Result<i32> {
    match cmd {
        ImageCommand::Ls(args) => images::run(config, &args),
        ImageCommand::Import(args) => import::run(config, &args),
        ImageCommand::History(args) => history::run(config, &args),
        ImageCommand::Inspect(args) => inspect::run(config, &args),
        ImageCommand::Rm(args) => rmi::run(config, &args),
        ImageCommand::Tag(args) => tag::run(config, &args),
        ImageCommand::Prune(args) => prune::run(config, &args),
        ImageCommand::Pull(args) => pull::run(config, &args),
        ImageCommand::Build(args) => build::run(config, &args),
        ImageCommand::Push(args) => push::run(config, &args),
        ImageCommand::Save(args) => save::save(config, &args),
        ImageCommand::Load(args) => save::load(config, &args),
    }
}
