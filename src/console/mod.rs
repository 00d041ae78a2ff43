//! The container's terminal: a pty whose master goes to `--console-socket`.
