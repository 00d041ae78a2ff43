//! The image a new container runs: found in the store, or pulled first as
//! docker does (`--pull missing|always|never`). As in docker, what the pull
//! reports goes to stderr (progress bars only on a terminal), so stdout of
//! `run -d` is the id alone.

use std::io::IsTerminal;

use crate::config::Config;
use crate::image::{self, Image, ImageError};
use crate::progress::Progress;
use crate::reference::familiar;
use crate::registry::{self, PullOptions};

fn pull(config: &Config, name: &str) -> anyhow::Result<()> {
    let progress = Progress::new(!std::io::stdout().is_terminal());
    let mut store = image::Store::open(&config.data_root)?;
    let pulled =
        registry::pull(&mut store, name, &PullOptions { platform: None, auth_file: config.auth_file() }, &progress)?;
    eprintln!("Digest: {}", pulled.digest);
    let shown = familiar(&pulled.reference.to_string());
    if pulled.downloaded {
        eprintln!("Status: Downloaded newer image for {shown}");
    } else {
        eprintln!("Status: Image is up to date for {shown}");
    }
    crate::events::image(&config.data_root, "pull", &shown, &familiar(&pulled.reference.repository()));
    Ok(())
}

pub(crate) fn ensure(config: &Config, name: &str, policy: &str) -> anyhow::Result<Image> {
    if !matches!(policy, "missing" | "always" | "never") {
        anyhow::bail!("invalid pull option: '{policy}': must be one of \"always\", \"missing\" or \"never\"");
    }
    if policy == "always" {
        pull(config, name)?;
    }
    let store = image::Store::open(&config.data_root)?;
    match image::resolve(&store, name) {
        Ok(img) => Ok(img),
        Err(ImageError::NotFound(_)) if policy == "never" => anyhow::bail!("No such image: {name}"),
        Err(ImageError::NotFound(_)) => {
            eprintln!("Unable to find image '{name}' locally");
            pull(config, name)?;
            Ok(image::resolve(&store, name)?)
        }
        Err(e) => Err(e.into()),
    }
}
