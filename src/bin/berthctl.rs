//! `berthctl`: the docker-style front end. Only its help exists so far.
fn main() {
    println!("berthctl: a daemonless docker-style front end for berth (not built yet)");
    println!("usage: berthctl <command> (pull, run, ps, logs, exec, rm — coming)");
}
