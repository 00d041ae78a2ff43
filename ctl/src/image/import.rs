//! `import`: a root file-system tarball (plain, gzip or zstd, sniffed as
//! docker does) becomes a one-layer image. The stream is stored as the layer
//! blob and unpacked in the same pass; the config is docker's for an import
//! (`Imported from -`, `--change` instructions applied), and an OCI manifest
//! is stored beside it so the image can be pushed or saved like a pulled one.

use std::io::{BufRead, BufReader, Read};

use serde_json::{Value, json};

use super::change::apply_changes;
use super::layer::{self, Compression};
use super::{ImageError, Layer, NewImage, Store, add};
use crate::reference::{Digest, Reference};
use crate::snapshot::Finished;

pub(crate) const CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";
pub(crate) const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";

#[derive(Debug, Default, Clone)]
pub(crate) struct ImportOptions {
    /// `-m`: replaces docker's "Imported from -" comment.
    pub message: Option<String>,
    /// `-c`: Dockerfile instructions applied to the config.
    pub changes: Vec<String>,
    /// `--platform os/arch[/variant]`; default the host's.
    pub platform: Option<String>,
    pub tag: Option<Reference>,
}

/// Import `src` and return the new image's id.
pub(crate) fn import(store: &mut Store, src: impl Read + Send, opts: &ImportOptions) -> Result<Digest, ImageError> {
    let (os, arch, variant) = platform(opts.platform.as_deref())?;
    let mut config_section = serde_json::Map::new();
    apply_changes(&mut config_section, &opts.changes)?;
    store.recover()?;
    let mut src = BufReader::with_capacity(64 * 1024, src);
    let head = src.fill_buf().map_err(|source| ImageError::Io { op: "read", path: "-".into(), source })?;
    let compression = Compression::sniff(head);
    let pending =
        store.snapshots.prepare(&mut store.db, 1)?.pop().ok_or_else(|| ImageError::Invalid("no snapshot".into()))?;
    let ingest = store.content.ingest(None, None)?;
    let applied = layer::apply(src, compression, layer::BlobSink::Ingest(ingest), pending.fs(), None)?;
    let finished = Finished { chain_id: applied.diff_id.clone(), diff_id: applied.diff_id.clone(), size: applied.size };
    let snapshot = store.snapshots.commit(&mut store.db, vec![(pending, finished)])?[0];

    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let comment = opts.message.clone().unwrap_or_else(|| "Imported from -".to_string());
    let mut config = json!({
        "architecture": arch,
        "os": os,
        "created": now,
        "comment": comment,
        "config": Value::Object(config_section),
        "rootfs": {"type": "layers", "diff_ids": [applied.diff_id.as_str()]},
        "history": [{"created": now, "comment": comment}],
    });
    if let Some(v) = variant {
        config["variant"] = json!(v);
    }
    let config_bytes = serde_json::to_vec(&config).map_err(|e| ImageError::Invalid(format!("encode config: {e}")))?;
    let id = store.content.put(&config_bytes)?;
    let media_type = compression.oci_media_type().to_string();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": {"mediaType": CONFIG_MEDIA_TYPE, "digest": id.as_str(), "size": config_bytes.len()},
        "layers": [{"mediaType": media_type, "digest": applied.blob.as_str(), "size": applied.blob_size}],
    });
    let manifest_bytes =
        serde_json::to_vec(&manifest).map_err(|e| ImageError::Invalid(format!("encode manifest: {e}")))?;
    let manifest_digest = store.content.put(&manifest_bytes)?;
    add(
        store,
        &NewImage {
            id: id.clone(),
            created: Some(now),
            manifest: Some((manifest_digest, MANIFEST_MEDIA_TYPE.to_string())),
            layers: vec![Layer {
                diff_id: applied.diff_id,
                blob: applied.blob,
                media_type,
                blob_size: applied.blob_size,
                snapshot,
                size: applied.size,
            }],
            tag: opts.tag.clone(),
            repo_digest: None,
        },
    )?;
    Ok(id)
}

/// `os/arch[/variant]`, default the host's.
pub(crate) fn platform(p: Option<&str>) -> Result<(String, String, Option<String>), ImageError> {
    let Some(p) = p else { return Ok(("linux".into(), crate::platform_arch().into(), None)) };
    let parts: Vec<&str> = p.split('/').collect();
    match parts.as_slice() {
        [os, arch] if !os.is_empty() && !arch.is_empty() => Ok((os.to_string(), arch.to_string(), None)),
        [os, arch, v] if !os.is_empty() && !arch.is_empty() && !v.is_empty() => {
            Ok((os.to_string(), arch.to_string(), Some(v.to_string())))
        }
        [arch] if !arch.is_empty() && !arch.contains('/') => Ok(("linux".into(), arch.to_string(), None)),
        _ => Err(ImageError::Invalid(format!("invalid platform {p:?}: want os/arch[/variant]"))),
    }
}
