//! `pull`: resolve the reference to one image manifest, fetch the config,
//! then run one job per layer (`fetch.rs`) — at most three downloads at once,
//! as docker's default — and commit the snapshots and the image record once
//! every layer has been checked. An image already stored is only re-tagged.

use std::sync::Arc;

use futures_util::future::try_join_all;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use tokio::sync::Semaphore;

use super::manifest::{self, Descriptor, Parsed};
use super::{RegistryError, auth, fetch};
use crate::image::layer::Compression;
use crate::image::{GcLock, Layer, NewImage, Store};
use crate::progress::Progress;
use crate::reference::{Digest, Reference};
use crate::snapshot::{self, Finished};

/// docker's default `max-concurrent-downloads`.
const PARALLEL_DOWNLOADS: usize = 3;
/// Manifests and configs are read whole; refuse anything this large.
const MAX_DOCUMENT: u64 = 8 << 20;

#[derive(Debug, Default, Clone)]
pub(crate) struct PullOptions {
    /// `--platform os/arch[/variant]`
    pub platform: Option<String>,
    /// Where registry credentials are (`Config::auth_file`).
    pub auth_file: std::path::PathBuf,
}

/// What a pull did.
#[derive(Debug, Clone)]
pub(crate) struct Pulled {
    pub reference: Reference,
    pub id: Digest,
    /// The digest the reference resolved to (an index's when there was one).
    pub digest: Digest,
    /// False when the image was already stored.
    pub downloaded: bool,
}

/// The registry side of one pull: client, reference, credentials, and the
/// names every error carries.
pub(super) struct Remote {
    pub client: oci_client::Client,
    pub reference: oci_client::Reference,
    auth: RegistryAuth,
    registry: String,
    image: String,
    /// Anonymous manifest requests without oci-client's `GET /v2/` ping
    /// (`direct_manifest`); None when there are credentials or the registry
    /// is known to want a token.
    direct: Option<Direct>,
}

/// A plain HTTP client for anonymous manifest requests.
struct Direct {
    http: reqwest::Client,
    scheme: &'static str,
}

impl Remote {
    fn new(r: &Reference, auth_file: &std::path::Path) -> Remote {
        // reqwest is built without a default crypto provider: install ring's
        // (an Err means one is installed already).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let protocol = if is_loopback(&r.domain) {
            ClientProtocol::HttpsExcept(vec![r.domain.clone()])
        } else {
            ClientProtocol::Https
        };
        let config = ClientConfig {
            protocol,
            read_timeout: Some(read_timeout()),
            connect_timeout: Some(std::time::Duration::from_secs(30)),
            ..Default::default()
        };
        let reference = match &r.digest {
            Some(d) => oci_client::Reference::with_digest(r.domain.clone(), r.path.clone(), d.to_string()),
            None => oci_client::Reference::with_tag(r.domain.clone(), r.path.clone(), r.tag_or_digest()),
        };
        let auth = auth::credentials(auth_file, &r.domain);
        let direct = direct_client(&r.domain, &auth);
        Remote {
            client: oci_client::Client::new(config),
            reference,
            auth,
            registry: r.domain.clone(),
            image: r.to_string(),
            direct,
        }
    }

    pub(super) fn fail(&self, what: &str, e: impl Into<super::BoxError>) -> RegistryError {
        RegistryError::Remote {
            registry: self.registry.clone(),
            image: self.image.clone(),
            what: what.into(),
            source: e.into(),
        }
    }

    fn invalid(&self, what: String) -> RegistryError {
        RegistryError::Invalid { registry: self.registry.clone(), image: self.image.clone(), what }
    }

    /// A manifest by tag or digest, checked against the digest when there is one.
    async fn manifest(
        &self,
        reference: &oci_client::Reference,
        expected: Option<&Digest>,
        store: &Store,
    ) -> Result<(Vec<u8>, Digest), RegistryError> {
        let what = format!("manifest {}", reference.digest().or(reference.tag()).unwrap_or("latest"));
        let bytes = match self.direct_manifest(reference, store).await {
            Some(bytes) => bytes,
            None => {
                let (bytes, _) = self
                    .client
                    .pull_manifest_raw(reference, &self.auth, manifest::ACCEPT)
                    .await
                    .map_err(|e| self.fail(&what, e))?;
                bytes.to_vec()
            }
        };
        let digest = Digest::of(&bytes);
        if let Some(e) = expected
            && e != &digest
        {
            return Err(self.invalid(format!("{what}: digest mismatch (got {digest})")));
        }
        Ok((bytes, digest))
    }

    /// The manifest without oci-client's `GET /v2/` ping (one round trip per
    /// request on an anonymous registry): a HEAD, and the stored copy when
    /// the store holds the digest it names (a second pull asks nothing
    /// more); else a GET. None — the caller goes through oci-client, with
    /// its token flow and its error messages — on 401 or any other failure.
    async fn direct_manifest(&self, reference: &oci_client::Reference, store: &Store) -> Option<Vec<u8>> {
        let d = self.direct.as_ref()?;
        let tag_or_digest = reference.digest().or(reference.tag()).unwrap_or("latest");
        let url = format!(
            "{}://{}/v2/{}/manifests/{tag_or_digest}",
            d.scheme,
            reference.resolve_registry(),
            reference.repository()
        );
        let accept = manifest::ACCEPT.join(", ");
        let head = d.http.head(&url).header(reqwest::header::ACCEPT, &accept).send().await.ok()?;
        if !head.status().is_success() {
            tracing::debug!(url, status = %head.status(), "manifest HEAD: going through the token flow");
            return None;
        }
        let named = head
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<Digest>().ok());
        if let Some(digest) = named
            && store.content.has(&digest)
            && let Ok(bytes) = store.content.read(&digest)
            && Digest::of(&bytes) == digest
        {
            return Some(bytes);
        }
        let res = d.http.get(&url).header(reqwest::header::ACCEPT, &accept).send().await.ok()?;
        if !res.status().is_success() || res.content_length().is_some_and(|n| n > MAX_DOCUMENT) {
            return None;
        }
        let bytes = res.bytes().await.ok()?;
        (bytes.len() as u64 <= MAX_DOCUMENT).then(|| bytes.to_vec())
    }

    /// A small blob (the config) whole, checked.
    async fn small_blob(&self, d: &Descriptor) -> Result<Vec<u8>, RegistryError> {
        let what = format!("config {}", d.digest);
        if d.size > MAX_DOCUMENT {
            return Err(self.invalid(format!("{what}: {} bytes is too large for a config", d.size)));
        }
        let mut out = Vec::with_capacity(d.size as usize);
        self.client.pull_blob(&self.reference, d.digest.as_str(), &mut out).await.map_err(|e| self.fail(&what, e))?;
        if Digest::of(&out).as_str() != d.digest {
            return Err(self.invalid(format!("{what}: digest mismatch (got {})", Digest::of(&out))));
        }
        Ok(out)
    }
}

