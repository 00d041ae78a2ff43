//! See sys/mod.rs.
