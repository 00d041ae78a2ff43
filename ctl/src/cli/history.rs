//! `berthctl history [-q] [--no-trunc] [-H] IMAGE` / `image history`:
//! the config's history, newest first, with each entry's layer size; the
//! image's own id on the top row and `<missing>` below, as docker shows a
//! pulled image.

use oci_spec::image::History;

use crate::config::Config;
use crate::image::{self, Image, Store};

use super::human::{human_size, print_columns, time_ago};

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
    pub image: String,
}

/// How wide CREATED BY is before docker cuts it.
const CREATED_BY_WIDTH: usize = 45;

pub(crate) fn run(config: &Config, args: &HistoryArgs) -> anyhow::Result<i32> {
    let store = Store::open(&config.data_root)?;
    let img = match image::resolve(&store, &args.image) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("Error: {e}");
            return Ok(1);
        }
    };
    let rows = rows(&img);
    let id = if args.no_trunc { img.id.to_string() } else { img.id.short().to_string() };
    let ids: Vec<String> = (0..rows.len()).map(|i| if i == 0 { id.clone() } else { "<missing>".to_string() }).collect();
    if args.quiet {
        for i in &ids {
            println!("{i}");
        }
        return Ok(0);
    }
    let cells: Vec<[String; 4]> = rows
        .iter()
        .map(|(h, size)| {
            let created = h.created().clone().unwrap_or_default();
            let created = match chrono::DateTime::parse_from_rfc3339(&created) {
                Ok(t) if args.human => time_ago(t.timestamp()),
                Ok(t) => t.to_rfc3339(),
                Err(_) => "N/A".into(),
            };
            let by = h.created_by().clone().unwrap_or_default();
            let by = if args.no_trunc { by } else { truncate(&by, CREATED_BY_WIDTH) };
            let size = if args.human { human_size(*size) } else { size.to_string() };
            [created, by, size, h.comment().clone().unwrap_or_default()]
        })
        .collect();
    let mut table: Vec<Vec<&str>> = vec![vec!["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"]];
    for (i, c) in ids.iter().zip(&cells) {
        table.push(vec![i, &c[0], &c[1], &c[2], &c[3]]);
    }
    print_columns(&table);
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

/// docker's stringutils.Ellipsis: cut to `max` characters ending in "…".
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max - 1).collect();
    t.push('…');
    t
}
