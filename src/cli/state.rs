//! `berth state`: runc's state JSON, indented as runc prints it.
use super::Global;
use super::args::Matches;

#[derive(Debug)]
pub struct Args {
    pub id: String,
}

impl Args {
    pub(crate) fn parse(m: &Matches) -> Result<Args, String> {
        Ok(Args { id: m.arg(0)?.unwrap_or_default() })
    }
}

pub fn run(g: &Global, args: Args) -> anyhow::Result<i32> {
    let st = crate::container::oci_state(&g.root, &args.id)?;
    println!("{}", serde_json::to_string_pretty(&st)?);
    Ok(0)
}
