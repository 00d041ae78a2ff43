//! `berthctl history [-q] [--no-trunc] [-H] IMAGE` / `image history`:
//! the config's history, newest first, with each entry's layer size; the
//! image's own id on the top row and `<missing>` below, as docker shows a
//! pulled image.

use oci_spec::image::History;
use serde_json::{Value, json};

use crate::config::Config;
use crate::format::{self, rows::ellipsis, time, units};
use crate::image::{self, Image, Store};

#[derive(Debug, clap::Args)]
pub(crate) struct HistoryArgs {
    /// Print sizes and dates in human readable format
    #[arg(short = 'H', long, default_value_t = true, action = clap::ArgAction::Set)]
    pub human: bool,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Only show image IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Format output using a custom template
    #[arg(long)]
    pub format: Option<String>,
    pub image: String,
}

/// How wide CREATED BY is before docker cuts it.
const CREATED_BY_WIDTH: usize = 45;
const DEFAULT_TABLE: &str = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
const HEADERS: &[(&str, &str)] = &[
    ("ID", "IMAGE"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("CreatedBy", "CREATED BY"),
    ("Size", "SIZE"),
    ("Comment", "COMMENT"),
];

pub(crate) fn run(config: &Config, args: &HistoryArgs) -> anyhow::Result<i32> {
    let store = Store::open(&config.data_root)?;
    let img = match image::resolve(&store, &args.image) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("Error: {}", super::error_chain(&e.into()));
            return Ok(1);
        }
    };
    let now = chrono::Utc::now();
    let id = if args.no_trunc { img.id.to_string() } else { img.id.short().to_string() };
    let rows: Vec<Value> = rows(&img)
        .into_iter()
        .enumerate()
        .map(|(i, (h, size))| {
            let created =
                h.created().as_deref().and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok()).map(|t| t.to_utc());
            let by = h.created_by().clone().unwrap_or_default();
            json!({
                "ID": if i == 0 { id.clone() } else { "<missing>".to_string() },
                "CreatedSince": match created {
                    Some(t) if args.human => time::since(t, now),
                    Some(t) => time::rfc3339_nano(t),
                    None => "N/A".into(),
                },
                "CreatedAt": created.map(time::rfc3339_nano).unwrap_or_default(),
                "CreatedBy": if args.no_trunc { by } else { ellipsis(&by, CREATED_BY_WIDTH) },
                "Size": if args.human { units::human_size(size) } else { size.to_string() },
                "Comment": h.comment().clone().unwrap_or_default(),
            })
        })
        .collect();
    let fmt = if args.quiet { Some("{{.ID}}") } else { args.format.as_deref() };
    format::print_list(&mut std::io::stdout().lock(), fmt, DEFAULT_TABLE, HEADERS, &rows)?;
    Ok(0)
}

/// History entries newest first, each with the size of the layer it made
/// (0 for `empty_layer` ones). Without history, one row per layer.
fn rows(img: &Image) -> Vec<(History, u64)> {
    let history = img.config.history().clone().unwrap_or_default();
    let mut layers = img.layers.iter();
    let mut out: Vec<(History, u64)> = if history.is_empty() {
        img.layers.iter().map(|l| (History::default(), l.size)).collect()
    } else {
        history
            .into_iter()
            .map(|h| {
                let size = if h.empty_layer().unwrap_or(false) { 0 } else { layers.next().map_or(0, |l| l.size) };
                (h, size)
            })
            .collect()
    };
    out.reverse();
    out
}
