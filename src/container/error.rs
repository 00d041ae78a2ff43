//! `ContainerError`: every lifecycle failure names the container once and the
//! operation, with the cause below it.

use std::path::PathBuf;

/// A failed lifecycle operation on one container.
#[derive(Debug, thiserror::Error)]
#[error("container {id}: {op}")]
pub struct ContainerError {
    pub id: String,
    pub op: &'static str,
    #[source]
    pub source: Cause,
}

/// Why an operation failed. The wording of the first variants matches runc's,
/// because containerd and podman match on it.
#[derive(Debug, thiserror::Error)]
pub enum Cause {
    #[error("container with id already exists")]
    AlreadyExists,
    #[error("container does not exist")]
    NotExist,
    #[error("container not running")]
    NotRunning,
    #[error("cannot {action} a container that is {status}")]
    BadStatus { action: &'static str, status: super::Status },
    #[error("invalid container id {0:?}: must match [A-Za-z0-9_+.-]+")]
    InvalidId(String),
    #[error("{0}")]
    Usage(String),
    #[error("{what} {path:?}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("state json")]
    Json(#[source] serde_json::Error),
    #[error(transparent)]
    Sys(#[from] crate::sys::Error),
    #[error(transparent)]
    Spec(#[from] crate::spec::SpecError),
    #[error(transparent)]
    Cgroup(#[from] crate::cgroups::CgroupError),
    #[error(transparent)]
    Security(#[from] crate::security::SecurityError),
    #[error(transparent)]
    Hook(#[from] crate::hooks::HookError),
    #[error(transparent)]
    Console(#[from] crate::console::ConsoleError),
    #[error(transparent)]
    Process(#[from] crate::process::ProcessError),
    #[error(transparent)]
    Rootfs(#[from] crate::rootfs::RootfsError),
    /// A failure inside the container's init, carried back over the socketpair.
    #[error("init: {0}")]
    Init(String),
    #[error("cannot exec in a paused container (use --ignore-paused to override)")]
    ExecPaused,
    #[error("cannot exec in a stopped container")]
    ExecStopped,
    #[error("cannot start a container that has stopped")]
    StartStopped,
    #[error("cannot start an already running container")]
    AlreadyStarted,
    #[error("container's cgroup unexpectedly frozen")]
    UnexpectedlyFrozen,
    /// A failure the test-hooks build injects (BERTH_TEST_FAIL_AT).
    #[cfg(feature = "test-hooks")]
    #[error("fault injected at {0} (BERTH_TEST_FAIL_AT)")]
    FaultInjected(String),
    /// CRIU is missing, too old, or failed (its log named).
    #[error("{0}")]
    Criu(String),
    #[error("container not paused")]
    NotPaused,
    #[error("cannot delete container {id} that is not stopped: {status}")]
    NotStopped { id: String, status: super::Status },
    /// A message out of order on the channel to init or the exec setup process.
    #[error("unexpected message from {from}: {message}")]
    UnexpectedMessage { from: &'static str, message: String },
    #[error("parse {path:?}: {field}")]
    ProcessFile {
        path: PathBuf,
        field: String,
        #[source]
        source: serde_json::Error,
    },
    /// The resources `update` merged do not parse: the field (`memory.limit`)
    /// and serde's message.
    #[error("linux.resources{}{field}: {message}", if field.is_empty() { "" } else { "." })]
    Resources { field: String, message: String },
    /// newuidmap/newgidmap refused the mapping; their stderr.
    #[error("{program}: {stderr}")]
    IdMapTool { program: String, stderr: String },
    #[error("mounts[{index}].uidMappings: {reason}")]
    IdmappedMount { index: usize, reason: String },
    /// The user namespace whose maps an idmapped mount borrows could not be made.
    #[error("mounts[{index}].uidMappings")]
    IdmappedUserns {
        index: usize,
        #[source]
        source: Box<Cause>,
    },
}

impl Cause {
    pub fn into_error(self, id: &str, op: &'static str) -> ContainerError {
        ContainerError { id: id.to_string(), op, source: self }
    }
}

/// "a: b: c" from an error and its sources.
/// Empty messages (markers such as an exit code) and a cause whose text the
/// message already ends with are skipped.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = String::new();
    let mut cur = Some(e);
    while let Some(c) = cur {
        let text = c.to_string();
        if !text.is_empty() && !s.ends_with(&text) {
            if !s.is_empty() {
                s.push_str(": ");
            }
            s.push_str(&text);
        }
        cur = c.source();
    }
    s
}