/// How long a registry may send nothing before the request fails: 60 s, or
/// `BERTH_REGISTRY_READ_TIMEOUT` seconds (tests of a stalled registry).
fn read_timeout() -> std::time::Duration {
    let secs = std::env::var("BERTH_REGISTRY_READ_TIMEOUT").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    std::time::Duration::from_secs(secs)
}

/// The client for anonymous manifest requests: none with credentials (the
/// token flow needs oci-client's ping) or for Docker Hub, which always wants
/// a token.
fn direct_client(domain: &str, auth: &RegistryAuth) -> Option<Direct> {
    if !matches!(auth, RegistryAuth::Anonymous) || domain == crate::reference::DOCKER_HUB {
        return None;
    }
    let http = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(30))
        .read_timeout(read_timeout())
        .build()
        .ok()?;
    Some(Direct { http, scheme: if is_loopback(domain) { "http" } else { "https" } })
}

/// docker talks plain HTTP to registries on loopback.
pub(super) fn is_loopback(domain: &str) -> bool {
    let host = match domain.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => domain,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Pull `name` into the store.
pub(crate) fn pull(
    store: &mut Store,
    name: &str,
    opts: &PullOptions,
    progress: &Progress,
) -> Result<Pulled, RegistryError> {
    let r = Reference::parse(name)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(RegistryError::Runtime)?;
    let _writer = store.gc_lock(GcLock::Writer)?;
    store.recover()?;
    rt.block_on(run(store, r, opts, progress))
}

/// The tags of `name`'s repository, in the registry's order (`pull
/// --all-tags`).
pub(crate) fn tags(name: &str, opts: &PullOptions) -> Result<Vec<String>, RegistryError> {
    let r = Reference::parse(name)?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(RegistryError::Runtime)?;
    let remote = Remote::new(&r, &opts.auth_file);
    rt.block_on(async {
        let listed = remote
            .client
            .list_tags(&remote.reference, &remote.auth, None, None)
            .await
            .map_err(|e| remote.fail("list tags", e))?;
        Ok(listed.tags)
    })
}

/// The image manifest to pull, with the digest the reference resolved to.
struct Resolved {
    top_digest: Digest,
    manifest: Vec<u8>,
    manifest_digest: Digest,
    media_type: String,
    config: Descriptor,
    layers: Vec<Descriptor>,
}

async fn resolve(remote: &Remote, r: &Reference, opts: &PullOptions, store: &Store) -> Result<Resolved, RegistryError> {
    let (top, top_digest) = remote.manifest(&remote.reference, r.digest.as_ref(), store).await?;
    let (manifest, manifest_digest, parsed) = match manifest::parse(&top).map_err(|e| remote.invalid(e))? {
        Parsed::Index(entries) => {
            let want = manifest::wanted_platform(opts.platform.as_deref()).map_err(|e| remote.invalid(e))?;
            let entry = manifest::choose(&entries, &want).map_err(|e| remote.invalid(e))?;
            let d: Digest = entry.digest.parse().map_err(|e| remote.fail("index entry", e))?;
            let by_digest = oci_client::Reference::with_digest(r.domain.clone(), r.path.clone(), d.to_string());
            let (bytes, digest) = remote.manifest(&by_digest, Some(&d), store).await?;
            store.content.put(&top).map_err(|e| remote.fail("store index", e))?;
            let parsed = manifest::parse(&bytes).map_err(|e| remote.invalid(e))?;
            (bytes, digest, parsed)
        }
        image => (top.clone(), top_digest.clone(), image),
    };
    match parsed {
        Parsed::Image { media_type, config, layers } => {
            Ok(Resolved { top_digest, manifest, manifest_digest, media_type, config, layers })
        }
        Parsed::Index(_) => Err(remote.invalid(format!("manifest {manifest_digest}: an index inside an index"))),
    }
}

async fn run(
    store: &mut Store,
    r: Reference,
    opts: &PullOptions,
    progress: &Progress,
) -> Result<Pulled, RegistryError> {
    let remote = Arc::new(Remote::new(&r, &opts.auth_file));
    // docker names the repository by its path: "latest: Pulling from library/busybox".
    progress.message(&format!("{}: Pulling from {}", r.tag_or_digest(), r.path));
    let m = resolve(&remote, &r, opts, store).await?;
    if let Some(f) = m.layers.iter().find(|d| manifest::is_foreign(d)) {
        return Err(remote.invalid(format!(
            "blob {}: foreign layer ({}) to be fetched from {:?}: berthctl does not pull non-distributable layers",
            f.digest,
            f.media_type,
            f.urls.as_deref().unwrap_or_default()
        )));
    }
    let config_digest: Digest = m.config.digest.parse().map_err(|e| remote.fail("config descriptor", e))?;
    if !store.content.has(&config_digest) {
        let bytes = remote.small_blob(&m.config).await?;
        store.content.put(&bytes).map_err(|e| remote.fail("store config", e))?;
    }
    let config_raw = store.content.read(&config_digest).map_err(|e| remote.fail("read config", e))?;
    let config: oci_spec::image::ImageConfiguration = serde_json::from_slice(&config_raw)
        .map_err(|e| remote.invalid(format!("config {config_digest}: not a valid image config: {e}")))?;
    let diff_ids: Vec<Digest> = config
        .rootfs()
        .diff_ids()
        .iter()
        .map(|d| d.parse())
        .collect::<Result<_, _>>()
        .map_err(|e| remote.fail(&format!("config {config_digest}: diff id"), e))?;
    if diff_ids.len() != m.layers.len() {
        return Err(remote.invalid(format!(
            "manifest {}: {} layers but the config lists {} diff ids",
            m.manifest_digest,
            m.layers.len(),
            diff_ids.len()
        )));
    }
    store.content.put(&m.manifest).map_err(|e| remote.fail("store manifest", e))?;
    crate::testhook::fault("pull:manifest");
    let (downloaded, layers) = fetch_layers(store, &remote, &m.layers, &diff_ids, progress).await?;
    crate::image::add(
        store,
        &NewImage {
            id: config_digest.clone(),
            created: config.created().clone(),
            manifest: Some((m.manifest_digest.clone(), m.media_type.clone())),
            layers,
            tag: r.tag.is_some().then(|| r.clone()),
            // docker records the digest the reference resolved to (the index's).
            repo_digest: Some((r.clone(), m.top_digest.clone())),
        },
    )?;
    Ok(Pulled { reference: r, id: config_digest, digest: m.top_digest, downloaded })
}

/// One layer of the manifest and what the store already has of it.
struct Planned<'a> {
    desc: &'a Descriptor,
    blob: Digest,
    compression: Compression,
    chain_id: Digest,
    diff_id: Digest,
    /// A complete snapshot of this chain, usable as is (its blob is stored too).
    existing: Option<(snapshot::SnapshotId, u64)>,
    have_blob: bool,
}

