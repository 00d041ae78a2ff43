//! The only place in berthctl with `unsafe`: thin safe wrappers over calls that
//! nix does not cover. Each block says why it is sound (`// SAFETY:`).

mod time;

pub(crate) use time::zone_abbreviation;

pub(crate) mod netif;
