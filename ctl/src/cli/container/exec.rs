//! `exec` (`-i -t -d -e -u -w --privileged`): a process.json from the
//! container's settings and the flags, run with `<runtime> exec`; the
//! command's exit status is ours. With `-t` the pty master comes back on a
//! console socket and we pump it, our terminal in raw mode.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixListener;
use std::process::Stdio;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::config::Config;
use crate::container::process::{self, ExecRequest, ProcessError};
use crate::container::record::Container;
use crate::container::store::Store;
use crate::container::{Layout, lifecycle, runtime};

#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true)]
pub(crate) struct ExecArgs {
    /// Detached mode: run command in the background
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Set environment variables
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file")]
    pub env_file: Vec<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long = "workdir")]
    pub workdir: Option<String>,
    /// Give extended privileges to the command
    #[arg(long)]
    pub privileged: bool,
    /// Print help
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    pub container: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    pub command: Vec<String>,
}

fn process_json(c: &Container, a: &ExecArgs, rootfs: &std::path::Path) -> anyhow::Result<serde_json::Value> {
    let mut env = Vec::new();
    for f in &a.env_file {
        env.extend(super::create::read_env_file(f)?);
    }
    env.extend(a.env.iter().filter_map(|e| super::create::expand_env(e)));
    let req = ExecRequest {
        args: &a.command,
        user: a.user.as_deref(),
        env,
        workdir: a.workdir.as_deref(),
        tty: a.tty,
        privileged: a.privileged,
    };
    Ok(process::exec_process(c, &req, rootfs)?)
}

pub(crate) fn run(config: &Config, a: &ExecArgs) -> anyhow::Result<i32> {
    // docker's client reads the env files first; a missing one is status 1.
    for f in &a.env_file {
        if let Err(e) = std::fs::read_to_string(f) {
            let why = if e.kind() == std::io::ErrorKind::NotFound {
                "no such file or directory".into()
            } else {
                e.to_string()
            };
            eprintln!("open {f}: {why}");
            return Ok(1);
        }
    }
    let mut store = Store::open(&config.data_root)?;
    let c = lifecycle::lookup(config, &mut store, &a.container)?;
    // docker's daemon refusals: status 1, the paused one naming the
    // container as given.
    if c.state.paused {
        eprintln!("Error response from daemon: Container {} is paused, unpause the container before exec", a.container);
        return Ok(1);
    }
    if !c.state.running {
        eprintln!("Error response from daemon: Container {} is not running", c.id);
        return Ok(1);
    }
    let layout = Layout::new(config, &c.id);
    let rt = lifecycle::runtime_for(config, &c)?;
    let tag = format!("{}-{}", std::process::id(), c.state.pid);
    let process_file = layout.run.join(format!("exec-{tag}.json"));
    let log = layout.run.join(format!("exec-{tag}.log"));
    let process = match process_json(&c, a, &layout.rootfs()) {
        Ok(p) => p,
        // docker: an exec whose user cannot be resolved fails to start (126).
        // docker's exec stream carries the daemon's text, as a terminal line.
        Err(e) if matches!(e.downcast_ref::<ProcessError>(), Some(ProcessError::User(_))) => {
            print!("{e}\r\n");
            return Ok(126);
        }
        Err(e) => return Err(e),
    };
    std::fs::write(&process_file, serde_json::to_vec(&process)?)?;
    // docker's exec events: the action names the command, the exec's id is an attribute.
    let exec_id = crate::network::random_id();
    let command = a.command.join(" ");
    store.log(&c.event(&format!("exec_create: {command}")).attr("execID", &exec_id));
    store.log(&c.event(&format!("exec_start: {command}")).attr("execID", &exec_id));
    let result = exec(&rt, &c, a, &layout, &process_file, &log, &tag);
    if !a.detach {
        let code = result.as_ref().map_or(126, |c| *c);
        store.log(&c.event("exec_die").attr("execID", &exec_id).attr("exitCode", code.to_string()));
    }
    drop(store);
    let _ = std::fs::remove_file(&process_file);
    let _ = std::fs::remove_file(&log);
    result
}

