//! Root integration tests. Run with `make test` (as root, `--include-ignored`).
