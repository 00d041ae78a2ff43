//! `berthctl tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]` / `image tag`.

use crate::config::Config;
use crate::image::{self, Store};
use crate::reference::Reference;

#[derive(Debug, clap::Args)]
pub(crate) struct TagArgs {
    pub source: String,
    pub target: String,
}

pub(crate) fn run(config: &Config, args: &TagArgs) -> anyhow::Result<i32> {
    let target = Reference::parse(&args.target)?;
    if target.digest.is_some() {
        anyhow::bail!("refusing to create a tag with a digest reference");
    }
    let mut store = Store::open(&config.data_root)?;
    let id = match image::find_id(&store.db, &args.source) {
        Ok(id) => id,
        Err(e) => {
            eprintln!("Error: {e}");
            return Ok(1);
        }
    };
    image::tag(&mut store, &id, &target)?;
    let tagged = crate::reference::familiar(&target.to_string());
    crate::events::image(&config.data_root, "tag", id.as_str(), &tagged);
    Ok(0)
}
