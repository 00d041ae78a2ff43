//! Layers and images made here rather than pulled: what `commit` and each
//! step of `build` call. Two calls per step:
//!
//! ```text
//! let _gc = store.gc_lock(GcLock::Writer)?;   // held until the image is recorded (the whole build)
//! let parent = image::resolve(&store, "busybox")?;
//! // 1. a directory (a container's upper dir, or any tree) → a layer, or None when it holds nothing
//! let layer: Option<Layer> = image::layer_from_dir(&mut store, &parent.diff_ids(), upper,
//!     &PackOptions::upper_dir(Times::Clamp(epoch)))?;   // Times::Keep for commit
//! // 2. parent + optional layer + history + config → a new image (config, manifest, row, tag)
//! let mut config = image::config_section(Some(&parent));
//! image::apply_changes(&mut config, &["CMD [\"sh\"]".into()])?;   // or edit the map directly
//! let id: Digest = image::record_image(&mut store, &ImageRecord {
//!     parent: Some(&parent), layer, config,
//!     history: HistoryEntry { created_by: Some("/bin/sh -c make".into()), ..Default::default() },
//!     created: None, author: None, container: None, tag: None })?;
//! ```
//!
//! `layer_from_dir` packs the tree (`pack::pack_dir`: deterministic order,
//! overlay whiteouts converted, owners, modes, xattrs, hard links, devices
//! kept) and in the same pass hashes the tar (the diff id), gzips it into the
//! content store's ingest (the blob digest) and unpacks it into a new pending
//! snapshot (`unpack`, the pull path's own code) on a second thread through a
//! pipe. The blob is committed only when the whole stream was written, the
//! snapshot only after the blob (with its chain id on top of the parent's),
//! so a failure or a crash anywhere leaves at most an ingest file and an
//! incomplete snapshot, which `Store::recover` removes. An empty tree (docker's
//! empty layer, 1024 zero bytes) makes no blob and no snapshot: the history
//! entry is then `empty_layer`, as docker's `NewChildImage` records it.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use serde_json::{Map, Value, json};
use sha2::Digest as _;

use super::import::{CONFIG_MEDIA_TYPE, MANIFEST_MEDIA_TYPE};
use super::layer::{Compression, LayerError};
use super::{Image, ImageError, Layer, NewImage, Store, add};
use crate::content::Ingest;
use crate::pack::{self, PackOptions};
use crate::reference::{Digest, Reference};
use crate::snapshot::{Finished, chain_id};
use crate::unpack;

/// Pipe and write buffers: big enough that the tar is not written per header.
const BUF: usize = 256 * 1024;

/// What the new image's history entry says.
#[derive(Debug, Clone, Default)]
pub(crate) struct HistoryEntry {
    /// `docker history`'s CREATED BY: the container's command for commit,
    /// `/bin/sh -c #(nop)  CMD ["sh"]`-style lines for build.
    pub created_by: Option<String>,
    pub comment: Option<String>,
    pub author: Option<String>,
}

/// A new image on top of `parent` (None: from scratch).
#[derive(Debug, Clone)]
pub(crate) struct ImageRecord<'a> {
    pub parent: Option<&'a Image>,
    /// From [`layer_from_dir`]; None for a metadata-only step.
    pub layer: Option<Layer>,
    /// The config's `config` section (Env, Cmd, Entrypoint, WorkingDir…, in
    /// the image config's key spelling): start from [`config_section`].
    pub config: Map<String, Value>,
    pub history: HistoryEntry,
    /// RFC 3339 time for the config and the history entry; None: now.
    pub created: Option<String>,
    /// The config's top-level `author` (`commit -a`, `MAINTAINER`).
    pub author: Option<String>,
    /// `commit`'s container: its id and its docker `Config`, written as the
    /// config's `container` and `container_config` (docker's commit).
    pub container: Option<(String, Map<String, Value>)>,
    pub tag: Option<Reference>,
}

impl Image {
    /// The image's layers' diff ids, bottom first: `layer_from_dir`'s parent.
    pub(crate) fn diff_ids(&self) -> Vec<Digest> {
        self.layers.iter().map(|l| l.diff_id.clone()).collect()
    }

    fn raw_config(&self) -> Result<Value, ImageError> {
        serde_json::from_slice(&self.config_raw).map_err(|source| ImageError::Config { id: self.id.clone(), source })
    }
}

