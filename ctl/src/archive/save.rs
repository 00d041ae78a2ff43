//! Writing images into a docker-archive or an oci-archive. Entries have
//! docker's deterministic headers (owner 0, mode 0644, mtime 0), so the same
//! images saved twice give the same bytes.

use std::collections::HashSet;
use std::io::{self, Read, Write};

use serde_json::json;

use super::{ArchiveError, Format, Hashing, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST, decompressed, oci_layer_media_type};
use crate::image::layer::Compression;
use crate::image::{self, Image, Store};
use crate::reference::{Digest, Reference, familiar};
use crate::snapshot::chain_id;

/// One image to save and the tags it is saved under (fully qualified).
struct Item {
    image: Image,
    tags: Vec<Reference>,
}

/// Write `names` (references or ids, as `docker save` takes them) to `out`.
pub(crate) fn save(store: &Store, names: &[String], format: Format, out: impl Write) -> Result<(), ArchiveError> {
    let mut items: Vec<Item> = Vec::new();
    let mut add = |image: Image, tag: Option<Reference>| match items.iter_mut().find(|i| i.image.id == image.id) {
        Some(item) => item.tags.extend(tag.filter(|t| !item.tags.contains(t))),
        None => items.push(Item { image, tags: tag.into_iter().collect() }),
    };
    for name in names {
        let repo_tags = repository_tags(store, name)?;
        if !repo_tags.is_empty() {
            // A repository without a tag: every tag of it, as docker saves them.
            for (tag, id) in repo_tags {
                add(image::resolve(store, id.as_str())?, Some(tag));
            }
            continue;
        }
        let image = image::resolve(store, name)?;
        let tag = Reference::parse(name)
            .ok()
            .filter(|r| r.digest.is_none() && image.repo_tags.iter().any(|t| familiar(&r.to_string()) == *t));
        add(image, tag);
    }
    let mut tar = tar::Builder::new(out);
    tar.mode(tar::HeaderMode::Deterministic);
    match format {
        Format::DockerArchive => write_docker(store, &items, &mut tar)?,
        Format::OciArchive => write_oci(store, &items, &mut tar)?,
    }
    let mut out = tar.into_inner().map_err(ArchiveError::Write)?;
    out.flush().map_err(ArchiveError::Write)
}

/// When `name` is a repository without tag or digest, its tags in the store
/// (sorted) and their images; else nothing.
fn repository_tags(store: &Store, name: &str) -> Result<Vec<(Reference, Digest)>, ArchiveError> {
    let Ok(r) = Reference::parse_name_only(name) else { return Ok(Vec::new()) };
    if r.tag.is_some() || r.digest.is_some() {
        return Ok(Vec::new());
    }
    let short = familiar(&r.repository());
    let mut out = Vec::new();
    for summary in image::list(&store.db)? {
        for (repo, tag) in &summary.tags {
            if *repo == short {
                let tagged = Reference { tag: Some(tag.clone()), ..r.clone() };
                out.push((tagged, summary.id.clone()));
            }
        }
    }
    out.sort_by_key(|(t, _)| t.tag.clone());
    Ok(out)
}

/// `docker save`'s layout: `<chain id>/{layer.tar,json,VERSION}` per layer
/// (each written once), `<config hex>.json`, `manifest.json`, `repositories`.
fn write_docker<W: Write>(store: &Store, items: &[Item], tar: &mut tar::Builder<W>) -> Result<(), ArchiveError> {
    let mut written = HashSet::new();
    let mut manifest = Vec::new();
    let mut repositories = serde_json::Map::new();
    for item in items {
        let img = &item.image;
        let config_name = format!("{}.json", img.id.hex());
        if written.insert(config_name.clone()) {
            append_bytes(tar, &config_name, &img.config_raw)?;
        }
        let mut layer_files = Vec::new();
        let mut chain: Option<Digest> = None;
        for layer in &img.layers {
            let parent = chain.clone();
            let id = chain_id(parent.as_ref(), &layer.diff_id);
            chain = Some(id.clone());
            let file = format!("{}/layer.tar", id.hex());
            if written.insert(file.clone()) {
                let mut v1 = json!({"id": id.hex(), "created": "1970-01-01T00:00:00Z"});
                if let Some(p) = &parent {
                    v1["parent"] = json!(p.hex());
                }
                append_bytes(tar, &format!("{}/VERSION", id.hex()), b"1.0")?;
                append_bytes(tar, &format!("{}/json", id.hex()), v1.to_string().as_bytes())?;
                append_layer_tar(store, tar, &file, layer)?;
            }
            layer_files.push(file);
        }
        let tags: Vec<String> = item.tags.iter().map(|t| familiar(&t.to_string())).collect();
        for t in &item.tags {
            let repo = familiar(&t.repository());
            let top = chain.as_ref().map(|c| c.hex().to_string()).unwrap_or_default();
            let entry = repositories.entry(repo).or_insert_with(|| json!({}));
            entry[t.tag.clone().unwrap_or_default()] = json!(top);
        }
        manifest.push(json!({
            "Config": config_name,
            "RepoTags": if tags.is_empty() { serde_json::Value::Null } else { json!(tags) },
            "Layers": layer_files,
        }));
    }
    append_bytes(tar, "manifest.json", serde_json::Value::Array(manifest).to_string().as_bytes())?;
    append_bytes(tar, "repositories", serde_json::Value::Object(repositories).to_string().as_bytes())
}

