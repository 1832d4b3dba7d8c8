//! Reading the finalized batches back from L1 through any RPC: the rollup's
//! `BatchCommitted`, `BatchesReverted` and `BatchFinalized` events, in pages of
//! blocks, and each committed batch's pubdata, from its `commitBatch` calldata or from the blob of
//! its `commitBatchBlob` transaction.
//! The commit transaction is checked against the data binding the event carries, so an RPC that
//! returns the wrong transaction is caught before any record is applied; a blob is read only once
//! its batch is finalized, through a [`BlobReader`] that checks it against its versioned hash. RPC
//! calls are retried with backoff and logs paged (`rollup-l1`, shared with the operator).

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256};
use alloy::providers::Provider;
use alloy::rpc::types::Log;
use alloy::sol_types::{SolCall, SolEvent};
use rollup_bindings::irollup::IRollup;
use rollup_l1::{LogReader, QueuedRequest, REQUEST_QUEUED, decode_request, retry};
use rollup_protocol::blob;
use rollup_protocol::codec::{l1_binding, l1_blob_binding, split_blob_chunks, split_chunks};
use rollup_protocol::field::{self, Fr};

use crate::blobs::{BlobReader, Unavailable, Wanted};
use crate::derive::FinalizedBatch;

pub use rollup_l1::{L1Error, Result};

/// Why a page of blocks could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// L1 could not be read, or served data that is not the rollup's.
    #[error(transparent)]
    L1(#[from] L1Error),
    /// No source served the blob of a finalized batch.
    #[error(transparent)]
    Blob(#[from] Unavailable),
}

/// A batch committed in a blob: where its data is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlobCommit {
    /// The versioned hash of the blob holding the batch's pubdata (the transaction's first).
    pub versioned_hash: B256,
    /// The commit transaction.
    pub tx: B256,
}

/// A committed batch whose finalization has not been seen yet (kept across syncs: its commit
/// lies in blocks already read).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingBatch {
    /// The batch index.
    pub index: u64,
    /// Each chunk's pubdata (none for a batch committed in a blob).
    #[serde(with = "crate::derive::hex_chunks")]
    pub chunks: Vec<Vec<u8>>,
    /// The block of its commit (0: not recorded).
    #[serde(default)]
    pub committed_at: u64,
    /// Its blob, for a batch committed in one: read once the batch is finalized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob: Option<BlobCommit>,
}

/// A committed batch's data and the block of its commit.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Committed {
    block: u64,
    data: Data,
}

/// Where a committed batch's pubdata is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Data {
    /// Read from its calldata: each chunk's pubdata.
    Calldata(Vec<Vec<u8>>),
    /// In a blob, not read yet.
    Blob(BlobCommit),
}

/// What one page of blocks held.
#[derive(Debug, Default)]
pub struct Page {
    /// The batches finalized in it, in order.
    pub batches: Vec<FinalizedBatch>,
    /// The hash of each block that a log came from, by number.
    pub blocks: BTreeMap<u64, B256>,
}

/// Reads the rollup at `rollup` through `provider`.
#[derive(Debug)]
pub struct L1Reader<P> {
    reader: LogReader<P>,
    chunk_slots: usize,
    committed: BTreeMap<u64, Committed>,
    blobs: BlobReader,
    /// Batches at or below it are known already (the state snapshot a sync started from): their
    /// commits and finalizations are skipped.
    floor: u64,
}

/// The block of a log: every log `eth_getLogs` returns for mined blocks has one, and the beacon
/// block of a blob is found from it, so one without is malformed rather than block 0.
fn block_of(log: &Log) -> std::result::Result<u64, L1Error> {
    log.block_number
        .ok_or_else(|| malformed(log, "a log without a block number"))
}

fn malformed(log: &Log, what: impl Into<String>) -> L1Error {
    L1Error::Malformed {
        block: log.block_number,
        what: what.into(),
    }
}

impl<P: Provider> L1Reader<P> {
    /// A reader for a deployment with `chunk_slots` slots per chunk, paging logs `page` blocks at a
    /// time, reading blobs from the L1 node only (see [`L1Reader::blobs`]).
    pub fn new(provider: P, rollup: Address, chunk_slots: usize, page: u64) -> Self {
        L1Reader {
            reader: LogReader::new(provider, rollup).page(page),
            chunk_slots,
            committed: BTreeMap::new(),
            blobs: BlobReader::new(None, true, Vec::new()),
            floor: 0,
        }
    }

