//! `push`: upload what the registry lacks, as docker does. For each layer
//! (top first) a HEAD on the blob in the target repository (`Layer already
//! exists`); else a cross-repository mount from a repository of the same
//! registry this store knows holds it (`Mounted from <repo>`); else an
//! upload streamed from the content store (`Pushing`, `Pushed`). Then the
//! config and the manifest: the stored one when it still describes these
//! blobs (its digest is kept), else an OCI manifest made from them. The
//! pushed `repository@digest` is recorded as a RepoDigest of the image.

use std::io::Read;
use std::path::PathBuf;

use futures_util::stream;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, RegistryOperation};
use serde_json::json;

use super::manifest::OCI_MANIFEST;
use super::{RegistryError, auth};
use crate::db::params;
use crate::image::{self, Image, Store};
use crate::progress::{Line, Progress};
use crate::reference::{Digest, Reference};

/// Chunk size of a streamed upload.
const CHUNK: usize = 1 << 20;
/// Mount sources tried per layer before uploading it.
const MAX_MOUNT_SOURCES: usize = 3;

#[derive(Debug, Default, Clone)]
pub(crate) struct PushOptions {
    /// Where registry credentials are (`Config::auth_file`).
    pub auth_file: PathBuf,
    /// Do not print "The push refers to repository […]" (`push --all-tags`
    /// prints it once for all its tags).
    pub no_header: bool,
}

/// What a push did.
#[derive(Debug, Clone)]
pub(crate) struct Pushed {
    pub reference: Reference,
    pub digest: Digest,
    pub size: usize,
}

/// The target of one push: client, reference and the names errors carry.
struct Target {
    client: Client,
    reference: oci_client::Reference,
    auth: RegistryAuth,
    r: Reference,
}

impl Target {
    fn fail(&self, what: &str, e: impl Into<super::BoxError>) -> RegistryError {
        RegistryError::Remote {
            registry: self.r.domain.clone(),
            image: self.r.to_string(),
            what: what.into(),
            source: e.into(),
        }
    }
}

/// Push the local image `name` to the registry its reference names.
pub(crate) fn push(
    store: &mut Store,
    name: &str,
    opts: &PushOptions,
    progress: &Progress,
) -> Result<Pushed, RegistryError> {
    let r = Reference::parse(name)?;
    let _writer = store.gc_lock(image::GcLock::Writer)?;
    let img = image::resolve(store, name)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(RegistryError::Runtime)?;
    // docker names the repository in full here: "[docker.io/library/busybox]".
    if !opts.no_header {
        progress.message(&format!("The push refers to repository [{}]", r.repository()));
    }
    let target = target(&r, opts);
    let pushed = rt.block_on(run(store, &target, &img, progress))?;
    record_repo_digest(store, &r, &pushed.digest, &img.id)?;
    Ok(pushed)
}

fn target(r: &Reference, opts: &PushOptions) -> Target {
    // reqwest is built without a default crypto provider: install ring's
    // (an Err means one is installed already).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let protocol = if super::pull::is_loopback(&r.domain) {
        ClientProtocol::HttpsExcept(vec![r.domain.clone()])
    } else {
        ClientProtocol::Https
    };
    // One PUT per blob: the registry gets the whole body in one request.
    let config = ClientConfig { protocol, use_monolithic_push: true, ..Default::default() };
    Target {
        client: Client::new(config),
        reference: oci_client::Reference::with_tag(r.domain.clone(), r.path.clone(), r.tag_or_digest()),
        auth: auth::credentials(&opts.auth_file, &r.domain),
        r: r.clone(),
    }
}

async fn run(store: &Store, t: &Target, img: &Image, progress: &Progress) -> Result<Pushed, RegistryError> {
    t.client.store_auth_if_needed(t.reference.resolve_registry(), &t.auth).await;
    t.client.auth(&t.reference, &t.auth, RegistryOperation::Push).await.map_err(|e| t.fail("authenticate", e))?;
    let lines: Vec<Line> =
        img.layers.iter().rev().map(|l| progress.layer(&l.diff_id.hex()[..12], "Preparing")).collect();
    for (layer, line) in img.layers.iter().rev().zip(&lines) {
        let sources = mount_sources(store, &t.r, &layer.blob)?;
        push_blob(store, t, &layer.blob, layer.blob_size, &sources, line).await?;
    }
    let config_what = format!("config {}", img.id);
    if !t.client.blob_exists(&t.reference, img.id.as_str()).await.map_err(|e| t.fail(&config_what, e))? {
        t.client
            .push_blob(&t.reference, img.config_raw.clone(), img.id.as_str())
            .await
            .map_err(|e| t.fail(&config_what, e))?;
    }
    let (manifest, media_type) = manifest_for(store, img)?;
    let digest = Digest::of(&manifest);
    let content_type = media_type.parse().map_err(|e| t.fail("manifest content type", format!("{e}")))?;
    let size = manifest.len();
    t.client
        .push_manifest_raw(&t.reference, manifest, content_type)
        .await
        .map_err(|e| t.fail(&format!("manifest {digest}"), e))?;
    progress.message(&format!("{}: digest: {digest} size: {size}", t.r.tag_or_digest()));
    Ok(Pushed { reference: t.r.clone(), digest, size })
}

