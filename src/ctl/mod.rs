//! berthctl's front end: images, registry, snapshots, networks, volumes, the
//! metadata db and the per-container supervisor. Drives the runtime only through
//! its command line.
