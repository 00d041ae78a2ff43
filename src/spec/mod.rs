//! config.json: load, validate, generate.
