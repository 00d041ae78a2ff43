//! The image a new container runs: found in the store, or pulled first as
//! docker does (`--pull missing|always|never`).

use crate::config::Config;
use crate::image::{self, Image, ImageError};

pub(crate) fn ensure(config: &Config, name: &str, pull: &str) -> anyhow::Result<Image> {
    if !matches!(pull, "missing" | "always" | "never") {
        anyhow::bail!("invalid pull option: '{pull}': must be one of \"always\", \"missing\" or \"never\"");
    }
    let store = image::Store::open(&config.data_root)?;
    if pull == "always" {
        crate::cli::pull_image(config, name)?;
        return Ok(image::resolve(&store, name)?);
    }
    match image::resolve(&store, name) {
        Ok(img) => Ok(img),
        Err(ImageError::NotFound(_)) if pull == "missing" => {
            eprintln!("Unable to find image '{name}' locally");
            crate::cli::pull_image(config, name)?;
            Ok(image::resolve(&store, name)?)
        }
        Err(ImageError::NotFound(_)) => anyhow::bail!("No such image: {name}"),
        Err(e) => Err(e.into()),
    }
}
