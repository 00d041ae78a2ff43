//! `berthctl rmi [-f] IMAGE...` / `image rm`: untag and delete images as
//! docker does (see image::remove), printing `Untagged:`/`Deleted:` lines.
//! An image that fails is reported and the others still go; the status is 1
//! if any failed.

use crate::config::Config;
use crate::image::{self, Removal, Store};

#[derive(Debug, clap::Args)]
pub(crate) struct RmiArgs {
    /// Force removal of the image
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Do not delete untagged parents
    #[arg(long = "no-prune")]
    pub no_prune: bool,
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
}

pub(crate) fn run(config: &Config, args: &RmiArgs) -> anyhow::Result<i32> {
    let mut store = Store::open(&config.data_root)?;
    let mut status = 0;
    for name in &args.images {
        let id = image::find_id(&store.db, name).map(|id| id.to_string()).unwrap_or_default();
        match image::remove(&mut store, name, args.force) {
            Ok(lines) => {
                for l in lines {
                    match l {
                        Removal::Untagged(n) => {
                            println!("Untagged: {n}");
                            crate::events::image(&config.data_root, "untag", &id, &n);
                        }
                        Removal::Deleted(d) => {
                            println!("Deleted: {d}");
                            crate::events::image(&config.data_root, "delete", &d.to_string(), &d.to_string());
                        }
                    }
                }
            }
            Err(e) => {
                eprintln!("Error: {}", super::error_chain(&e.into()));
                status = 1;
            }
        }
    }
    Ok(status)
}