/// The `config` section of `image`'s config (empty for scratch), to change
/// and pass as [`ImageRecord::config`].
pub(crate) fn config_section(image: Option<&Image>) -> Result<Map<String, Value>, ImageError> {
    let Some(img) = image else { return Ok(Map::new()) };
    Ok(match img.raw_config()?.get_mut("config").map(Value::take) {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    })
}

/// Pack `dir` into a layer on top of the layers `parent_diff_ids` (bottom
/// first): gzip blob in the content store, snapshot committed. None when
/// the tree holds nothing to write. The caller holds the store's GC lock
/// (`GcLock::Writer`) until the layer is part of an image.
pub(crate) fn layer_from_dir(
    store: &mut Store,
    parent_diff_ids: &[Digest],
    dir: &Path,
    opts: &PackOptions,
) -> Result<Option<Layer>, ImageError> {
    let root: OwnedFd = File::open(dir)
        .map_err(|source| ImageError::Io { op: "open layer dir", path: dir.to_path_buf(), source })?
        .into();
    let pending =
        store.snapshots.prepare(&mut store.db, 1)?.pop().ok_or_else(|| ImageError::Invalid("no snapshot".into()))?;
    let ingest = store.content.ingest(None, None)?;
    let (mut reader, writer) =
        io::pipe().map_err(|source| ImageError::Io { op: "pipe", path: dir.to_path_buf(), source })?;
    let (produced, unpacked) = std::thread::scope(|s| {
        let producer = s.spawn(|| {
            let mut sink = LayerSink {
                gz: flate2::write::GzEncoder::new(ingest, flate2::Compression::default()),
                hasher: sha2::Sha256::new(),
                pipe: Some(writer),
            };
            let stats = pack::pack_dir(root.as_fd(), BufWriter::with_capacity(BUF, &mut sink), opts)?;
            sink.pipe = None;
            let ingest = sink.gz.finish().map_err(pack::PackError::Write)?;
            Ok::<_, pack::PackError>((stats, Digest::from_sha256(&sink.hasher.finalize()), ingest))
        });
        let unpacked = unpack::unpack(&mut reader, pending.fs())
            // What follows the end-of-archive blocks is read too, so the writer never blocks.
            .and_then(|stats| io::copy(&mut reader, &mut io::sink()).map(|_| stats).map_err(unpack::UnpackError::Read));
        drop(reader);
        let produced = producer.join().map_err(|_| ImageError::Invalid("layer writer thread panicked".into()));
        (produced, unpacked)
    });
    // Whichever side failed first: a broken pipe only says the reader stopped,
    // an early end of the tar only that the writer did.
    let (stats, diff_id, ingest) = match (produced?, unpacked) {
        (Err(pack::PackError::Write(e)), Err(u)) if e.kind() == io::ErrorKind::BrokenPipe => {
            return Err(LayerError::Unpack(u).into());
        }
        (Err(source), _) => return Err(ImageError::Pack { dir: dir.to_path_buf(), source }),
        (Ok(_), Err(u)) => return Err(LayerError::Unpack(u).into()),
        (Ok(p), Ok(_)) => p,
    };
    if stats.entries == 0 {
        // docker's empty layer: no blob, no snapshot (both dropped here).
        return Ok(None);
    }
    crate::testhook::fault("commit:layer");
    let (blob, blob_size) = ingest.commit()?;
    let parent_chain = parent_diff_ids.iter().fold(None, |acc: Option<Digest>, d| Some(chain_id(acc.as_ref(), d)));
    let finished =
        Finished { chain_id: chain_id(parent_chain.as_ref(), &diff_id), diff_id: diff_id.clone(), size: stats.bytes };
    let snapshot = store.snapshots.commit(&mut store.db, vec![(pending, finished)])?[0];
    Ok(Some(Layer {
        diff_id,
        blob,
        media_type: Compression::Gzip.oci_media_type().to_string(),
        blob_size,
        snapshot,
        size: stats.bytes,
    }))
}

/// The tar stream's three destinations: the diff-id hash, gzip into the
/// ingest file, and the pipe to the unpacking thread.
struct LayerSink {
    gz: flate2::write::GzEncoder<Ingest>,
    hasher: sha2::Sha256,
    pipe: Option<io::PipeWriter>,
}

