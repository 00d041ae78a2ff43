//! The only place in berthctl with `unsafe`: thin safe wrappers over calls that
//! nix does not cover. Each block says why it is sound (`// SAFETY:`).

// Used by volume copy-up, reached from the run path once it lands.
#[cfg_attr(not(test), allow(dead_code))]
mod root;
mod time;

#[cfg_attr(not(test), allow(unused_imports))]
pub(crate) use root::open_in_root;
pub(crate) use time::zone_abbreviation;
