//! Pulling from a registry (docker's distribution protocol through
//! `oci-client`, rustls with the `ring` provider): the manifest or index
//! (platform chosen: `--platform`, default the host's), the config, then every
//! missing layer downloaded in parallel and streamed through decompression,
//! digest checks and unpacking at once. Plain HTTP for loopback registries as
//! docker treats 127.0.0.0/8 and localhost; credentials from docker's
//! `config.json` (and its helpers). A registry that lies (wrong digest, short
//! blob, bad JSON, errors) fails the pull with a message naming registry, image
//! and blob, and leaves no partial blob or snapshot behind.

mod auth;
mod fetch;
mod manifest;
mod pull;
mod push;

use std::io;

pub(crate) use pull::{PullOptions, pull, tags};
pub(crate) use push::{PushOptions, push};

use crate::image::ImageError;
use crate::reference::ReferenceError;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub(crate) enum RegistryError {
    /// A request failed or the registry answered with an error.
    #[error("registry {registry}: image {image}: {what}")]
    Remote { registry: String, image: String, what: String, source: BoxError },
    /// The registry answered, but with something we refuse.
    #[error("registry {registry}: image {image}: {what}")]
    Invalid { registry: String, image: String, what: String },
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error("start the download runtime")]
    Runtime(#[source] io::Error),
}
