//! The container lifecycle.