impl Write for LayerSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.hasher.update(buf);
        self.gz.write_all(buf)?;
        if let Some(p) = &mut self.pipe {
            p.write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Record a new image: its config (the parent's platform, diff ids and
/// history, plus this step's), an OCI manifest, the image row and its tag.
/// Returns the image id.
pub(crate) fn record_image(store: &mut Store, rec: &ImageRecord<'_>) -> Result<Digest, ImageError> {
    let created = rec.created.clone().unwrap_or_else(crate::container::now_rfc3339);
    let config = new_config(rec, &created)?;
    let config_bytes = serde_json::to_vec(&config).map_err(|e| ImageError::Invalid(format!("encode config: {e}")))?;
    let id = store.content.put(&config_bytes)?;
    let mut layers: Vec<Layer> = rec.parent.map(|p| p.layers.clone()).unwrap_or_default();
    layers.extend(rec.layer.clone());
    let descriptors: Vec<Value> = layers
        .iter()
        .map(|l| {
            let mt = Compression::from_media_type(&l.media_type).map_or(l.media_type.as_str(), |c| c.oci_media_type());
            json!({"mediaType": mt, "digest": l.blob.as_str(), "size": l.blob_size})
        })
        .collect();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": {"mediaType": CONFIG_MEDIA_TYPE, "digest": id.as_str(), "size": config_bytes.len()},
        "layers": descriptors,
    });
    let manifest_bytes =
        serde_json::to_vec(&manifest).map_err(|e| ImageError::Invalid(format!("encode manifest: {e}")))?;
    let manifest_digest = store.content.put(&manifest_bytes)?;
    crate::testhook::fault("commit:image");
    add(
        store,
        &NewImage {
            id: id.clone(),
            created: Some(created),
            manifest: Some((manifest_digest, MANIFEST_MEDIA_TYPE.to_string())),
            layers,
            tag: rec.tag.clone(),
            repo_digest: None,
        },
    )?;
    Ok(id)
}

