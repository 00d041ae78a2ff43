//! One layer: stream the blob from the registry through a bounded channel
//! into a blocking thread that stores, decompresses, checks and unpacks it in
//! one pass (`image::layer::apply`, which unpacks on a second thread), or
//! re-apply a blob already stored (a pull killed after the blob was committed
//! but before its snapshot was). The channels hold a few chunks at most, so
//! memory does not grow with the layer.

use std::io::{self, Read};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::{Semaphore, mpsc};

use super::RegistryError;
use super::pull::Remote;
use crate::content::ContentStore;
use crate::image::layer::{self, Applied, BlobSink, Compression};
use crate::progress::Line;
use crate::reference::Digest;
use crate::snapshot::Pending;

/// Chunks in flight between the network and the unpacker.
const CHANNEL_CHUNKS: usize = 16;

pub(super) struct Job {
    pub blob: Digest,
    pub size: u64,
    pub compression: Compression,
    pub diff_id: Digest,
    pub pending: Pending,
    pub line: Line,
    /// The blob is already in the content store.
    pub local: bool,
}

/// Run one job; returns its snapshot (still pending) and what was applied.
pub(super) async fn run(
    remote: Arc<Remote>,
    content: ContentStore,
    downloads: Arc<Semaphore>,
    job: Job,
) -> Result<(Pending, Applied), RegistryError> {
    let Job { blob, size, compression, diff_id, pending, line, local } = job;
    let what = format!("blob {blob}");
    if local {
        line.status("Extracting");
        let src = content.open_blob(&blob).map_err(|e| remote.fail(&what, e))?;
        let (pending, r) = tokio::task::spawn_blocking(move || {
            let r = layer::apply(src, compression, BlobSink::Verify(blob), pending.fs(), Some(&diff_id));
            (pending, r)
        })
        .await
        .map_err(|e| remote.fail(&what, e))?;
        let applied = r.map_err(|e| remote.fail(&what, e))?;
        line.finish("Pull complete");
        return Ok((pending, applied));
    }
    let permit = downloads.acquire_owned().await.map_err(|e| remote.fail(&what, e))?;
    line.status("Pulling fs layer");
    let ingest = content.ingest(Some(blob.clone()), Some(size)).map_err(|e| remote.fail(&what, e))?;
    let stream =
        remote.client.pull_blob_stream(&remote.reference, blob.as_str()).await.map_err(|e| remote.fail(&what, e))?;
    line.downloading(size);
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(CHANNEL_CHUNKS);
    let unpack_line = line.clone();
    let unpacker = tokio::task::spawn_blocking(move || {
        let reader = ChannelReader { rx, current: Bytes::new() };
        let r = layer::apply(reader, compression, BlobSink::Ingest(ingest), pending.fs(), Some(&diff_id));
        drop(unpack_line);
        (pending, r)
    });
    let mut chunks = stream.stream;
    let mut received = 0u64;
    while let Some(chunk) = chunks.next().await {
        let failed = chunk.is_err();
        if let Ok(c) = &chunk {
            line.advance(c.len() as u64);
            received += c.len() as u64;
            if received * 2 >= size {
                crate::testhook::fault("pull:layer");
            }
        }
        // A closed channel means the unpacker stopped; its error is the one reported.
        if tx.send(chunk).await.is_err() || failed {
            break;
        }
    }
    drop(tx);
    drop(permit);
    line.status("Extracting");
    let (pending, r) = unpacker.await.map_err(|e| remote.fail(&what, e))?;
    let applied = r.map_err(|e| remote.fail(&what, e))?;
    line.finish("Pull complete");
    Ok((pending, applied))
}

/// The receiving end as a `Read`: an error sent by the network side is
/// returned as the read error; a closed channel is the end of the blob.
struct ChannelReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}
