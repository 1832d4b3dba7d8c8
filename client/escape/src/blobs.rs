//! Blobs from a chain of sources, each checked against its versioned hash before a byte of it is
//! used.
//!
//! Execution nodes do not serve blob contents, and beacon nodes prune them about 18 days after
//! their block, so a client that re-derives the state from blobs must be able to ask elsewhere,
//! and must not trust what it is given. A [`BlobReader`] tries, in order:
//!
//! 1. its own cache (the data directory's `blobs/`), where every blob it accepted is kept;
//! 2. the L1 node, where it serves blobs (anvil's `anvil_getBlobByHash` and
//!    `anvil_getBlobsByTransactionHash`);
//! 3. each beacon API given (`GET /eth/v1/beacon/blobs/{block}?versioned_hashes=…`, the block named
//!    by its beacon root when the next execution block carries one, else by its slot, else by the
//!    execution block's hash, which anvil's emulation of the API takes);
//! 4. each archive given: a directory, or an `http(s)://` base URL, holding `<versioned hash>.blob`
//!    files of the blob's 131,072 bytes, laid out as the cache is, so that anyone can serve theirs.
//!
//! A source that serves nothing, fails, or serves blobs none of which has the wanted versioned
//! hash (a wrong blob, another transaction's, a damaged file) is reported and the next is tried.
//! The versioned hash is recomputed here from the blob (its KZG commitment with Ethereum's trusted
//! setup, then `0x01 ‖ sha256(commitment)[1..]`), so whatever source served a blob, it is the one
//! L1 committed to.

use std::fmt;
use std::path::{Path, PathBuf};

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{B256, Bytes};
use alloy::providers::Provider;
use rollup_l1::blob::versioned_hash;

/// A blob to read: its versioned hash, the transaction that carried it and that transaction's block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wanted {
    /// The versioned hash L1 holds.
    pub versioned_hash: B256,
    /// The blob transaction.
    pub tx: B256,
    /// Its block number.
    pub block: u64,
}

/// Where blobs may come from, besides the cache and the L1 node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A beacon API's base URL.
    Beacon(String),
    /// A directory or an `http(s)://` base URL of `<versioned hash>.blob` files.
    Archive(String),
}

/// One source's part in a failed read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tried {
    /// The source.
    pub source: String,
    /// What it did.
    pub outcome: String,
}

impl fmt::Display for Tried {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source, self.outcome)
    }
}

/// No source served the blob.
#[derive(Debug, thiserror::Error)]
#[error(
    "no source served blob {} (transaction {}, block {}) with its versioned hash; tried {}. Blobs older than about 18 days are gone from beacon nodes: give a blob archive (--blob-archive) or start from a state snapshot (docs/escape.md)",
    .wanted.versioned_hash, .wanted.tx, .wanted.block, list(.tried)
)]
pub struct Unavailable {
    /// The blob.
    pub wanted: Wanted,
    /// Every source tried and what it did.
    pub tried: Vec<Tried>,
}