/// The config blob as docker's `image.NewChildImage` writes it: platform
/// fields of the parent, the new `config`, diff ids and history extended.
fn new_config(rec: &ImageRecord<'_>, created: &str) -> Result<Value, ImageError> {
    let parent = rec.parent.map(Image::raw_config).transpose()?;
    let field = |k: &str| parent.as_ref().and_then(|p| p.get(k)).cloned();
    let (os, arch) = match &parent {
        Some(_) => {
            (field("os").unwrap_or(json!("linux")), field("architecture").unwrap_or(json!(crate::platform_arch())))
        }
        None => (json!("linux"), json!(crate::platform_arch())),
    };
    let mut diff_ids: Vec<Value> = match field("rootfs").and_then(|r| r.get("diff_ids").cloned()) {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    };
    let mut history: Vec<Value> = match field("history") {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    };
    let mut entry = Map::new();
    entry.insert("created".into(), json!(created));
    let h = &rec.history;
    for (k, v) in [("author", &h.author), ("created_by", &h.created_by), ("comment", &h.comment)] {
        if let Some(v) = v {
            entry.insert(k.into(), json!(v));
        }
    }
    match &rec.layer {
        Some(l) => diff_ids.push(json!(l.diff_id.as_str())),
        None => {
            entry.insert("empty_layer".into(), json!(true));
        }
    }
    history.push(Value::Object(entry));
    let mut config = Map::new();
    config.insert("architecture".into(), arch);
    if let Some(a) = &rec.author {
        config.insert("author".into(), json!(a));
    }
    config.insert("config".into(), Value::Object(rec.config.clone()));
    if let Some((id, container_config)) = &rec.container {
        config.insert("container".into(), json!(id));
        config.insert("container_config".into(), Value::Object(container_config.clone()));
    }
    config.insert("created".into(), json!(created));
    config.insert("history".into(), Value::Array(history));
    config.insert("os".into(), os);
    for k in ["os.version", "os.features", "variant"] {
        if let Some(v) = field(k) {
            config.insert(k.into(), v);
        }
    }
    config.insert("rootfs".into(), json!({"type": "layers", "diff_ids": diff_ids}));
    Ok(Value::Object(config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{ImportOptions, import, resolve};
    use crate::pack::Times;

    fn base(s: &mut Store) -> Image {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_path("etc/base").unwrap();
        h.set_size(1);
        h.set_mode(0o644);
        h.set_cksum();
        b.append(&h, &b"b"[..]).unwrap();
        let opts = ImportOptions { changes: vec!["CMD [\"sh\"]".into()], ..Default::default() };
        let id = import(s, &b.into_inner().unwrap()[..], &opts).unwrap();
        crate::image::load(s, &id).unwrap()
    }

    #[test]
    fn layer_and_image_from_a_dir() {
        let d = tempfile::tempdir().unwrap();
        let mut s = Store::open(&d.path().join("root")).unwrap();
        let parent = base(&mut s);
        let tree = d.path().join("tree");
        std::fs::create_dir_all(tree.join("app")).unwrap();
        std::fs::write(tree.join("app/run"), b"#!/bin/sh\n").unwrap();
        let opts = PackOptions { times: Times::Clamp(0), ..Default::default() };
        let layer = layer_from_dir(&mut s, &parent.diff_ids(), &tree, &opts).unwrap().unwrap();
        // The same input gives the same layer, digests and snapshot.
        let again = layer_from_dir(&mut s, &parent.diff_ids(), &tree, &opts).unwrap().unwrap();
        assert_eq!((&again.diff_id, &again.blob, again.snapshot), (&layer.diff_id, &layer.blob, layer.snapshot));
        assert!(s.content.has(&layer.blob));
        let mut config = config_section(Some(&parent)).unwrap();
        crate::image::apply_changes(&mut config, &["ENV A=1".to_string()]).unwrap();
        let rec = ImageRecord {
            parent: Some(&parent),
            layer: Some(layer.clone()),
            config,
            history: HistoryEntry { created_by: Some("make".into()), comment: Some("msg".into()), author: None },
            created: None,
            author: Some("me".into()),
            container: Some(("c1".into(), Map::from_iter([("Hostname".to_string(), json!("box"))]))),
            tag: Some(Reference::parse("made:v1").unwrap()),
        };
        let id = record_image(&mut s, &rec).unwrap();
        let img = resolve(&s, "made:v1").unwrap();
        assert_eq!(img.id, id);
        assert_eq!(img.diff_ids(), vec![parent.layers[0].diff_id.clone(), layer.diff_id.clone()]);
        assert_eq!(std::fs::read(img.lower_dirs[0].join("app/run")).unwrap(), b"#!/bin/sh\n");
        let raw: Value = serde_json::from_slice(&img.config_raw).unwrap();
        assert_eq!(raw["config"]["Cmd"], json!(["sh"]));
        assert_eq!(raw["config"]["Env"], json!(["A=1"]));
        assert_eq!(raw["author"], json!("me"));
        let keys: Vec<&str> = raw.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys[..5], ["architecture", "author", "config", "container", "container_config"]);
        assert_eq!((&raw["container"], &raw["container_config"]["Hostname"]), (&json!("c1"), &json!("box")));
        let h = raw["history"].as_array().unwrap();
        assert_eq!(h.len(), 2);
        assert_eq!((&h[1]["created_by"], &h[1]["comment"]), (&json!("make"), &json!("msg")));
        assert!(h[1].get("empty_layer").is_none());
        // A metadata-only step: no layer, an empty_layer history entry.
        let meta = ImageRecord { layer: None, tag: None, parent: Some(&img), ..rec.clone() };
        let id2 = record_image(&mut s, &meta).unwrap();
        let img2 = crate::image::load(&s, &id2).unwrap();
        assert_eq!(img2.layers.len(), 2);
        let raw2: Value = serde_json::from_slice(&img2.config_raw).unwrap();
        assert_eq!(raw2["history"][2]["empty_layer"], json!(true));
    }

    #[test]
    fn empty_dir_makes_no_layer_and_leaves_nothing() {
        let d = tempfile::tempdir().unwrap();
        let mut s = Store::open(&d.path().join("root")).unwrap();
        let tree = d.path().join("tree");
        std::fs::create_dir_all(&tree).unwrap();
        let blobs = s.content.list().unwrap().len();
        assert!(layer_from_dir(&mut s, &[], &tree, &PackOptions::default()).unwrap().is_none());
        assert_eq!(s.content.list().unwrap().len(), blobs);
        assert!(s.snapshots.dir_names().unwrap().is_empty());
        assert_eq!(std::fs::read_dir(d.path().join("root/content/ingest")).unwrap().count(), 0);
        let missing = layer_from_dir(&mut s, &[], &d.path().join("nope"), &PackOptions::default());
        assert!(missing.is_err());
        assert!(s.snapshots.dir_names().unwrap().is_empty());
    }
}