/// One blob: present, mounted, or uploaded, with docker's words.
async fn push_blob(
    store: &Store,
    t: &Target,
    blob: &Digest,
    size: u64,
    sources: &[Reference],
    line: &Line,
) -> Result<(), RegistryError> {
    let what = format!("layer {blob}");
    if t.client.blob_exists(&t.reference, blob.as_str()).await.map_err(|e| t.fail(&what, e))? {
        line.finish("Layer already exists");
        return Ok(());
    }
    for src in sources {
        let from = oci_client::Reference::with_tag(src.domain.clone(), src.path.clone(), "latest".into());
        // A registry that does not mount answers 202 with an upload: we
        // upload then, as docker does.
        if t.client.mount_blob(&t.reference, &from, blob.as_str()).await.is_ok() {
            line.finish(&format!("Mounted from {}", src.path));
            return Ok(());
        }
    }
    let file = store.content.open_blob(blob).map_err(|e| t.fail(&what, e))?;
    line.transferring("Pushing", size);
    let progress = line.clone();
    let chunks = stream::unfold(file, move |mut f| {
        let progress = progress.clone();
        async move {
            let mut buf = vec![0u8; CHUNK];
            match f.read(&mut buf) {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    progress.advance(n as u64);
                    Some((Ok(bytes::Bytes::from(buf)), f))
                }
                Err(e) => Some((Err(oci_client::errors::OciDistributionError::IoError(e)), f)),
            }
        }
    });
    t.client.push_blob_stream(&t.reference, chunks, blob.as_str(), Some(size)).await.map_err(|e| t.fail(&what, e))?;
    line.finish("Pushed");
    Ok(())
}

/// Repositories of the same registry that this store's tags and repo
/// digests say hold `blob` (other than the target itself).
fn mount_sources(store: &Store, target: &Reference, blob: &Digest) -> Result<Vec<Reference>, RegistryError> {
    let conn = store.db.conn();
    let mut st = conn
        .prepare(
            "SELECT t.name FROM tags t JOIN image_layers l ON l.image_id = t.image_id WHERE l.blob_digest = ?1
             UNION SELECT d.name FROM repo_digests d JOIN image_layers l ON l.image_id = d.image_id WHERE l.blob_digest = ?1",
        )
        .map_err(|e| RegistryError::Image(store.db.err(e).into()))?;
    let names: Vec<String> = st
        .query_map([blob.as_str()], |r| r.get(0))
        .and_then(Iterator::collect)
        .map_err(|e| RegistryError::Image(store.db.err(e).into()))?;
    let mut out: Vec<Reference> = Vec::new();
    for n in names {
        if let Ok(r) = Reference::parse(&n)
            && r.domain == target.domain
            && r.path != target.path
            && !out.iter().any(|o| o.path == r.path)
        {
            out.push(r);
        }
    }
    out.truncate(MAX_MOUNT_SOURCES);
    Ok(out)
}

/// The manifest to push and its media type: the stored one if it lists
/// exactly this image's config and layer blobs, else a new OCI manifest.
fn manifest_for(store: &Store, img: &Image) -> Result<(Vec<u8>, String), RegistryError> {
    if let Some((d, mt)) = &img.manifest
        && let Ok(bytes) = store.content.read(d)
        && let Ok(doc) = serde_json::from_slice::<serde_json::Value>(&bytes)
    {
        let layers: Vec<&str> =
            doc["layers"].as_array().into_iter().flatten().filter_map(|l| l["digest"].as_str()).collect();
        let ours: Vec<&str> = img.layers.iter().map(|l| l.blob.as_str()).collect();
        if doc["config"]["digest"].as_str() == Some(img.id.as_str()) && layers == ours {
            return Ok((bytes, mt.clone()));
        }
    }
    let layers: Vec<_> = img
        .layers
        .iter()
        .map(|l| {
            let mt = crate::image::layer::Compression::from_media_type(&l.media_type)
                .unwrap_or(crate::image::layer::Compression::None)
                .oci_media_type();
            json!({"mediaType": mt, "digest": l.blob.as_str(), "size": l.blob_size})
        })
        .collect();
    let m = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": img.id.as_str(), "size": img.config_raw.len()},
        "layers": layers,
    });
    Ok((m.to_string().into_bytes(), OCI_MANIFEST.to_string()))
}

/// docker lists `repository@digest` under RepoDigests once pushed.
fn record_repo_digest(store: &mut Store, r: &Reference, digest: &Digest, id: &Digest) -> Result<(), RegistryError> {
    let name = format!("{}@{digest}", r.repository());
    let path = store.db.path().to_path_buf();
    store
        .db
        .write(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO repo_digests (name, image_id) VALUES (?1, ?2)",
                params![name, id.as_str()],
            )
            .map_err(|source| crate::db::DbError::Sql { path: path.clone(), source })
        })
        .map_err(|e| RegistryError::Image(e.into()))?;
    Ok(())
}
