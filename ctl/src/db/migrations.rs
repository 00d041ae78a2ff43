//! The schema, as an ordered list: entry N (from 0) takes the database from
//! `user_version` N to N+1. Append only: never edit a migration that has been
//! released, add a new one (containers, volumes and networks add theirs here).

pub(super) const MIGRATIONS: &[&str] = &[
    // 1: images, their layers, tags and the snapshots they stand on.
    r#"
    -- One unpacked layer chain: snapshots/<id>/fs. chain_id is NULL and
    -- complete 0 while a process (owner_pid, owner_start) unpacks it; such a
    -- row is never used and is removed once its owner is gone.
    CREATE TABLE snapshots (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        chain_id TEXT UNIQUE,
        diff_id TEXT,
        size INTEGER NOT NULL DEFAULT 0,
        complete INTEGER NOT NULL DEFAULT 0,
        owner_pid INTEGER,
        owner_start INTEGER,
        created INTEGER NOT NULL
    );
    -- An image: id is the sha256 of its config blob (docker's image id).
    CREATE TABLE images (
        id TEXT PRIMARY KEY,
        manifest_digest TEXT,
        manifest_media_type TEXT,
        created TEXT,
        size INTEGER NOT NULL,
        added INTEGER NOT NULL
    );
    -- Its layers, bottom first: the blob as stored (compressed or not), the
    -- uncompressed diff id from the config, and the snapshot of the chain.
    CREATE TABLE image_layers (
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        diff_id TEXT NOT NULL,
        blob_digest TEXT NOT NULL,
        blob_media_type TEXT NOT NULL,
        blob_size INTEGER NOT NULL,
        snapshot_id INTEGER NOT NULL REFERENCES snapshots(id),
        PRIMARY KEY (image_id, position)
    );
    CREATE INDEX image_layers_snapshot ON image_layers(snapshot_id);
    CREATE INDEX image_layers_blob ON image_layers(blob_digest);
    -- docker.io/library/busybox:latest -> image
    CREATE TABLE tags (
        name TEXT PRIMARY KEY,
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
    );
    CREATE INDEX tags_image ON tags(image_id);
    -- docker.io/library/busybox@sha256:<manifest> -> image (RepoDigests)
    CREATE TABLE repo_digests (
        name TEXT PRIMARY KEY,
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
    );
    CREATE INDEX repo_digests_image ON repo_digests(image_id);
    -- Whatever uses an image and must keep it (a container: holder is
    -- 'container:<id>'). No cascade: an image with holds cannot be deleted.
    CREATE TABLE image_holds (
        holder TEXT PRIMARY KEY,
        image_id TEXT NOT NULL REFERENCES images(id)
    );
    CREATE INDEX image_holds_image ON image_holds(image_id);
    "#,
    // 2: volumes, the containers that use them, and those running now.
    crate::volume::MIGRATION,
    // 3: networks, container endpoints (address leases), published host ports
    // and each container's network request and setup record (network/store.rs).
    r#"
    -- A network: bridge and macvlan ones have a subnet; host and none do not.
    CREATE TABLE networks (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        driver TEXT NOT NULL,
        interface TEXT,
        subnet TEXT,
        gateway TEXT,
        ip_range TEXT,
        internal INTEGER NOT NULL DEFAULT 0,
        dns INTEGER NOT NULL DEFAULT 0,
        labels TEXT NOT NULL DEFAULT '{}',
        options TEXT NOT NULL DEFAULT '{}',
        created TEXT NOT NULL
    );
    -- A container on a network: its address lease. A network with endpoints
    -- cannot be removed.
    CREATE TABLE endpoints (
        container_id TEXT NOT NULL,
        network_id TEXT NOT NULL REFERENCES networks(id),
        ip TEXT NOT NULL,
        mac TEXT NOT NULL,
        interface TEXT NOT NULL,
        aliases TEXT NOT NULL DEFAULT '[]',
        endpoint_id TEXT NOT NULL,
        PRIMARY KEY (container_id, network_id),
        UNIQUE (network_id, ip)
    );
    -- A published host port, owned by its container's row.
    CREATE TABLE host_ports (
        host_ip TEXT NOT NULL,
        host_port INTEGER NOT NULL,
        protocol TEXT NOT NULL,
        container_id TEXT NOT NULL,
        container_port INTEGER NOT NULL,
        PRIMARY KEY (host_ip, host_port, protocol)
    );
    CREATE INDEX host_ports_container ON host_ports(container_id);
    -- A container's network request (mode, dns, hosts: JSON) and, while set
    -- up, its netns file and the driver input to replay teardown with.
    CREATE TABLE container_networks (
        container_id TEXT PRIMARY KEY,
        request TEXT NOT NULL,
        netns TEXT,
        driver_input TEXT
    );
"#,
    // 4: containers: the record as JSON (docker's inspect fields) beside
    // the columns that must be unique. The image hold is taken in the same
    // transaction as the insert (image_holds, holder 'container:<id>').
    r#"
    CREATE TABLE containers (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        record TEXT NOT NULL
    );
    "#,
    // 5: dual-stack networks (`network create --ipv6`): a network's IPv6
    // subnet and gateway, an endpoint's IPv6 lease.
    r#"
    ALTER TABLE networks ADD COLUMN subnet6 TEXT;
    ALTER TABLE networks ADD COLUMN gateway6 TEXT;
    ALTER TABLE endpoints ADD COLUMN ip6 TEXT;
    "#,
    // 6: the build cache: step keys to the images they made (build/cache.rs).
    crate::build::cache::MIGRATION,
    // 7: the events journal (events/mod.rs): docker's last 256 event messages.
    crate::events::MIGRATION,
];