    /// Reads the blobs of batches committed in blobs through `blobs`.
    pub fn blobs(mut self, blobs: BlobReader) -> Self {
        self.blobs = blobs;
        self
    }

    /// Skips every batch at or below `batch` (the batch of the snapshot a derivation starts from).
    pub fn above(mut self, batch: u64) -> Self {
        self.floor = batch;
        self
    }

    /// Batches committed in the blocks read so far but not finalized in them.
    pub fn pending(&self) -> Vec<PendingBatch> {
        self.committed
            .iter()
            .map(|(index, c)| {
                let (chunks, blob) = match &c.data {
                    Data::Calldata(chunks) => (chunks.clone(), None),
                    Data::Blob(blob) => (Vec::new(), Some(*blob)),
                };
                PendingBatch {
                    index: *index,
                    chunks,
                    committed_at: c.block,
                    blob,
                }
            })
            .collect()
    }

    /// Replaces the pending batches (a page read again, or a roll-back).
    pub fn replace_pending(&mut self, pending: Vec<PendingBatch>) {
        self.committed = pending
            .into_iter()
            .map(|p| {
                (
                    p.index,
                    Committed {
                        block: p.committed_at,
                        data: match p.blob {
                            Some(blob) => Data::Blob(blob),
                            None => Data::Calldata(p.chunks),
                        },
                    },
                )
            })
            .collect();
    }

    /// Resumes with the pending batches a previous reader left.
    pub fn with_pending(mut self, pending: Vec<PendingBatch>) -> Self {
        self.replace_pending(pending);
        self
    }

    /// The requests queued in blocks `from..=to` whose index is at least `first`, in order.
    pub async fn requests(&self, from: u64, to: u64, first: u64) -> Result<Vec<QueuedRequest>> {
        let mut out = Vec::new();
        for log in self.reader.logs(&[REQUEST_QUEUED], from, to).await? {
            let request = decode_request(&log)?;
            if request.index >= first {
                out.push(request);
            }
        }
        Ok(out)
    }

    /// The latest block number.
    pub async fn head(&self) -> Result<u64> {
        self.reader.head().await
    }

    /// Reads blocks `from..=to` and returns the batches finalized in them, in order, with the
    /// hash of every block a log came from (for the caller to check against the chain it follows).
    /// Batches committed in these blocks but finalized later are kept for the next call. Logs out
    /// of order or repeated are refused: an RPC that serves them cannot be trusted with the rest.
    /// The blob of a batch committed in one is read when the batch is finalized; with no source
    /// serving it, the page fails with [`ReadError::Blob`].
    pub async fn finalized_batches(
        &mut self,
        from: u64,
        to: u64,
    ) -> std::result::Result<Page, ReadError> {
        let mut page = Page::default();
        let events = vec![
            IRollup::BatchCommitted::SIGNATURE_HASH,
            IRollup::BatchesReverted::SIGNATURE_HASH,
            IRollup::BatchFinalized::SIGNATURE_HASH,
        ];
        let mut last: Option<(u64, u64)> = None;
        for log in self.reader.logs(&events, from, to).await? {
            let position = (
                block_of(&log).map_err(ReadError::L1)?,
                log.log_index.unwrap_or_default(),
            );
            if last.is_some_and(|l| position <= l) {
                return Err(ReadError::L1(malformed(
                    &log,
                    format!(
                        "the RPC returned logs out of order or twice (log {} of block {} after log {} of block {}); use another RPC",
                        position.1,
                        position.0,
                        last.map_or(0, |l| l.1),
                        last.map_or(0, |l| l.0)
                    ),
                )));
            }
            last = Some(position);
            let hash = log
                .block_hash
                .ok_or_else(|| malformed(&log, "a log without its block hash"))?;
            if let Some(seen) = page.blocks.insert(position.0, hash)
                && seen != hash
            {
                return Err(ReadError::L1(malformed(
                    &log,
                    "logs of one block number with two block hashes: L1 reorganised while the page was read",
                )));
            }
            self.apply_log(&log, &mut page.batches).await?;
        }
        Ok(page)
    }

