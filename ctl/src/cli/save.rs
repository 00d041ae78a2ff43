//! `berthctl save [-o FILE] [--format docker-archive|oci-archive] IMAGE...`
//! and `berthctl load [-i FILE] [-q]`, with docker's messages. `save -o`
//! writes a temp file beside FILE and renames it, so a failed save leaves
//! nothing; to stdout it refuses a terminal, as docker does.

use std::fs::File;
use std::io::{self, IsTerminal, Read};
use std::path::Path;

use anyhow::Context;

use crate::archive::{self, Format};
use crate::config::Config;
use crate::image::{self, Store};

#[derive(Debug, clap::Args)]
pub(crate) struct SaveArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short = 'o', long)]
    output: Option<String>,
    /// Archive format
    #[arg(long, value_enum, default_value = "docker-archive")]
    format: Format,
    /// Images (references or ids)
    #[arg(required = true)]
    images: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct LoadArgs {
    /// Read from tar archive file, instead of STDIN
    #[arg(short = 'i', long)]
    input: Option<String>,
    /// Suppress the load output
    #[arg(short = 'q', long)]
    quiet: bool,
}

pub(crate) fn save(config: &Config, args: &SaveArgs) -> anyhow::Result<i32> {
    let store = Store::open(&config.data_root)?;
    // Shared with pulls and loads: a sweep cannot delete a blob mid-save.
    let _lock = store.gc_lock(image::GcLock::Writer)?;
    let what = args.images.join(" ");
    match args.output.as_deref() {
        None | Some("-") => {
            let out = io::stdout();
            if out.is_terminal() {
                anyhow::bail!("Cowardly refusing to save to a terminal. Use the -o flag or redirect");
            }
            archive::save(&store, &args.images, args.format, io::BufWriter::new(out.lock()))
                .with_context(|| format!("save {what}"))?;
        }
        Some(path) => save_to_file(&store, args, Path::new(path)).with_context(|| format!("save {what} to {path}"))?,
    }
    for name in &args.images {
        if let Ok(id) = image::find_id(&store.db, name) {
            crate::events::image(&config.data_root, "save", id.as_str(), id.as_str());
        }
    }
    Ok(0)
}

fn save_to_file(store: &Store, args: &SaveArgs, path: &Path) -> anyhow::Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| -> anyhow::Result<()> {
        let f = File::create(&tmp).with_context(|| format!("create {}", tmp.display()))?;
        let mut w = io::BufWriter::new(f);
        archive::save(store, &args.images, args.format, &mut w)?;
        let f = w.into_inner().map_err(|e| e.into_error()).with_context(|| format!("write {}", tmp.display()))?;
        f.sync_all().with_context(|| format!("fsync {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("rename {} to {}", tmp.display(), path.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

pub(crate) fn load(config: &Config, args: &LoadArgs) -> anyhow::Result<i32> {
    let input: Box<dyn Read> = match args.input.as_deref() {
        None | Some("-") => {
            if io::stdin().is_terminal() {
                anyhow::bail!("requested load from stdin, but stdin is empty");
            }
            Box::new(io::stdin().lock())
        }
        Some(p) => Box::new(File::open(p).with_context(|| format!("open {p}"))?),
    };
    let mut store = Store::open(&config.data_root)?;
    let _lock = store.gc_lock(image::GcLock::Writer)?;
    let source = args.input.as_deref().unwrap_or("stdin");
    let loaded = archive::load(&mut store, input).with_context(|| format!("load {source}"))?;
    for l in &loaded {
        crate::events::image(&config.data_root, "load", &l.id.to_string(), &l.id.to_string());
    }
    if !args.quiet {
        for l in loaded {
            if l.tags.is_empty() {
                println!("Loaded image ID: {}", l.id);
            }
            for t in l.tags {
                println!("Loaded image: {t}");
            }
        }
    }
    Ok(0)
}
