//! `berth list`: runc's table (tabwriter: min width 12, padding 3) or JSON.
use super::Global;
use super::args::{Flag, Kind, Matches, flag};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug)]
pub struct Args {
    pub format: Format,
    /// Print only the container ids
    pub quiet: bool,
}

pub(crate) const FLAGS: &[Flag] = &[flag(&["format", "f"], Kind::Str), flag(&["quiet", "q"], Kind::Bool)];

impl Args {
    pub(crate) fn parse(m: &Matches) -> Result<Args, String> {
        let format = match m.string("format")?.as_deref() {
            None | Some("table") => Format::Table,
            Some("json") => Format::Json,
            // runc's check, made when it runs the command.
            Some(_) => return Err("invalid format option".into()),
        };
        Ok(Args { format, quiet: m.bool("quiet") })
    }
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