/// A layer as docker save writes it: uncompressed. A compressed blob is read
/// twice: once to learn the tar's length (the entry header comes first) and
/// check its diff id, once to write it.
fn append_layer_tar<W: Write>(
    store: &Store,
    tar: &mut tar::Builder<W>,
    name: &str,
    layer: &image::Layer,
) -> Result<(), ArchiveError> {
    let compression = Compression::from_media_type(&layer.media_type).unwrap_or(Compression::None);
    let open = || -> Result<Box<dyn Read>, ArchiveError> {
        let file = store.content.open_blob(&layer.blob)?;
        decompressed(file, compression).map_err(|source| ArchiveError::LayerRead { blob: layer.blob.clone(), source })
    };
    let size = if compression == Compression::None {
        layer.blob_size
    } else {
        let mut h = Hashing::new(open()?);
        io::copy(&mut h, &mut io::sink())
            .map_err(|source| ArchiveError::LayerRead { blob: layer.blob.clone(), source })?;
        if h.digest() != layer.diff_id {
            return Err(ArchiveError::DiffId {
                blob: layer.blob.clone(),
                expected: layer.diff_id.clone(),
                actual: h.digest(),
            });
        }
        h.count
    };
    append_reader(tar, name, size, open()?)
}

/// An OCI image layout: blobs as stored (each once), a manifest per image
/// (the stored one when it is OCI, else one made from the config and
/// layers), and `index.json` with a descriptor per tag (containerd's and
/// OCI's name annotations) or per untagged image.
fn write_oci<W: Write>(store: &Store, items: &[Item], tar: &mut tar::Builder<W>) -> Result<(), ArchiveError> {
    append_bytes(tar, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    let mut written = HashSet::new();
    let mut index = Vec::new();
    for item in items {
        let img = &item.image;
        if written.insert(img.id.clone()) {
            append_bytes(tar, &blob_name(&img.id), &img.config_raw)?;
        }
        for l in &img.layers {
            if written.insert(l.blob.clone()) {
                let f = store.content.open_blob(&l.blob)?;
                append_reader(tar, &blob_name(&l.blob), l.blob_size, f)?;
            }
        }
        let manifest = oci_manifest(store, img)?;
        let digest = Digest::of(&manifest);
        if written.insert(digest.clone()) {
            append_bytes(tar, &blob_name(&digest), &manifest)?;
        }
        let descriptor = json!({"mediaType": OCI_MANIFEST, "digest": digest.as_str(), "size": manifest.len()});
        if item.tags.is_empty() {
            index.push(descriptor.clone());
        }
        for t in &item.tags {
            let mut d = descriptor.clone();
            d["annotations"] = json!({
                "io.containerd.image.name": t.to_string(),
                "org.opencontainers.image.ref.name": t.tag.clone().unwrap_or_default(),
            });
            index.push(d);
        }
    }
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": index});
    append_bytes(tar, "index.json", index.to_string().as_bytes())
}

fn oci_manifest(store: &Store, img: &Image) -> Result<Vec<u8>, ArchiveError> {
    if let Some((d, mt)) = &img.manifest
        && mt == OCI_MANIFEST
        && store.content.has(d)
    {
        return Ok(store.content.read(d)?);
    }
    let layers: Vec<_> = img
        .layers
        .iter()
        .map(|l| json!({"mediaType": oci_layer_media_type(&l.media_type), "digest": l.blob.as_str(), "size": l.blob_size}))
        .collect();
    let m = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": img.id.as_str(), "size": img.config_raw.len()},
        "layers": layers,
    });
    Ok(m.to_string().into_bytes())
}

fn blob_name(d: &Digest) -> String {
    format!("blobs/sha256/{}", d.hex())
}

fn append_bytes<W: Write>(tar: &mut tar::Builder<W>, name: &str, data: &[u8]) -> Result<(), ArchiveError> {
    append_reader(tar, name, data.len() as u64, data)
}

/// One regular file of `size` bytes from `src`; a source shorter or longer
/// than announced is an error, not a broken archive.
fn append_reader<W: Write>(
    tar: &mut tar::Builder<W>,
    name: &str,
    size: u64,
    src: impl Read,
) -> Result<(), ArchiveError> {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    let mut exact = Exact { inner: src, left: size, name };
    tar.append_data(&mut header, name, &mut exact).map_err(ArchiveError::Write)?;
    let mut extra = [0u8; 1];
    if exact.inner.read(&mut extra).map_err(ArchiveError::Write)? != 0 {
        return Err(ArchiveError::Entry { name: name.to_string(), detail: format!("longer than its {size} bytes") });
    }
    Ok(())
}

/// Reads exactly `left` bytes from `inner`, failing if it ends first.
struct Exact<'a, R> {
    inner: R,
    left: u64,
    name: &'a str,
}

impl<R: Read> Read for Exact<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{}: source ended {} bytes early", self.name, self.left),
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}