    async fn apply_log(
        &mut self,
        log: &Log,
        out: &mut Vec<FinalizedBatch>,
    ) -> std::result::Result<(), ReadError> {
        let topic = log.topic0().copied().unwrap_or(B256::ZERO);
        if topic == IRollup::BatchCommitted::SIGNATURE_HASH {
            let event = IRollup::BatchCommitted::decode_log(&log.inner)
                .map_err(|e| malformed(log, format!("BatchCommitted: {e}")))?;
            let index =
                u64::try_from(event.batchIndex).map_err(|_| malformed(log, "batch index"))?;
            if index <= self.floor {
                return Ok(());
            }
            let hash = log
                .transaction_hash
                .ok_or_else(|| malformed(log, "log without transaction"))?;
            // By block and position, not by hash: nodes keep a hash index of recent
            // transactions only (geth: about a year), and the block is the one the log is in.
            let (Some(block), Some(position)) = (log.block_hash, log.transaction_index) else {
                return Err(malformed(log, "a log without its block hash or position").into());
            };
            let position = usize::try_from(position)
                .map_err(|_| malformed(log, "a transaction position out of range"))?;
            let tx = retry(
                self.reader.retry_policy(),
                &format!("transaction {hash}"),
                || {
                    self.reader
                        .provider()
                        .get_transaction_by_block_hash_and_index(block, position)
                },
            )
            .await?
            .ok_or_else(|| {
                malformed(
                    log,
                    format!("transaction {hash} is not in block {block}: L1 reorganised while the page was read"),
                )
            })?;
            if *tx.inner.tx_hash() != hash {
                return Err(malformed(
                    log,
                    format!(
                        "block {block} holds another transaction at position {position} than the log's {hash}"
                    ),
                )
                .into());
            }
            let data = self.commit_data(log, &tx, &event, index)?;
            let block = block_of(log)?;
            if let Data::Blob(blob) = &data
                && self.blobs.caches()
            {
                // Fetched now too, while beacon nodes still serve it, into the cache that the
                // finalization reads: a batch finalized after its blob left the beacon chain
                // (about 18 days) stays derivable for a client that synced in between. Best
                // effort: a blob no source has yet is asked for again at the finalization.
                let wanted = Wanted {
                    versioned_hash: blob.versioned_hash,
                    tx: blob.tx,
                    block,
                };
                let _ = self.blobs.blob(self.reader.provider(), &wanted).await;
            }
            self.committed.insert(index, Committed { block, data });
        } else if topic == IRollup::BatchesReverted::SIGNATURE_HASH {
            let event = IRollup::BatchesReverted::decode_log(&log.inner)
                .map_err(|e| malformed(log, format!("BatchesReverted: {e}")))?;
            let kept =
                u64::try_from(event.lastKeptBatch).map_err(|_| malformed(log, "batch index"))?;
            self.committed.retain(|index, _| *index <= kept);
        } else if topic == IRollup::BatchFinalized::SIGNATURE_HASH {
            let event = IRollup::BatchFinalized::decode_log(&log.inner)
                .map_err(|e| malformed(log, format!("BatchFinalized: {e}")))?;
            let index =
                u64::try_from(event.batchIndex).map_err(|_| malformed(log, "batch index"))?;
            if index <= self.floor {
                return Ok(());
            }
            let committed = self
                .committed
                .remove(&index)
                .ok_or_else(|| malformed(log, format!("batch {index} finalized but its commit was not seen: the RPC left logs out (or --from-block is past the commit); sync again through another --rpc-url")))?;
            let state_root: Fr =
                field::from_u256(event.stateRoot).map_err(|e| malformed(log, e.to_string()))?;
            let chunks = match committed.data {
                Data::Calldata(chunks) => chunks,
                Data::Blob(blob) => self.blob_chunks(log, index, committed.block, blob).await?,
            };
            out.push(FinalizedBatch {
                index,
                chunks,
                state_root,
                committed_at: committed.block,
                finalized_at: block_of(log)?,
            });
        }
        Ok(())
    }

