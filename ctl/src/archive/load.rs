//! Reading a docker-archive or an oci-archive into the store. The archive is
//! read once, in order: files up to [`SMALL`] are kept in memory, larger
//! ones go straight into the content store (a layer is never held whole in
//! memory). Then the images the archive's `manifest.json` (docker) or
//! `index.json` (OCI) names are stored: config blob, one snapshot per layer
//! chain not yet present (diff ids checked), image row and tags. Blobs this
//! load added that no image ends up using are removed, on success and on
//! failure alike.

use std::collections::HashMap;
use std::io::{self, Read};

use serde::Deserialize;
use serde_json::Value;

use super::{ArchiveError, DOCKER_LIST, Hashing, OCI_INDEX, decompressed, maybe_decompress, sniff};
use crate::db::{OptionalExtension, params};
use crate::image::layer::Compression;
use crate::image::{self, Layer, NewImage, Store};
use crate::reference::{Digest, Reference, familiar};
use crate::snapshot::{Finished, chain_id};
use crate::unpack;

/// Files up to this size are kept in memory while the archive is read.
const SMALL: u64 = 1 << 20;
/// Symlinks followed at most this deep (docker save links repeated layers).
const MAX_LINKS: usize = 8;

/// One image loaded: its id and the tags it got (docker's short form).
#[derive(Debug, Clone)]
pub(crate) struct Loaded {
    pub id: Digest,
    pub tags: Vec<String>,
}

/// Load every image of the archive read from `input` (plain, gzip or zstd).
pub(crate) fn load(store: &mut Store, input: impl Read) -> Result<Vec<Loaded>, ArchiveError> {
    store.recover()?;
    let mut added = Vec::new();
    let result = load_all(store, input, &mut added);
    if let Err(e) = remove_unused(store, &added) {
        tracing::warn!(error = %e, "remove blobs a load left unused");
    }
    result
}

fn load_all(store: &mut Store, input: impl Read, added: &mut Vec<Digest>) -> Result<Vec<Loaded>, ArchiveError> {
    let entries = Entries::read(store, maybe_decompress(input)?, added)?;
    let images = if entries.get("manifest.json").is_some() {
        docker_images(store, &entries, added)?
    } else if entries.get("index.json").is_some() {
        oci_images(store, &entries, added)?
    } else {
        return Err(ArchiveError::Invalid(
            "archive has neither manifest.json nor index.json: not a docker-archive or oci-archive".into(),
        ));
    };
    if images.is_empty() {
        return Err(ArchiveError::Invalid("archive names no image".into()));
    }
    images.into_iter().map(|img| store_image(store, img, added)).collect()
}

/// A file of the archive: small ones in memory, large ones as stored blobs.
enum Content {
    Bytes(Vec<u8>),
    Blob(Digest),
}

struct Entries {
    files: HashMap<String, Content>,
    links: HashMap<String, String>,
}

impl Entries {
    fn read(store: &Store, input: impl Read, added: &mut Vec<Digest>) -> Result<Entries, ArchiveError> {
        let mut files = HashMap::new();
        let mut links = HashMap::new();
        let mut archive = tar::Archive::new(input);
        for entry in archive.entries().map_err(ArchiveError::Read)? {
            let mut entry = entry.map_err(ArchiveError::Read)?;
            let name = normalize(&String::from_utf8_lossy(&entry.path_bytes()));
            let kind = entry.header().entry_type();
            if kind.is_symlink() || kind.is_hard_link() {
                let target =
                    entry.link_name_bytes().map(|t| String::from_utf8_lossy(&t).into_owned()).unwrap_or_default();
                let base = if kind.is_symlink() { name.rsplit_once('/').map_or("", |(d, _)| d) } else { "" };
                let resolved = normalize(&format!("{base}/{target}"));
                links.insert(name, resolved);
                continue;
            }
            if !kind.is_file() {
                continue;
            }
            let size = entry.size();
            let content = if size <= SMALL {
                let mut data = Vec::with_capacity(size as usize);
                entry.read_to_end(&mut data).map_err(ArchiveError::Read)?;
                Content::Bytes(data)
            } else {
                Content::Blob(ingest(store, &name, size, &mut entry, added)?)
            };
            files.insert(name, content);
        }
        Ok(Entries { files, links })
    }

    fn get(&self, name: &str) -> Option<&Content> {
        let mut name = normalize(name);
        for _ in 0..MAX_LINKS {
            if let Some(c) = self.files.get(&name) {
                return Some(c);
            }
            name = self.links.get(&name)?.clone();
        }
        None
    }

    fn bytes(&self, store: &Store, name: &str) -> Result<Vec<u8>, ArchiveError> {
        match self.get(name) {
            Some(Content::Bytes(b)) => Ok(b.clone()),
            Some(Content::Blob(d)) => Ok(store.content.read(d)?),
            None => Err(ArchiveError::Invalid(format!("archive has no file {name:?}"))),
        }
    }