fn list(tried: &[Tried]) -> String {
    tried
        .iter()
        .map(Tried::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Reads blobs through a chain of sources (see the module's documentation).
#[derive(Debug, Clone)]
pub struct BlobReader {
    cache: Option<PathBuf>,
    node: bool,
    sources: Vec<Source>,
    http: reqwest::Client,
}

/// What one source gave: candidate blobs (none if it has nothing), or why it failed.
type Served = Result<Vec<Vec<u8>>, String>;

fn file_name(versioned_hash: &B256) -> String {
    format!("{versioned_hash}.blob")
}

impl BlobReader {
    /// Reads from `cache` (and keeps every accepted blob there), the L1 node if `node`, then
    /// `sources` in order.
    pub fn new(cache: Option<PathBuf>, node: bool, sources: Vec<Source>) -> BlobReader {
        BlobReader {
            cache,
            node,
            sources,
            http: reqwest::Client::new(),
        }
    }

    /// Whether it keeps the blobs it accepts (so that reading one ahead of need saves it).
    pub fn caches(&self) -> bool {
        self.cache.is_some()
    }

    /// The blob `wanted`, from the first source that serves it with its versioned hash.
    pub async fn blob<P: Provider>(&self, l1: &P, wanted: &Wanted) -> Result<Vec<u8>, Unavailable> {
        let mut tried = Vec::new();
        if let Some(dir) = &self.cache {
            let served = read_file(&dir.join(file_name(&wanted.versioned_hash)));
            if let Some(blob) = accept(
                &mut tried,
                format!("cache {}", dir.display()),
                served,
                wanted,
            ) {
                return Ok(blob);
            }
        }
        if self.node {
            let served = ask_node(l1, wanted).await;
            if let Some(blob) = accept(&mut tried, "the L1 node".into(), served, wanted) {
                return Ok(self.keep(wanted, blob));
            }
        }
        for source in &self.sources {
            let (name, served) = match source {
                Source::Beacon(url) => (
                    format!("beacon API {url}"),
                    self.ask_beacon(l1, url, wanted).await,
                ),
                Source::Archive(at) => {
                    (format!("archive {at}"), self.ask_archive(at, wanted).await)
                }
            };
            if let Some(blob) = accept(&mut tried, name, served, wanted) {
                return Ok(self.keep(wanted, blob));
            }
        }
        Err(Unavailable {
            wanted: *wanted,
            tried,
        })
    }

    /// Keeps an accepted blob in the cache. Best effort: a cache that cannot be written only makes
    /// the next read ask the sources again.
    fn keep(&self, wanted: &Wanted, blob: Vec<u8>) -> Vec<u8> {
        if let Some(dir) = &self.cache
            && std::fs::create_dir_all(dir).is_ok()
        {
            let _ = rollup_durable::write(&dir.join(file_name(&wanted.versioned_hash)), &blob);
        }
        blob
    }

    async fn ask_beacon<P: Provider>(&self, l1: &P, base: &str, wanted: &Wanted) -> Served {
        let base = base.trim_end_matches('/');
        let mut served = Vec::new();
        let mut failure = None;
        for id in self.beacon_block_ids(l1, base, wanted.block).await? {
            let url = format!(
                "{base}/eth/v1/beacon/blobs/{id}?versioned_hashes={}",
                wanted.versioned_hash
            );
            let body = match self.get(&url).await {
                Ok(Some(body)) => body,
                // Not there, or this way of naming the block not understood: the next way.
                Ok(None) => continue,
                Err(e) => {
                    failure = Some(e);
                    continue;
                }
            };
            // A malformed answer to one way of naming the block (a proxy's error page, say) is
            // that way's failure: the next way is still asked.
            let blobs = match beacon_blobs(&body) {
                Ok(blobs) => blobs,
                Err(e) => {
                    failure = Some(e);
                    continue;
                }
            };
            // An id may name another block (a slot number that a node reads as a block number):
            // take its blobs only if one is the wanted one, and ask by the next id otherwise.
            if let Some(found) = blobs
                .iter()
                .find(|b| versioned_hash(b).is_ok_and(|h| h == wanted.versioned_hash))
            {
                return Ok(vec![found.clone()]);
            }
            served.extend(blobs);
        }
        match failure {
            Some(e) if served.is_empty() => Err(e),
            _ => Ok(served),
        }
    }

    /// The ways to name the beacon block of execution block `block`, best first: its root (which
    /// the next execution block carries as `parentBeaconBlockRoot`), its slot (from the beacon
    /// genesis time), and the execution block's own hash (which a development node such as anvil,
    /// having no beacon chain, takes).
    async fn beacon_block_ids<P: Provider>(
        &self,
        l1: &P,
        base: &str,
        block: u64,
    ) -> Result<Vec<String>, String> {
        let header = |n: u64| async move {
            l1.get_block_by_number(BlockNumberOrTag::Number(n))
                .await
                .map_err(|e| format!("reading block {n} from L1: {e}"))
        };
        let mut ids = Vec::new();
        if let Some(next) = header(block + 1).await?
            && let Some(root) = next.header.parent_beacon_block_root
            && root != B256::ZERO
        {
            ids.push(root.to_string());
        }
        let this = header(block)
            .await?
            .ok_or_else(|| format!("L1 has no block {block}"))?;
        let genesis = self
            .get(&format!("{base}/eth/v1/beacon/genesis"))
            .await
            .ok()
            .flatten()
            .and_then(|g| serde_json::from_slice::<serde_json::Value>(&g).ok())
            .and_then(|g| g["data"]["genesis_time"].as_str()?.parse::<u64>().ok());
        if let Some(time) = genesis
            && let Some(since) = this.header.timestamp.checked_sub(time)
        {
            ids.push((since / SECONDS_PER_SLOT).to_string());
        }
        ids.push(this.header.hash.to_string());
        Ok(ids)
    }

    async fn ask_archive(&self, at: &str, wanted: &Wanted) -> Served {
        let name = file_name(&wanted.versioned_hash);
        if at.starts_with("http://") || at.starts_with("https://") {
            let url = format!("{}/{name}", at.trim_end_matches('/'));
            Ok(self.get(&url).await?.into_iter().collect())
        } else {
            read_file(&Path::new(at).join(name))
        }
    }

    /// The body of a GET, `None` for a 404; at most [`MAX_ANSWER_BYTES`].
    async fn get(&self, url: &str) -> Result<Option<Vec<u8>>, String> {
        get_limited(
            &self.http,
            url,
            MAX_ANSWER_BYTES,
            std::time::Duration::from_secs(60),
        )
        .await
    }
}

/// The largest answer read from a blob source: a beacon API's list of a block's blobs, as hex
/// (21 blobs of 128 KiB at the most, twice over as hex, and room).
pub const MAX_ANSWER_BYTES: u64 = 8 << 20;

/// The body of a GET of `url`, `None` for a 404; an error past `limit` bytes or `timeout`.
pub(crate) async fn get_limited(
    http: &reqwest::Client,
    url: &str,
    limit: u64,
    timeout: std::time::Duration,
) -> Result<Option<Vec<u8>>, String> {
    let mut response = http
        .get(url)
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if response.status() == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    response = response.error_for_status().map_err(|e| e.to_string())?;
    let too_large = || format!("an answer larger than {limit} bytes: refused");
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        body.extend_from_slice(&chunk);
        if body.len() as u64 > limit {
            return Err(too_large());
        }
    }
    Ok(Some(body))
}

/// Seconds per beacon slot.
const SECONDS_PER_SLOT: u64 = 12;

/// The blobs of a beacon node's `/eth/v1/beacon/blobs` answer: a `data` list of hex blobs (or of
/// objects with a `blob` field, as sidecar answers have).
fn beacon_blobs(body: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let json: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("an answer that is not JSON ({e})"))?;
    let items = json["data"]
        .as_array()
        .ok_or("an answer without a `data` list")?;
    items
        .iter()
        .map(|item| {
            let hex = item
                .as_str()
                .or_else(|| item["blob"].as_str())
                .ok_or("a `data` item that is not a blob")?;
            hex.parse::<Bytes>()
                .map(|b| b.to_vec())
                .map_err(|e| format!("a blob that is not hex ({e})"))
        })
        .collect()
}

fn read_file(path: &Path) -> Served {
    match std::fs::read(path) {
        Ok(b) => Ok(vec![b]),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

async fn ask_node<P: Provider>(l1: &P, wanted: &Wanted) -> Served {
    let by_hash: Result<Option<Bytes>, _> = l1
        .raw_request("anvil_getBlobByHash".into(), (wanted.versioned_hash,))
        .await;
    if let Ok(Some(blob)) = by_hash {
        return Ok(vec![blob.to_vec()]);
    }
    let by_tx: Option<Vec<Bytes>> = l1
        .raw_request("anvil_getBlobsByTransactionHash".into(), (wanted.tx,))
        .await
        .map_err(|e| format!("serves no blobs ({e})"))?;
    Ok(by_tx
        .unwrap_or_default()
        .into_iter()
        .map(|b| b.to_vec())
        .collect())
}

/// The served blob with the wanted versioned hash, or `None` with the source's outcome recorded.
fn accept(
    tried: &mut Vec<Tried>,
    source: String,
    served: Served,
    wanted: &Wanted,
) -> Option<Vec<u8>> {
    let outcome = match served {
        Err(e) => format!("failed ({e})"),
        Ok(blobs) if blobs.is_empty() => "has no such blob".to_string(),
        Ok(blobs) => {
            let count = blobs.len();
            for blob in blobs {
                if versioned_hash(&blob).is_ok_and(|h| h == wanted.versioned_hash) {
                    return Some(blob);
                }
            }
            format!(
                "served {count} blob(s), none with versioned hash {} (a wrong or damaged blob, or another transaction's): refused",
                wanted.versioned_hash
            )
        }
    };
    tried.push(Tried { source, outcome });
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beacon_answers_are_read_in_both_forms_and_bad_ones_named() {
        let blobs = beacon_blobs(br#"{"data": ["0x0102", {"blob": "0x03"}]}"#);
        assert_eq!(blobs, Ok(vec![vec![1, 2], vec![3]]));
        let page = beacon_blobs(b"<html>502 Bad Gateway</html>");
        assert!(page.is_err_and(|e| e.contains("not JSON")));
        let empty = beacon_blobs(br#"{"code": 404}"#);
        assert!(empty.is_err_and(|e| e.contains("without a `data` list")));
        let bad = beacon_blobs(br#"{"data": ["0xzz"]}"#);
        assert!(bad.is_err_and(|e| e.contains("not hex")));
    }
}
