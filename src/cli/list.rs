//! `berth list`: runc's table (tabwriter: min width 12, padding 3) or JSON.
use super::Global;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Print only the container ids
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn run(g: &Global, args: Args) -> anyhow::Result<i32> {
    let all = crate::container::list(&g.root)?;
    if args.quiet {
        for s in &all {
            println!("{}", s.id);
        }
        return Ok(0);
    }
    match args.format {
        // runc encodes a nil slice when there are no containers: `null`.
        Format::Json if all.is_empty() => println!("null"),
        Format::Json => println!("{}", serde_json::to_string(&all)?),
        Format::Table => {
            let mut rows = vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from).to_vec()];
            for s in &all {
                rows.push(vec![
                    s.id.clone(),
                    s.pid.to_string(),
                    s.status.to_string(),
                    s.bundle.display().to_string(),
                    s.created.clone(),
                    s.owner.clone(),
                ]);
            }
            print!("{}", table(&rows));
        }
    }
    Ok(0)
}

/// Go's tabwriter with minwidth 12, padding 3: each column as wide as its widest
/// cell plus 3, at least 12; the last column unpadded.
fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.first().map(|r| r.len()).unwrap_or(0);
    let widths: Vec<usize> =
        (0..cols).map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0).saturating_add(3).max(12)).collect();
    let mut out = String::new();
    for r in rows {
        for (c, cell) in r.iter().enumerate() {
            if c + 1 == cols {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}", w = widths[c]));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_pads_like_tabwriter() {
        let rows = vec![vec!["ID".to_string(), "PID".into()], vec!["a-long-container-id".into(), "1".into()]];
        let t = table(&rows);
        assert_eq!(t, "ID                    PID\na-long-container-id   1\n");
    }
}