fn plan<'a>(
    store: &Store,
    remote: &Remote,
    descs: &'a [Descriptor],
    diff_ids: &[Digest],
) -> Result<Vec<Planned<'a>>, RegistryError> {
    let mut chain: Option<Digest> = None;
    let mut out = Vec::with_capacity(descs.len());
    for (desc, diff_id) in descs.iter().zip(diff_ids) {
        let chain_id = snapshot::chain_id(chain.as_ref(), diff_id);
        let blob: Digest = desc.digest.parse().map_err(|e| remote.fail("layer descriptor", e))?;
        let compression = Compression::from_media_type(&desc.media_type).ok_or_else(|| {
            remote.invalid(format!("blob {blob}: unsupported layer media type {:?}", desc.media_type))
        })?;
        let have_blob = store.content.has(&blob);
        let existing =
            match store.snapshots.lookup(&store.db, &chain_id).map_err(|e| remote.fail("snapshot lookup", e))? {
                Some(id) if have_blob => {
                    Some((id, store.snapshots.size(&store.db, id).map_err(|e| remote.fail("snapshot size", e))?))
                }
                _ => None,
            };
        chain = Some(chain_id.clone());
        out.push(Planned { desc, blob, compression, chain_id, diff_id: diff_id.clone(), existing, have_blob });
    }
    Ok(out)
}

