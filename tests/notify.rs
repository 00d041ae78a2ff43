//! Seccomp notify: SCMP_ACT_NOTIFY with `linux.seccomp.listenerPath`. The notify
//! fd goes to the listener over its unix socket with runc's state message, for
//! init and for exec; a small agent here answers the notifications, and the
//! same agent serves runc 1.1.5 to check that the messages have the same shape.

use std::os::fd::AsFd;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use berth::{NotifResp, notif_recv, notif_send};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use serde_json::{Value, json};

use crate::common::{Bundle, LOOP, ok, runc_run, text};

const SYS_MKDIR: i32 = 83;
const SYS_MKDIRAT: i32 = 258;
/// SECCOMP_USER_NOTIF_FLAG_CONTINUE: let the call run as if not notified.
const CONTINUE: u32 = 1;

/// What the agent does with each connection.
#[derive(Clone, Copy, PartialEq)]
enum Agent {
    /// mkdir succeeds without making anything; other calls run.
    Fake,
    /// Takes the fd and goes away at once.
    Dies,
}

/// A listener on `<dir>/agent.sock` serving `conns` connections; the messages
/// it received come back from the handle.
fn agent(dir: &Path, conns: usize, mode: Agent) -> (PathBuf, JoinHandle<Vec<Value>>) {
    let path = dir.join("agent.sock");
    let listener = UnixListener::bind(&path).unwrap();
    listener.set_nonblocking(true).unwrap();
    let handle = std::thread::spawn(move || {
        let end = Instant::now() + Duration::from_secs(60);
        let mut got = Vec::new();
        let (tx, rx) = mpsc::channel();
        while got.len() < conns && Instant::now() < end {
            let stream = match listener.accept() {
                Ok((s, _)) => s,
                Err(_) => {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            };
            stream.set_nonblocking(false).unwrap();
            let (fd, payload) = berth::recv_fd(stream.as_fd()).expect("notify fd with the state");
            got.push(serde_json::from_slice(&payload).expect("state message is JSON"));
            if mode == Agent::Dies {
                continue;
            }
            let tx = tx.clone();
            // Each fd served until every process behind it is gone.
            std::thread::spawn(move || {
                while Instant::now() < end {
                    let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
                    match poll(&mut fds, PollTimeout::from(100u16)) {
                        Ok(0) => continue,
                        Ok(_) => {}
                        Err(_) => break,
                    }
                    let ev = fds[0].revents().unwrap_or(PollFlags::empty());
                    if ev.contains(PollFlags::POLLHUP) && !ev.contains(PollFlags::POLLIN) {
                        break;
                    }
                    let Ok(n) = notif_recv(fd.as_fd()) else { continue };
                    let fake = n.nr == SYS_MKDIR || n.nr == SYS_MKDIRAT;
                    let resp = NotifResp { id: n.id, val: 0, error: 0, flags: if fake { 0 } else { CONTINUE } };
                    let _ = notif_send(fd.as_fd(), &resp);
                }
                let _ = tx.send(());
            });
        }
        drop(tx);
        // Wait for the fd servers (they end when their processes do).
        while rx.recv_timeout(Duration::from_secs(30)).is_ok() {}
        got
    });
    (path, handle)
}

fn notify_profile(listener: &Path) -> Value {
    json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": listener,
        "listenerMetadata": "meta-1",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]
    })
}

const MKDIR: &[&str] = &["sh", "-c", "mkdir /tmp/agent && echo made; [ -d /tmp/agent ] && echo exists || echo absent"];

/// Init's notify fd reaches the agent with runc's message (same keys as
/// runc 1.1.5 sends), and the agent's answers are what the container sees.
#[test]
#[ignore = "needs root"]
fn notify_fd_reaches_the_listener_with_runcs_message_for_init() {
    let dir = tempfile::tempdir().unwrap();
    let (sock, handle) = agent(dir.path(), 2, Agent::Fake);
    let b = Bundle::with("nt-init", MKDIR, |c| c["linux"]["seccomp"] = notify_profile(&sock));
    assert_eq!(b.run_ok(), "made\nabsent\n");
    let (rc, rout, rerr) = runc_run(&b);
    assert_eq!((rc, rout.as_str()), (0, "made\nabsent\n"), "runc: {rerr}");
    let got = handle.join().unwrap();
    assert_eq!(got.len(), 2, "{got:?}");
    let (berth, runc) = (&got[0], &got[1]);
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(berth), keys(runc), "berth {berth} runc {runc}");
    assert_eq!(keys(&berth["state"]), keys(&runc["state"]), "berth {berth} runc {runc}");
    assert_eq!(berth["fds"], json!(["seccompFd"]));
    assert_eq!(berth["metadata"], "meta-1");
    assert_eq!(berth["state"]["id"], b.id);
    assert_eq!(berth["state"]["pid"], berth["pid"], "init's message names init");
    assert!(berth["pid"].as_i64().unwrap() > 1, "{berth}");
}

/// An exec'd process's filter notifies too: its own fd and message, naming it.
#[test]
#[ignore = "needs root"]
fn notify_fd_reaches_the_listener_for_exec() {
    let dir = tempfile::tempdir().unwrap();
    let (sock, handle) = agent(dir.path(), 2, Agent::Fake);
    let b = Bundle::with("nt-exec", LOOP, |c| c["linux"]["seccomp"] = notify_profile(&sock));
    b.create_and_start();
    let init = b.state()["pid"].as_i64().unwrap();
    let mut args = vec!["exec", b.id.as_str()];
    args.extend_from_slice(MKDIR);
    assert_eq!(b.ok(&args), "made\nabsent\n");
    ok(&b.berth(&["kill", &b.id, "TERM"]), "kill");
    assert!(crate::common::wait_until(|| b.state()["status"] == "stopped"));
    let got = handle.join().unwrap();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0]["pid"], init);
    let exec = &got[1];
    assert_eq!(exec["state"]["status"], "running");
    assert_eq!(exec["state"]["pid"], init);
    assert!(exec["pid"].as_i64().unwrap() != init && exec["pid"].as_i64().unwrap() > 1, "{exec}");
}

/// A listener that takes the fd and dies: the notified calls fail with ENOSYS
/// (the kernel's answer once no agent holds the fd), and the container runs on.
/// No listener at all: `create` fails naming the field, and leaves nothing.
#[test]
#[ignore = "needs root"]
fn a_dead_or_missing_listener() {
    let dir = tempfile::tempdir().unwrap();
    let (sock, handle) = agent(dir.path(), 1, Agent::Dies);
    let b = Bundle::with("nt-dies", MKDIR, |c| c["linux"]["seccomp"] = notify_profile(&sock));
    let (code, out, err) = b.run();
    assert_eq!((code, out.as_str()), (0, "absent\n"), "stderr: {err}");
    assert!(err.contains("Function not implemented"), "{err}");
    assert_eq!(handle.join().unwrap().len(), 1);

    let gone = dir.path().join("nobody.sock");
    let b = Bundle::with("nt-missing", MKDIR, |c| c["linux"]["seccomp"] = notify_profile(&gone));
    let out = b.create(&[]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("linux.seccomp.listenerPath"), "{}", text(&out.stderr));
    b.assert_clean();
}
