//! Reading a secret from the terminal without echo (`login`'s password
//! prompt), as docker's `term.DisableEcho`. Echo is restored however the read
//! ends.

use std::io::{self, BufRead, Write};

use nix::sys::termios::{self, LocalFlags, SetArg};

/// Print `prompt` on stderr and read one line from the terminal on stdin
/// with echo off.
pub(crate) fn read_hidden(prompt: &str) -> io::Result<String> {
    let stdin = io::stdin();
    let saved = termios::tcgetattr(&stdin)?;
    let mut quiet = saved.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    quiet.local_flags.insert(LocalFlags::ECHONL);
    eprint!("{prompt}");
    io::stderr().flush()?;
    termios::tcsetattr(&stdin, SetArg::TCSANOW, &quiet)?;
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    termios::tcsetattr(&stdin, SetArg::TCSANOW, &saved)?;
    read?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}