fn exec(
    rt: &runtime::Runtime,
    c: &Container,
    a: &ExecArgs,
    layout: &Layout,
    process_file: &std::path::Path,
    log: &std::path::Path,
    tag: &str,
) -> anyhow::Result<i32> {
    let mut cmd = rt.command(Some(log));
    cmd.arg("exec").arg("--process").arg(process_file);
    if a.detach {
        cmd.arg("--detach");
    }
    let console = if a.tty {
        let sock = layout.run.join(format!("exec-{tag}.sock"));
        let listener = UnixListener::bind(&sock).map_err(|e| anyhow::anyhow!("bind {sock:?}: {e}"))?;
        cmd.arg("--tty").arg("--console-socket").arg(&sock);
        Some((listener, sock))
    } else {
        None
    };
    cmd.arg(&c.id);
    if !a.interactive {
        cmd.stdin(Stdio::null());
    }
    let mut child = cmd.spawn().map_err(|e| anyhow::anyhow!("run {:?} exec: {e}", rt.path))?;
    let status = match console {
        Some((listener, sock)) => {
            let r = pump_tty(&listener, &mut child, a.interactive);
            let _ = std::fs::remove_file(sock);
            r?
        }
        None => child.wait()?,
    };
    let code = status.code().unwrap_or(128 + std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0));
    if code == 255
        && let Some(message) = std::fs::read(log).ok().and_then(|l| runtime::log_message(&l))
    {
        // docker: the exec's own output stream carries the runtime's error,
        // and an exec that could not start is 126, whatever the cause.
        println!("OCI runtime exec failed: exec failed: {message}: unknown");
        return Ok(126);
    }
    Ok(code)
}

/// Take the pty master from the runtime and copy between it and our
/// terminal until the runtime (and so the process) exits.
fn pump_tty(
    listener: &UnixListener,
    child: &mut std::process::Child,
    stdin_on: bool,
) -> anyhow::Result<std::process::ExitStatus> {
    listener.set_nonblocking(true)?;
    let conn = loop {
        match listener.accept() {
            Ok((conn, _)) => break conn,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if let Some(status) = child.try_wait()? {
                    return Ok(status);
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            Err(e) => return Err(e.into()),
        }
    };
    conn.set_nonblocking(false)?;
    let mut master = File::from(crate::sys::recv_fd(&conn)?);
    if let Ok(ws) = crate::sys::window_size(std::io::stdout().as_fd()) {
        let _ = crate::sys::set_window_size(master.as_fd(), ws);
    }
    let _raw = crate::supervisor::client::RawMode::enter_if(stdin_on && nix::unistd::isatty(0).unwrap_or(false));
    let stdin = std::io::stdin();
    let mut stdin_open = stdin_on;
    let mut buf = [0u8; 16 * 1024];
    loop {
        let (m_ready, in_ready) = {
            let mut fds = vec![PollFd::new(master.as_fd(), PollFlags::POLLIN)];
            if stdin_open {
                fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
            }
            if poll(&mut fds, PollTimeout::from(200u16)).is_err() {
                continue;
            }
            let r = |f: &PollFd<'_>| f.revents().is_some_and(|r| !r.is_empty());
            (r(&fds[0]), fds.get(1).is_some_and(r))
        };
        if m_ready {
            match master.read(&mut buf) {
                Ok(n) if n > 0 => {
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(&buf[..n]).and_then(|()| out.flush());
                }
                _ => return Ok(child.wait()?),
            }
        }
        if in_ready {
            match stdin.lock().read(&mut buf) {
                Ok(n) if n > 0 => master.write_all(&buf[..n])?,
                _ => stdin_open = false,
            }
        }
        if !m_ready && let Some(status) = child.try_wait()? {
            return Ok(status);
        }
    }
}