    /// The data of the commit transaction `tx` of batch `index`, checked against the binding its
    /// `BatchCommitted` event carries: the calldata's chunks for `commitBatch`, the blob's versioned
    /// hash for `commitBatchBlob`.
    fn commit_data(
        &self,
        log: &Log,
        tx: &alloy::rpc::types::Transaction,
        event: &IRollup::BatchCommitted,
        index: u64,
    ) -> Result<Data> {
        use alloy::consensus::Transaction as _;
        let hash = *tx.inner.tx_hash();
        let input = tx.input();
        let theirs = &event.binding;
        let commitment =
            field::from_u256(theirs.commitment).map_err(|e| malformed(log, e.to_string()))?;
        let (batch, call_commitment, ours, data) = if let Ok(call) =
            IRollup::commitBatchCall::abi_decode(input)
        {
            // Read as L1 reads it, by type bytes and lengths only: the records are decoded once
            // the batch is finalized. A committed batch whose records do not decode (a bad key,
            // an account id outside the tree) can never be proven, and must not stop the sync.
            // L1 computed the challenge and both evaluations from these very bytes and the
            // sequencer's commitment; recomputed here, they check the calldata the RPC served.
            // (A commitment that is not the records' own is the sequencer's error: such a batch
            // can never be finalized, which the proof, not this client, enforces.)
            let ours = l1_binding(&call.pubdata, commitment)
                .map_err(|e| malformed(log, format!("batch {index}: {e}")))?;
            let chunks = split_chunks(&call.pubdata, self.chunk_slots)
                .map_err(|e| malformed(log, format!("batch {index}: {e}")))?;
            let chunks = chunks.iter().map(|c| c.to_vec()).collect();
            (
                call.batchIndex,
                call.batchCommitment,
                ours,
                Data::Calldata(chunks),
            )
        } else if let Ok(call) = IRollup::commitBatchBlobCall::abi_decode(input) {
            // The challenge L1 drew covers the blob's versioned hash, the list of the records
            // it acts on and the commitment: recomputed from the transaction the RPC served, it
            // checks all three. The blob itself is read once the batch is finalized.
            let versioned_hash = tx
                .blob_versioned_hashes()
                .and_then(|h| h.first().copied())
                .ok_or_else(|| {
                    malformed(
                        log,
                        format!("transaction {hash} calls commitBatchBlob but carries no blob"),
                    )
                })?;
            let y = blob::bls_from_be(&call.blobEvaluation.to_be_bytes())
                .ok_or_else(|| malformed(log, "a blob evaluation not below r_BLS"))?;
            let ours = l1_blob_binding(&versioned_hash.0, &call.l1Records, commitment, y)
                .map_err(|e| malformed(log, format!("batch {index}: {e}")))?;
            (
                call.batchIndex,
                call.batchCommitment,
                ours,
                Data::Blob(BlobCommit {
                    versioned_hash,
                    tx: hash,
                }),
            )
        } else {
            return Err(malformed(
                log,
                format!(
                    "transaction {hash} is not a direct commitBatch or commitBatchBlob call; reading commits sent through another contract needs a tracing RPC"
                ),
            ));
        };
        if batch != event.batchIndex {
            return Err(malformed(
                log,
                format!(
                    "the call commits batch {batch} but the event names batch {}",
                    event.batchIndex
                ),
            ));
        }
        if call_commitment != theirs.commitment {
            return Err(malformed(
                log,
                "the call's batch commitment differs from the event's",
            ));
        }
        if field::to_u256(&ours.challenge) != theirs.challenge
            || field::to_u256(&ours.l1_evaluation) != theirs.l1Evaluation
            || alloy::primitives::U256::from_be_bytes(blob::bls_to_be(&ours.blob_evaluation))
                != theirs.blobEvaluation
        {
            return Err(malformed(
                log,
                format!(
                    "batch {index}: the commit transaction does not match the data binding L1 computed from it"
                ),
            ));
        }
        Ok(data)
    }

    /// The chunks of finalized batch `index`, committed in block `block` with `blob`: the blob from
    /// the first source that serves it with its versioned hash, read as
    /// [`split_blob_chunks`] reads it.
    async fn blob_chunks(
        &self,
        log: &Log,
        index: u64,
        block: u64,
        blob: BlobCommit,
    ) -> std::result::Result<Vec<Vec<u8>>, ReadError> {
        let wanted = Wanted {
            versioned_hash: blob.versioned_hash,
            tx: blob.tx,
            block,
        };
        let bytes = self.blobs.blob(self.reader.provider(), &wanted).await?;
        // The blob has its versioned hash, and the proof L1 accepted opened it at the challenge:
        // it is the batch's pubdata in this encoding, unless the proof system failed.
        let chunks = blob::pubdata_of_blob(&bytes)
            .and_then(|data| split_blob_chunks(&data, self.chunk_slots))
            .map_err(|e| {
                malformed(
                    log,
                    format!(
                        "batch {index}: its blob {} does not read as pubdata ({e})",
                        blob.versioned_hash
                    ),
                )
            })?;
        Ok(chunks)
    }
}