    fn json<T: serde::de::DeserializeOwned>(&self, store: &Store, name: &str) -> Result<T, ArchiveError> {
        let bytes = self.bytes(store, name)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| ArchiveError::Entry { name: name.to_string(), detail: format!("invalid JSON: {e}") })
    }

    /// A layer file as a stored blob (small ones are stored now).
    fn blob(&self, store: &Store, name: &str, added: &mut Vec<Digest>) -> Result<Digest, ArchiveError> {
        match self.get(name) {
            Some(Content::Blob(d)) => Ok(d.clone()),
            Some(Content::Bytes(b)) => put(store, b, added),
            None => Err(ArchiveError::Invalid(format!("archive has no file {name:?}"))),
        }
    }
}

/// `./a//b/../c` -> `a/c`
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// Stream one archive file into the content store; `blobs/sha256/<hex>`
/// must hash to its name.
fn ingest(
    store: &Store,
    name: &str,
    size: u64,
    src: &mut impl Read,
    added: &mut Vec<Digest>,
) -> Result<Digest, ArchiveError> {
    let expected = name.strip_prefix("blobs/sha256/").and_then(|h| format!("sha256:{h}").parse::<Digest>().ok());
    let mut w = store.content.ingest(expected, Some(size))?;
    io::copy(src, &mut w).map_err(|e| ArchiveError::Entry { name: name.to_string(), detail: format!("read: {e}") })?;
    let digest = w.digest();
    let new = !store.content.has(&digest);
    let (digest, _) = w.commit()?;
    if new {
        added.push(digest.clone());
    }
    Ok(digest)
}

fn put(store: &Store, data: &[u8], added: &mut Vec<Digest>) -> Result<Digest, ArchiveError> {
    let d = Digest::of(data);
    if !store.content.has(&d) {
        store.content.put(data)?;
        added.push(d.clone());
    }
    Ok(d)
}

