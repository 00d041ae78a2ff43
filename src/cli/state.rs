//! `berth state`: runc's state JSON, indented as runc prints it.
use super::Global;

#[derive(clap::Args, Debug)]
pub struct Args {
    pub id: String,
}

pub fn run(g: &Global, args: Args) -> anyhow::Result<i32> {
    let st = crate::container::oci_state(&g.root, &args.id)?;
    println!("{}", serde_json::to_string_pretty(&st)?);
    Ok(0)
}
