//! `berthctl import [OPTIONS] FILE|- [REPOSITORY[:TAG]]`: a root file-system
//! tarball becomes a one-layer image, as `docker import`; prints its id.

use std::fs::File;
use std::io::Read;

use anyhow::Context;

use crate::config::Config;
use crate::image::{self, ImportOptions, Store};
use crate::reference::Reference;

#[derive(Debug, clap::Args)]
pub(crate) struct ImportArgs {
    /// Apply Dockerfile instruction to the created image
    #[arg(short = 'c', long = "change")]
    pub change: Vec<String>,
    /// Set commit message for imported image
    #[arg(short = 'm', long)]
    pub message: Option<String>,
    /// Set platform if server is multi-platform capable
    #[arg(long)]
    pub platform: Option<String>,
    /// A tar file, or - for standard input
    pub file: String,
    /// Repository and optional tag for the new image
    pub reference: Option<String>,
}

pub(crate) fn run(config: &Config, args: &ImportArgs) -> anyhow::Result<i32> {
    let tag = args.reference.as_deref().map(Reference::parse).transpose()?;
    if args.file.contains("://") {
        anyhow::bail!("import {}: importing from a URL is not supported; download it and import the file", args.file);
    }
    let src: Box<dyn Read + Send> = if args.file == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(File::open(&args.file).with_context(|| format!("open {}", args.file))?)
    };
    let mut store = Store::open(&config.data_root)?;
    let _writer = store.gc_lock(image::GcLock::Writer)?;
    let opts = ImportOptions {
        message: args.message.clone(),
        changes: args.change.clone(),
        platform: args.platform.clone(),
        tag,
    };
    let id = image::import(&mut store, src, &opts).with_context(|| format!("import {}", args.file))?;
    println!("{id}");
    crate::events::image(&config.data_root, "import", &id.to_string(), &id.to_string());
    Ok(0)
}