/// An image found in the archive, before it is stored.
struct Found {
    config: Vec<u8>,
    layers: Vec<Digest>,
    /// Media types from an OCI manifest; docker-archive layers are sniffed.
    media_types: Vec<Option<String>>,
    manifest: Option<(Digest, String)>,
    tags: Vec<Reference>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerEntry {
    config: String,
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

fn docker_images(store: &Store, entries: &Entries, added: &mut Vec<Digest>) -> Result<Vec<Found>, ArchiveError> {
    let manifest: Vec<DockerEntry> = entries.json(store, "manifest.json")?;
    let mut out = Vec::new();
    for m in manifest {
        let layers = m.layers.iter().map(|l| entries.blob(store, l, added)).collect::<Result<Vec<_>, _>>()?;
        let tags =
            m.repo_tags.unwrap_or_default().iter().map(|t| Reference::parse(t)).collect::<Result<Vec<_>, _>>()?;
        out.push(Found {
            config: entries.bytes(store, &m.config)?,
            media_types: vec![None; layers.len()],
            layers,
            manifest: None,
            tags,
        });
    }
    Ok(out)
}

fn oci_images(store: &Store, entries: &Entries, added: &mut Vec<Digest>) -> Result<Vec<Found>, ArchiveError> {
    let index: Value = entries.json(store, "index.json")?;
    let mut out: Vec<Found> = Vec::new();
    for desc in index["manifests"].as_array().into_iter().flatten() {
        let desc = platform_manifest(store, entries, desc)?;
        let digest = descriptor_digest(&desc)?;
        let bytes = entries.bytes(store, &blob_path(&digest))?;
        check_digest(&bytes, &digest)?;
        let m: Value = serde_json::from_slice(&bytes)
            .map_err(|e| ArchiveError::Entry { name: blob_path(&digest), detail: format!("invalid JSON: {e}") })?;
        let config_digest = descriptor_digest(&m["config"])?;
        let config = entries.bytes(store, &blob_path(&config_digest))?;
        check_digest(&config, &config_digest)?;
        let mut layers = Vec::new();
        let mut media_types = Vec::new();
        for l in m["layers"].as_array().into_iter().flatten() {
            let d = descriptor_digest(l)?;
            let blob = entries.blob(store, &blob_path(&d), added)?;
            if blob != d {
                return Err(ArchiveError::Entry { name: blob_path(&d), detail: format!("content is {blob}") });
            }
            layers.push(d);
            media_types.push(l["mediaType"].as_str().map(str::to_string));
        }
        let media_type = m["mediaType"].as_str().unwrap_or(super::OCI_MANIFEST).to_string();
        let manifest = Some((put(store, &bytes, added)?, media_type));
        let tags: Vec<Reference> = oci_name(&desc).into_iter().collect();
        // One manifest tagged twice is two descriptors: one image, two tags.
        match out.iter_mut().find(|f| f.manifest == manifest) {
            Some(f) => f.tags.extend(tags),
            None => out.push(Found { config, layers, media_types, manifest, tags }),
        }
    }
    Ok(out)
}

/// A descriptor of an index (nested, as skopeo writes a multi-platform
/// image) is resolved to the manifest for this host's platform.
fn platform_manifest(store: &Store, entries: &Entries, desc: &Value) -> Result<Value, ArchiveError> {
    let mt = desc["mediaType"].as_str().unwrap_or_default();
    if mt != OCI_INDEX && mt != DOCKER_LIST {
        return Ok(desc.clone());
    }
    let digest = descriptor_digest(desc)?;
    let nested: Value = entries.json(store, &blob_path(&digest))?;
    let arch = crate::platform_arch();
    let found = nested["manifests"].as_array().into_iter().flatten().find(|m| {
        m["platform"]["os"].as_str() == Some("linux") && m["platform"]["architecture"].as_str() == Some(arch)
    });
    let mut chosen =
        found.cloned().ok_or_else(|| ArchiveError::Invalid(format!("index {digest}: no manifest for linux/{arch}")))?;
    // The tag is on the outer descriptor.
    chosen["annotations"] = desc["annotations"].clone();
    Ok(chosen)
}

/// The name an index descriptor gives its image: containerd's full name, or
/// OCI's ref.name when it is a whole reference (`busybox`, `host/x:tag`).
fn oci_name(desc: &Value) -> Option<Reference> {
    let a = &desc["annotations"];
    let name = a["io.containerd.image.name"].as_str().or_else(|| a["org.opencontainers.image.ref.name"].as_str())?;
    Reference::parse(name).ok()
}

fn descriptor_digest(desc: &Value) -> Result<Digest, ArchiveError> {
    let d =
        desc["digest"].as_str().ok_or_else(|| ArchiveError::Invalid(format!("descriptor without a digest: {desc}")))?;
    Ok(d.parse()?)
}

fn blob_path(d: &Digest) -> String {
    format!("blobs/sha256/{}", d.hex())
}

fn check_digest(data: &[u8], expected: &Digest) -> Result<(), ArchiveError> {
    let actual = Digest::of(data);
    if &actual != expected {
        return Err(ArchiveError::Entry { name: blob_path(expected), detail: format!("content is {actual}") });
    }
    Ok(())
}

/// Store one image: config, snapshots of the chains not yet unpacked, the
/// image row and its tags.
fn store_image(store: &mut Store, found: Found, added: &mut Vec<Digest>) -> Result<Loaded, ArchiveError> {
    let id = put(store, &found.config, added)?;
    let config: oci_spec::image::ImageConfiguration =
        serde_json::from_slice(&found.config).map_err(|e| ArchiveError::Invalid(format!("image config {id}: {e}")))?;
    let diff_ids: Vec<Digest> = config.rootfs().diff_ids().iter().map(|d| d.parse()).collect::<Result<_, _>>()?;
    if diff_ids.len() != found.layers.len() {
        return Err(ArchiveError::Invalid(format!(
            "image {id}: config lists {} layers, the archive {}",
            diff_ids.len(),
            found.layers.len()
        )));
    }
    let layers = snapshot_layers(store, &found, &diff_ids)?;
    let mut tags = found.tags.into_iter();
    let first = tags.next();
    let new = NewImage {
        id: id.clone(),
        created: config.created().clone(),
        manifest: found.manifest,
        layers,
        tag: first.clone(),
        repo_digest: None,
    };
    image::add(store, &new)?;
    let mut shown: Vec<String> = first.iter().map(|t| familiar(&t.to_string())).collect();
    for t in tags {
        image::tag(store, &id, &t)?;
        shown.push(familiar(&t.to_string()));
    }
    Ok(Loaded { id, tags: shown })
}

/// Each layer's snapshot: the existing one of its chain, or a new one
/// unpacked from the blob, all committed together.
fn snapshot_layers(store: &mut Store, found: &Found, diff_ids: &[Digest]) -> Result<Vec<Layer>, ArchiveError> {
    let mut layers = Vec::with_capacity(diff_ids.len());
    let mut todo = Vec::new();
    let mut chain: Option<Digest> = None;
    for (i, (blob, diff_id)) in found.layers.iter().zip(diff_ids).enumerate() {
        let c = chain_id(chain.as_ref(), diff_id);
        let mut file = store.content.open_blob(blob)?;
        let compression = match found.media_types[i].as_deref().and_then(Compression::from_media_type) {
            Some(c) => c,
            None => sniff(&mut file).map_err(|source| ArchiveError::LayerRead { blob: blob.clone(), source })?,
        };
        let existing = store.snapshots.lookup(&store.db, &c)?;
        let size = match existing {
            Some(s) => snapshot_size(store, s)?,
            None => 0,
        };
        layers.push(Layer {
            diff_id: diff_id.clone(),
            blob: blob.clone(),
            media_type: found.media_types[i].clone().unwrap_or_else(|| compression.oci_media_type().to_string()),
            blob_size: store.content.size(blob)?,
            snapshot: existing.unwrap_or_default(),
            size,
        });
        if existing.is_none() {
            todo.push((i, c.clone(), file, compression));
        }
        chain = Some(c);
    }
    if todo.is_empty() {
        return Ok(layers);
    }
    let pending = store.snapshots.prepare(&mut store.db, todo.len())?;
    let mut done = Vec::with_capacity(todo.len());
    for ((i, chain_id, file, compression), p) in todo.into_iter().zip(pending) {
        let size = unpack_blob(file, compression, &layers[i].blob, &layers[i].diff_id, p.fs())?;
        layers[i].size = size;
        done.push((i, p, Finished { chain_id, diff_id: layers[i].diff_id.clone(), size }));
    }
    let order: Vec<usize> = done.iter().map(|d| d.0).collect();
    let ids = store.snapshots.commit(&mut store.db, done.into_iter().map(|(_, p, f)| (p, f)).collect())?;
    for (i, id) in order.into_iter().zip(ids) {
        layers[i].snapshot = id;
    }
    Ok(layers)
}

fn snapshot_size(store: &Store, id: i64) -> Result<u64, ArchiveError> {
    let size: Option<i64> = store
        .db
        .conn()
        .query_row("SELECT size FROM snapshots WHERE id = ?1", params![id], |r| r.get(0))
        .optional()
        .map_err(|e| ArchiveError::Image(store.db.err(e).into()))?;
    Ok(size.unwrap_or(0) as u64)
}

/// Unpack a stored layer blob into `fs`, checking its diff id; returns the
/// layer's size (sum of its files).
fn unpack_blob(
    file: std::fs::File,
    compression: Compression,
    blob: &Digest,
    diff_id: &Digest,
    fs: &std::path::Path,
) -> Result<u64, ArchiveError> {
    let read_err = |source| ArchiveError::LayerRead { blob: blob.clone(), source };
    let mut h = Hashing::new(decompressed(file, compression).map_err(read_err)?);
    let stats = unpack::unpack(&mut h, fs).map_err(|source| ArchiveError::Unpack { blob: blob.clone(), source })?;
    // The tar ends at two zero blocks; padding after them is part of the diff.
    io::copy(&mut h, &mut io::sink()).map_err(read_err)?;
    if &h.digest() != diff_id {
        return Err(ArchiveError::DiffId { blob: blob.clone(), expected: diff_id.clone(), actual: h.digest() });
    }
    Ok(stats.bytes)
}

/// Remove blobs this load added that no image uses (a failed load, or
/// archive files that were not layers).
fn remove_unused(store: &Store, added: &[Digest]) -> Result<(), ArchiveError> {
    let conn = store.db.conn();
    for d in added {
        let used: Option<i64> = conn
            .query_row(
                "SELECT 1 FROM images WHERE id = ?1 OR manifest_digest = ?1
                 UNION ALL SELECT 1 FROM image_layers WHERE blob_digest = ?1 LIMIT 1",
                [d.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| ArchiveError::Image(store.db.err(e).into()))?;
        if used.is_none() {
            store.content.remove(d)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalized_and_links_resolved_relative_to_their_dir() {
        assert_eq!(normalize("./a//b/../c/"), "a/c");
        assert_eq!(normalize("abc/../def/layer.tar"), "def/layer.tar");
        let mut files = HashMap::new();
        files.insert("one/layer.tar".to_string(), Content::Bytes(b"x".to_vec()));
        let mut links = HashMap::new();
        links.insert("two/layer.tar".to_string(), normalize("two/../one/layer.tar"));
        links.insert("loop".to_string(), "loop".to_string());
        let e = Entries { files, links };
        assert!(matches!(e.get("./two/layer.tar"), Some(Content::Bytes(b)) if b == b"x"));
        assert!(e.get("loop").is_none());
    }

    #[test]
    fn oci_names_come_from_containerd_then_ref_name() {
        let d = serde_json::json!({"annotations": {"io.containerd.image.name": "docker.io/library/busybox:1.36",
            "org.opencontainers.image.ref.name": "1.36"}});
        assert_eq!(oci_name(&d).map(|r| r.to_string()).as_deref(), Some("docker.io/library/busybox:1.36"));
        let d = serde_json::json!({"annotations": {"org.opencontainers.image.ref.name": "nginx"}});
        assert_eq!(oci_name(&d).map(|r| r.to_string()).as_deref(), Some("docker.io/library/nginx:latest"));
        assert!(oci_name(&serde_json::json!({})).is_none());
    }
}
