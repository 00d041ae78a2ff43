//! See sys/mod.rs. seccomp(2) with filter flags (SECCOMP_FILTER_FLAG_*).
