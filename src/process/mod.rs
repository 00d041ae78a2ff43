//! The container process's own settings applied in init: user, rlimits, env, cwd.
