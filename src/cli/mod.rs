//! Command line of `berth`.
