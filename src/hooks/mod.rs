//! OCI hooks: run a hook program with the container state on stdin.