/// Reuse complete snapshots, fetch (or re-apply) the rest in parallel, and
/// commit them. Returns whether anything was fetched and the image's layers.
async fn fetch_layers(
    store: &mut Store,
    remote: &Arc<Remote>,
    descs: &[Descriptor],
    diff_ids: &[Digest],
    progress: &Progress,
) -> Result<(bool, Vec<Layer>), RegistryError> {
    let plan = plan(store, remote, descs, diff_ids)?;
    let todo: Vec<&Planned<'_>> = plan.iter().filter(|p| p.existing.is_none()).collect();
    let pendings =
        store.snapshots.prepare(&mut store.db, todo.len()).map_err(|e| remote.fail("prepare snapshots", e))?;
    for p in plan.iter().filter(|p| p.existing.is_some()) {
        progress.layer(p.blob.short(), "Already exists").finish("Already exists");
    }
    let downloads = Arc::new(Semaphore::new(PARALLEL_DOWNLOADS));
    let jobs = todo.iter().zip(pendings).map(|(p, pending)| {
        let job = fetch::Job {
            blob: p.blob.clone(),
            size: p.desc.size,
            compression: p.compression,
            diff_id: p.diff_id.clone(),
            pending,
            line: progress.layer(p.blob.short(), "Waiting"),
            local: p.have_blob,
        };
        fetch::run(remote.clone(), store.content.clone(), downloads.clone(), job)
    });
    let done = try_join_all(jobs).await?;
    crate::testhook::fault("pull:blobs");
    let sizes: Vec<u64> = done.iter().map(|(_, a)| a.size).collect();
    let finished = todo
        .iter()
        .zip(done)
        .map(|(p, (pending, a))| {
            (pending, Finished { chain_id: p.chain_id.clone(), diff_id: p.diff_id.clone(), size: a.size })
        })
        .collect();
    let ids = store.snapshots.commit(&mut store.db, finished).map_err(|e| remote.fail("commit snapshots", e))?;
    crate::testhook::fault("pull:snapshots");
    let mut fresh = ids.into_iter().zip(sizes);
    let mut layers = Vec::with_capacity(plan.len());
    for p in &plan {
        let (snapshot, size) = match p.existing {
            Some(e) => e,
            None => fresh.next().ok_or_else(|| remote.invalid("a layer's snapshot went missing".into()))?,
        };
        layers.push(Layer {
            diff_id: p.diff_id.clone(),
            blob: p.blob.clone(),
            media_type: p.desc.media_type.clone(),
            blob_size: p.desc.size,
            snapshot,
            size,
        });
    }
    Ok((!todo.is_empty(), layers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_registries_are_plain_http() {
        for l in ["127.0.0.1:5000", "127.1.2.3", "localhost:5000", "localhost", "[::1]:5000"] {
            assert!(is_loopback(l), "{l}");
        }
        for r in ["docker.io", "10.0.0.1:5000", "registry.local:5000"] {
            assert!(!is_loopback(r), "{r}");
        }
    }
}
