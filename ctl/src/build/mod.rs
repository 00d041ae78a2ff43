//! `berthctl build`: Dockerfiles into images, as docker's classic builder.
//!
//! - `parser.rs` — the file's lines into instruction nodes (directives,
//!   continuations, comments, heredocs, each instruction's argument rule).
//! - `instruction.rs` — nodes into typed instructions and stages, with
//!   docker's argument checks.
//! - `lex.rs` — `${VAR}` substitution and word splitting (docker's shell lexer).
//! - `ignore.rs` — `.dockerignore` patterns (and COPY's `filepath.Match`).
//! - `context.rs` — the context (directory, archive, stdin) and the Dockerfile.
//! - `exec.rs` — stages, steps, output, the cache lookups; `step.rs` each
//!   instruction; `copystep.rs` + `copy.rs` COPY/ADD; `mount.rs` a step's
//!   overlay rootfs and its layer; `run.rs` a RUN step's container.
//! - `cache.rs` — the `build_cache` table and `builder prune`.
//! - `output.rs` — the progress output: BuildKit's plain vertices (the
//!   default) or the classic builder's `Step N/M` lines (`DOCKER_BUILDKIT=0`).
//!
//! Layers and images are made by `image::layer_from_dir` and
//! `image::record_image`, the same calls `commit` uses.

pub(crate) mod cache;
pub(crate) mod context;
mod copy;
mod copystep;
pub(crate) mod exec;
pub(crate) mod ignore;
pub(crate) mod instruction;
pub(crate) mod lex;
mod mount;
pub(crate) mod output;
pub(crate) mod parser;
mod run;
pub(crate) mod step;

use std::path::PathBuf;

pub(crate) use exec::{BuildOptions, build};
pub(crate) use instruction::Dockerfile;
pub(crate) use step::check_platform;

use crate::db::DbError;
use crate::image::ImageError;

#[derive(Debug, thiserror::Error)]
pub(crate) enum BuildError {
    /// docker's wording: `Dockerfile parse error line 3: unknown instruction: FOO`,
    /// with the file's name as given.
    #[error("{file} parse error line {line}: {message}")]
    Syntax { file: String, line: usize, message: String },
    /// The context or the Dockerfile could not be read (docker's CLI words).
    #[error("{0}")]
    Context(String),
    /// A step that cannot be carried out, in docker's words.
    #[error("{0}")]
    Step(String),
    /// docker's classic builder: `The command '/bin/sh -c false' returned a non-zero code: 1`.
    #[error("The command '{command}' returned a non-zero code: {code}")]
    RunFailed { command: String, code: i32 },
    #[error("{op} {path:?}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Parse a Dockerfile's text; `file` names it in errors.
pub(crate) fn parse_dockerfile(file: &str, text: &str) -> Result<Dockerfile, BuildError> {
    let syntax = |line, message| BuildError::Syntax { file: file.to_string(), line, message };
    let parsed = parser::parse(text).map_err(|e| syntax(e.line, e.message))?;
    let mut df = instruction::build(&parsed.nodes, parsed.escape).map_err(|e| syntax(e.line, e.message))?;
    df.warnings = parsed.warnings;
    Ok(df)
}

/// An OS error as Go prints it (`no such file or directory`).
pub(crate) fn go_error_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_name_file_line_and_instruction() {
        let e = parse_dockerfile("Dockerfile", "FROM busybox\nRUN true\nFOO bar\n").unwrap_err();
        assert_eq!(e.to_string(), "Dockerfile parse error line 3: unknown instruction: FOO");
        let e = parse_dockerfile("dev/Dockerfile.dev", "FROM x\nCOPY --chown a b\n").unwrap_err();
        assert_eq!(e.to_string(), "dev/Dockerfile.dev parse error line 2: missing a value on flag: chown");
    }
}
