//! The image a new container runs, found in the store (`--pull
//! missing|always|never` as docker's; pulling lands with the registry
//! client, until then a missing image is an error naming it).

use crate::config::Config;
use crate::image::{self, Image, ImageError};

pub(crate) fn ensure(config: &Config, name: &str, pull: &str) -> anyhow::Result<Image> {
    if !matches!(pull, "missing" | "always" | "never") {
        anyhow::bail!("invalid pull option: '{pull}': must be one of \"always\", \"missing\" or \"never\"");
    }
    let store = image::Store::open(&config.data_root)?;
    match image::resolve(&store, name) {
        Ok(img) if pull != "always" => Ok(img),
        Ok(_) => anyhow::bail!("--pull always {name}: pulling from a registry is not available in this berthctl yet"),
        Err(ImageError::NotFound(_)) if pull == "never" => anyhow::bail!("No such image: {name}"),
        Err(ImageError::NotFound(_)) => {
            anyhow::bail!("Unable to find image '{name}' locally, and pulling from a registry is not available in this berthctl yet")
        }
        Err(e) => Err(e.into()),
    }
}
