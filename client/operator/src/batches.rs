//! The batch book: what L1 needs of each sealed chunk (pubdata, records, new root, withdrawals),
//! the chunks grouped into batches with each batch's data binding, and each batch's progress on L1
//! (proposed → committed → finalized → executed).
//!
//! The sequencer hands it every sealed chunk in order; the sequencing loop asks it to propose a
//! batch; the submitter reads a batch's chunks from it and records each L1 step here, in the same
//! write that clears the step's outbox entry; the RPC reads batches and chunks from it. None of
//! them needs the sequencer for this, so proving and L1 traffic never wait on transaction intake.
//!
//! A batch groups up to `batch_chunks` sealed chunks, or fewer once the oldest waited
//! `batch_timeout`. Batches are stored when proposed and on every status change; chunk summaries
//! are not stored: they are rebuilt from the sealed chunks when the sequencer is restored.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rollup_protocol::Chunk;
use rollup_protocol::Fr;
use rollup_protocol::codec::{BatchBinding, OnchainOp, Record};
use rollup_protocol::state::{AccountId, TokenId};
pub use rollup_rpc_api::{Batch, BatchStatus, ChunkInfo};

use crate::error::{Error, Result};
use crate::store::{BATCHES, Store};

/// What L1 needs of a sealed chunk.
#[derive(Debug, Clone)]
pub struct ChunkSummary {
    /// The pubdata (`commitBatch` calldata).
    pub pubdata: Vec<u8>,
    /// Its records: the batch's data binding is computed from them once the batch is known
    /// ([`Batches::binding`]).
    pub records: Vec<Record>,
    /// The root before it.
    pub old_root: Fr,
    /// The root after it.
    pub new_root: Fr,
    /// The withdrawals it credits on execution, in order: (account, token, amount).
    pub withdrawals: Vec<(AccountId, TokenId, u128)>,
    /// Slots holding a transaction over all slots.
    pub fill_ratio: f64,
}

impl ChunkSummary {
    /// The summary of `chunk`.
    pub fn of(chunk: &Chunk) -> ChunkSummary {
        let withdrawals = chunk
            .records
            .iter()
            .flat_map(Record::onchain_ops)
            .filter_map(|op| match op {
                OnchainOp::Withdrawal {
                    account_id,
                    token,
                    amount,
                } => Some((account_id, token, amount)),
                OnchainOp::ConsumeRequest { .. } => None,
            })
            .collect();
        ChunkSummary {
            pubdata: chunk.pubdata.clone(),
            records: chunk.records.clone(),
            old_root: chunk.old_root,
            new_root: chunk.new_root,
            withdrawals,
            fill_ratio: chunk.fill_ratio(),
        }
    }
}

/// When batches are proposed, and how they post their pubdata.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    /// Chunks per batch at most.
    pub batch_chunks: usize,
    /// A batch is proposed with fewer chunks once its oldest waited this long.
    pub batch_timeout: Duration,
    /// Calldata, blob, or the cheaper.
    pub data: DataMode,
}

/// How a batch posts its pubdata on L1 (`docs/protocol.md` section 8). The choice is made when the
/// batch is proposed and stored with it: the batch's challenge, and so every proof of it, depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataMode {
    /// In `commitBatch`'s calldata.
    Calldata,
    /// In one blob (`commitBatchBlob`); calldata for a batch whose pubdata does not fit one.
    Blob,
    /// The cheaper of the two at the L1 fees last seen ([`commit_cost`]); calldata until fees
    /// have been seen.
    #[default]
    Auto,
}

/// L1's fees, as last seen (wei per gas, wei per blob gas).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L1Fees {
    /// The base fee per gas.
    pub base_fee: u128,
    /// The blob base fee per blob gas.
    pub blob_base_fee: u128,
}

/// The most chunks of `slots` slots whose records always fit one blob (126,976 bytes), whatever
/// their types: the data binding evaluates a batch's pubdata as one blob's polynomial, in either
/// mode (`docs/protocol.md`, sections 6 and 7), so a batch must never outgrow one. Errs if not even
/// one chunk fits.
pub fn chunks_per_blob(slots: usize) -> Result<usize> {
    let chunk = slots.max(1) * rollup_protocol::codec::MAX_RECORD_LEN;
    match rollup_protocol::blob::BLOB_DATA_BYTES / chunk {
        0 => Err(Error::Config(format!(
            "a chunk of {slots} slots may hold {chunk} bytes of records, more than one blob's {}",
            rollup_protocol::blob::BLOB_DATA_BYTES
        ))),
        n => Ok(n),
    }
}

/// How many of the waiting chunks (`sizes`: each one's pubdata bytes, oldest first) the next batch
/// takes, or `None` to wait: as many as `batch_chunks` allows and one blob holds (126,976 bytes:
/// the data binding evaluates a batch's pubdata as one blob's polynomial in either mode), proposed
/// as soon as the count is reached, or a waiting chunk would not fit after the others, or the
/// oldest is `due` (a batch that fills a blob exactly waits for the next chunk or its timeout). A batch
/// of small records (transfers) thus holds `batch_chunks` chunks even where a batch of that many
/// chunks of the largest records would not fit a blob; at least one chunk always fits
/// ([`chunks_per_blob`] is checked at start).
pub fn next_batch_size(sizes: &[usize], batch_chunks: usize, due: bool) -> Option<usize> {
    let limit = sizes.len().min(batch_chunks.max(1));
    let mut bytes = 0;
    let fit = sizes
        .iter()
        .take(limit)
        .take_while(|n| {
            bytes += **n;
            bytes <= rollup_protocol::blob::BLOB_DATA_BYTES
        })
        .count()
        .max(1);
    if sizes.is_empty() {
        None
    } else if fit < limit || sizes.len() >= batch_chunks || due {
        Some(fit.min(limit))
    } else {
        None
    }
}

/// What committing a batch would cost L1, wei, each way: an estimate from the gas measured in
/// `snapshots/commit.json` ([`commit_cost`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitCost {
    /// With its pubdata in calldata.
    pub calldata: u128,
    /// With its pubdata in a blob (`None`: it does not fit one).
    pub blob: Option<u128>,
}

/// Gas of a calldata commit besides its records (the transaction's 21,000, the call, the stores
/// and the event; `snapshots/commit.json`, one record: about 50k of execution).
pub const CALLDATA_COMMIT_GAS: u64 = 71_000;
/// Execution gas per record of a calldata commit (parsing, `Y_L1`, one `MULMOD`/`ADDMOD` pair per
/// 31 bytes; 360,886 for 1,024 transfers: about 305 each past the fixed part).
pub const CALLDATA_GAS_PER_RECORD: u64 = 305;
/// Gas of a blob commit besides its list's calldata (the transaction, the call, the point
/// evaluation precompile's 50,000, the stores and the event; `snapshots/commit.json`: 128,271 as a
/// transaction for a batch that lists nothing, 159,301 of execution for one that lists a
/// withdrawal): a middle figure, erring towards calldata.
pub const BLOB_COMMIT_GAS: u64 = 160_000;
/// Blob gas of one blob.
pub const BLOB_GAS: u64 = 1 << 17;

/// The calldata gas of `bytes` (EIP-2028's 4 per zero byte and 16 per other byte) and EIP-7623's
/// floor for it (10 and 40), which a transaction pays instead when its execution is small beside its data.
fn calldata_gas(bytes: &[u8]) -> (u64, u64) {
    let zeros = bytes.iter().filter(|b| **b == 0).count() as u64;
    let tokens = zeros + 4 * (bytes.len() as u64 - zeros);
    (4 * tokens, 10 * tokens)
}

/// What committing a batch of `pubdata` would cost at `fees`, each way (an estimate: the measured
/// gas of [`CALLDATA_COMMIT_GAS`], [`CALLDATA_GAS_PER_RECORD`] and [`BLOB_COMMIT_GAS`], the data's
/// calldata gas with EIP-7623's floor, and one blob's gas). The records L1 acts on cost the same
/// work either way and are counted only as the bytes each way sends.
pub fn commit_cost(pubdata: &[u8], fees: L1Fees) -> Result<CommitCost> {
    let records = rollup_protocol::codec::split_records(pubdata)?.len() as u64;
    let (data, floor) = calldata_gas(pubdata);
    let execution = CALLDATA_COMMIT_GAS + CALLDATA_GAS_PER_RECORD * records;
    let calldata = u128::from((execution + data).max(CALLDATA_COMMIT_GAS + floor)) * fees.base_fee;
    let blob = if pubdata.len() <= rollup_protocol::blob::BLOB_DATA_BYTES {
        let (list, list_floor) = calldata_gas(&rollup_protocol::codec::l1_list(pubdata)?);
        let gas = (BLOB_COMMIT_GAS + list).max(BLOB_COMMIT_GAS + list_floor);
        Some(u128::from(gas) * fees.base_fee + u128::from(BLOB_GAS) * fees.blob_base_fee)
    } else {
        None
    };
    Ok(CommitCost { calldata, blob })
}

/// Whether a batch of `pubdata` goes in a blob under `mode` at `fees` (`None`: not seen yet).
pub fn posts_blob(mode: DataMode, pubdata: &[u8], fees: Option<L1Fees>) -> Result<bool> {
    let fits = pubdata.len() <= rollup_protocol::blob::BLOB_DATA_BYTES;
    Ok(match (mode, fees) {
        (DataMode::Calldata, _) | (DataMode::Auto, None) => false,
        (DataMode::Blob, _) => fits,
        (DataMode::Auto, Some(fees)) => {
            let cost = commit_cost(pubdata, fees)?;
            cost.blob.is_some_and(|b| b < cost.calldata)
        }
    })
}

#[derive(Debug)]
struct Book {
    slots: usize,
    limits: BatchLimits,
    chunks: Vec<ChunkSummary>,
    /// When each chunk no batch holds yet was sealed (or restored).
    sealed_at: BTreeMap<u64, Instant>,
    batches: Vec<Batch>,
    fees: Option<L1Fees>,
}

impl Book {
    /// The first chunk no batch holds.
    fn batched(&self) -> u64 {
        self.batches.last().map_or(0, |b| b.first_chunk + b.chunks)
    }

    fn holding(&self, chunk: u64) -> Option<&Batch> {
        self.batches
            .iter()
            .find(|b| chunk >= b.first_chunk && chunk < b.first_chunk + b.chunks)
    }
}

/// The batch book (see the module docs). Every method takes its lock for one short update.
#[derive(Debug)]
pub struct Batches {
    book: Mutex<Book>,
}

impl Batches {
    /// The stored batches, with no chunk yet: the sequencer's restore hands them back through
    /// [`Batches::add_chunk`]. `slots` is the chunk size.
    pub fn restore(store: &Store, slots: usize, limits: BatchLimits) -> Result<Batches> {
        let batches = store
            .all::<Batch>(BATCHES)?
            .into_iter()
            .map(|(_, b)| b)
            .collect();
        Ok(Batches {
            book: Mutex::new(Book {
                slots,
                limits,
                chunks: Vec::new(),
                sealed_at: BTreeMap::new(),
                batches,
                fees: None,
            }),
        })
    }

    fn book(&self) -> MutexGuard<'_, Book> {
        // No update can panic between its first and its last change (the store write comes first,
        // the in-memory changes after it cannot fail), so a poisoned lock is still consistent.
        self.book
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records sealed chunk `index`, which must be the next one.
    pub fn add_chunk(&self, index: u64, chunk: &Chunk) -> Result<()> {
        let mut book = self.book();
        if index != book.chunks.len() as u64 {
            return Err(Error::Store(format!(
                "chunk {index} sealed, chunk {} expected next",
                book.chunks.len()
            )));
        }
        book.chunks.push(ChunkSummary::of(chunk));
        if index >= book.batched() {
            book.sealed_at.insert(index, Instant::now());
        }
        Ok(())
    }

    /// Proposes (and stores) a batch of the sealed chunks no batch holds, if there are
    /// `batch_chunks` of them, or more than one blob holds, or the oldest waited `batch_timeout`
    /// ([`next_batch_size`]); returns it.
    pub fn propose(&self, store: &Store) -> Result<Option<Batch>> {
        let mut book = self.book();
        let first = book.batched();
        let due = book
            .sealed_at
            .get(&first)
            .is_some_and(|t| t.elapsed() >= book.limits.batch_timeout);
        let sizes: Vec<usize> = book
            .chunks
            .iter()
            .skip(first as usize)
            .map(|c| c.pubdata.len())
            .collect();
        let Some(chunks) = next_batch_size(&sizes, book.limits.batch_chunks, due) else {
            return Ok(None);
        };
        let chunks = chunks as u64;
        let pubdata: Vec<u8> = book
            .chunks
            .iter()
            .skip(first as usize)
            .take(chunks as usize)
            .flat_map(|c| c.pubdata.iter().copied())
            .collect();
        let blob = if posts_blob(book.limits.data, &pubdata, book.fees)? {
            let blob = rollup_protocol::blob::blob_of_pubdata(&pubdata)?;
            Some(
                rollup_l1::blob::versioned_hash(&blob)
                    .map_err(|e| Error::Store(format!("the batch's blob: {e}")))?,
            )
        } else {
            None
        };
        let batch = Batch {
            index: book.batches.len() as u64 + 1,
            first_chunk: first,
            chunks,
            status: BatchStatus::Proposed,
            finalize_latency_ms: None,
            blob,
        };
        store.write(|w| w.put(BATCHES, batch.index, &batch))?;
        for c in first..first + batch.chunks {
            book.sealed_at.remove(&c);
        }
        let data = if blob.is_some() { "blob" } else { "calldata" };
        metrics::counter!("operator_batches_proposed", "data" => data).increment(1);
        if let Some(fees) = book.fees
            && let Ok(cost) = commit_cost(&pubdata, fees)
        {
            metrics::gauge!("operator_commit_cost_estimate_wei", "data" => "calldata")
                .set(cost.calldata as f64);
            if let Some(b) = cost.blob {
                metrics::gauge!("operator_commit_cost_estimate_wei", "data" => "blob")
                    .set(b as f64);
            }
        }
        tracing::info!(
            batch = batch.index,
            chunks = batch.chunks,
            data,
            bytes = pubdata.len(),
            "batch proposed"
        );
        book.batches.push(batch.clone());
        Ok(Some(batch))
    }

    /// Records a batch's new status and, in the same write, removes the outbox entry of the step
    /// that got it there. `ready` is when its last proof was ready (for the finalization latency).
    pub fn set_status(
        &self,
        store: &Store,
        index: u64,
        status: BatchStatus,
        outbox: Option<&str>,
        ready: Option<Instant>,
    ) -> Result<()> {
        let mut book = self.book();
        let Some(b) = book.batches.iter_mut().find(|b| b.index == index) else {
            return Err(Error::Store(format!("no batch {index}")));
        };
        let mut updated = b.clone();
        updated.status = status;
        if let (BatchStatus::Finalized, Some(ready)) = (status, ready) {
            let ms = ready.elapsed().as_millis() as u64;
            updated.finalize_latency_ms = Some(ms);
            metrics::histogram!("operator_proof_to_finalized_seconds").record(ms as f64 / 1e3);
            tracing::info!(
                batch = index,
                ms,
                "finalized after its last proof was ready"
            );
        }
        store.write(|w| {
            if let Some(key) = outbox {
                w.remove_outbox(key)?;
            }
            w.put(BATCHES, index, &updated)
        })?;
        *b = updated;
        Ok(())
    }

    /// Brings the book back in line with L1 after a reorg took steps back: a batch recorded
    /// committed (or further) above L1's `last_committed` goes back to proposed, one recorded
    /// finalized (or executed) above `last_finalized` back to committed, all in one write, so the
    /// submitter sends those steps again. Returns the batches moved, with their old status.
    pub fn rewind_to_l1(
        &self,
        store: &Store,
        last_committed: u64,
        last_finalized: u64,
    ) -> Result<Vec<(u64, BatchStatus)>> {
        let mut book = self.book();
        let mut moved = Vec::new();
        let mut updated = Vec::new();
        for b in book.batches.iter().rev() {
            let to = if b.index > last_committed && b.status != BatchStatus::Proposed {
                BatchStatus::Proposed
            } else if b.index > last_finalized
                && matches!(b.status, BatchStatus::Finalized | BatchStatus::Executed)
            {
                BatchStatus::Committed
            } else if b.index <= last_finalized {
                break;
            } else {
                continue;
            };
            moved.push((b.index, b.status));
            let mut u = b.clone();
            u.status = to;
            u.finalize_latency_ms = None;
            updated.push(u);
        }
        if updated.is_empty() {
            return Ok(moved);
        }
        store.write(|w| {
            for u in &updated {
                w.put(BATCHES, u.index, u)?;
            }
            Ok(())
        })?;
        for u in updated {
            if let Some(b) = book.batches.iter_mut().find(|b| b.index == u.index) {
                *b = u;
            }
        }
        Ok(moved)
    }

    /// The oldest batch not yet executed.
    pub fn unfinished(&self) -> Option<Batch> {
        self.book()
            .batches
            .iter()
            .find(|b| b.status != BatchStatus::Executed)
            .cloned()
    }

    /// Every batch, in order.
    pub fn all(&self) -> Vec<Batch> {
        self.book().batches.clone()
    }

    /// The batch holding sealed chunk `chunk`, if one does.
    pub fn holding(&self, chunk: u64) -> Option<Batch> {
        self.book().holding(chunk).cloned()
    }

    /// The summaries of `batch`'s chunks, in order.
    pub fn summaries(&self, batch: &Batch) -> Result<Vec<ChunkSummary>> {
        let book = self.book();
        (batch.first_chunk..batch.first_chunk + batch.chunks)
            .map(|c| {
                usize::try_from(c)
                    .ok()
                    .and_then(|i| book.chunks.get(i))
                    .cloned()
                    .ok_or_else(|| Error::Store(format!("batch {}: no chunk {c}", batch.index)))
            })
            .collect()
    }

    /// `batch`'s data binding (`docs/protocol.md` section 7): its commitment goes to L1 with the
    /// commit, every chunk proof is made at its challenge, and the batch proof exposes all three.
    pub fn binding(&self, batch: &Batch) -> Result<BatchBinding> {
        let summaries = self.summaries(batch)?;
        let records: Vec<&[Record]> = summaries.iter().map(|s| s.records.as_slice()).collect();
        Ok(match &batch.blob {
            Some(versioned_hash) => BatchBinding::of_blob(&records, &versioned_hash.0)?,
            None => BatchBinding::of(&records)?,
        })
    }

    /// `batch`'s pubdata: its chunks' back to back.
    pub fn pubdata(&self, batch: &Batch) -> Result<Vec<u8>> {
        Ok(self
            .summaries(batch)?
            .into_iter()
            .flat_map(|s| s.pubdata)
            .collect())
    }

    /// The L1 fees last seen, which [`DataMode::Auto`] chooses by.
    pub fn observe_fees(&self, fees: L1Fees) {
        self.book().fees = Some(fees);
        metrics::gauge!("operator_l1_base_fee_wei").set(fees.base_fee as f64);
        metrics::gauge!("operator_l1_blob_base_fee_wei").set(fees.blob_base_fee as f64);
    }

    /// The mode batches post their pubdata in.
    pub fn data_mode(&self) -> DataMode {
        self.book().limits.data
    }

    /// Every sealed chunk (`prove_seconds` left to the coordinator).
    pub fn chunks(&self) -> Vec<ChunkInfo> {
        let book = self.book();
        let slots = book.slots;
        book.chunks
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let i = i as u64;
                ChunkInfo {
                    index: i,
                    transactions: (s.fill_ratio * slots as f64).round() as usize,
                    slots,
                    fill_ratio: s.fill_ratio,
                    batch: book.holding(i).map(|b| b.index),
                    prove_seconds: None,
                    prover: None,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use rollup_protocol::blob::BLOB_DATA_BYTES;
    use rollup_protocol::codec::record_len;
    use rollup_protocol::tx::TxType;

    use super::*;

    /// `n` transfer records, their bytes other than the type all `0x11`.
    fn transfers(n: usize) -> Vec<u8> {
        let len = record_len(TxType::Transfer);
        (0..n)
            .flat_map(|_| {
                std::iter::once(TxType::Transfer as u8).chain(std::iter::repeat_n(0x11, len - 1))
            })
            .collect()
    }

    const GWEI: u128 = 1_000_000_000;

    type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn a_small_batch_is_cheaper_in_calldata_and_a_large_one_in_a_blob() -> TestResult {
        let cheap_blobs = L1Fees {
            base_fee: GWEI,
            blob_base_fee: 1,
        };
        let small = transfers(4);
        let cost = commit_cost(&small, cheap_blobs)?;
        assert!(cost.calldata < cost.blob.ok_or("fits a blob")?, "{cost:?}");
        assert!(!posts_blob(DataMode::Auto, &small, Some(cheap_blobs))?);
        let large = transfers(1_024);
        let cost = commit_cost(&large, cheap_blobs)?;
        assert!(cost.blob.ok_or("fits a blob")? < cost.calldata, "{cost:?}");
        assert!(posts_blob(DataMode::Auto, &large, Some(cheap_blobs))?);
        // Blob space congested: calldata again.
        let dear_blobs = L1Fees {
            base_fee: GWEI,
            blob_base_fee: 100 * GWEI,
        };
        assert!(!posts_blob(DataMode::Auto, &large, Some(dear_blobs))?);
        // No fees seen yet: calldata; the fixed modes do not look at fees.
        assert!(!posts_blob(DataMode::Auto, &large, None)?);
        assert!(posts_blob(DataMode::Blob, &small, None)?);
        assert!(!posts_blob(DataMode::Calldata, &large, Some(cheap_blobs))?);
        Ok(())
    }

    #[test]
    fn pubdata_larger_than_a_blob_goes_in_calldata_whatever_the_mode() -> TestResult {
        let len = record_len(TxType::Transfer);
        let too_large = transfers(BLOB_DATA_BYTES / len + 1);
        assert!(too_large.len() > BLOB_DATA_BYTES);
        let fees = L1Fees {
            base_fee: GWEI,
            blob_base_fee: 1,
        };
        assert_eq!(commit_cost(&too_large, fees)?.blob, None);
        assert!(!posts_blob(DataMode::Blob, &too_large, Some(fees))?);
        assert!(!posts_blob(DataMode::Auto, &too_large, Some(fees))?);
        let fits = transfers(BLOB_DATA_BYTES / len);
        assert!(posts_blob(DataMode::Blob, &fits, None)?);
        Ok(())
    }

    #[test]
    fn a_batch_never_holds_more_chunks_than_one_blob_holds_records() -> TestResult {
        let max = rollup_protocol::codec::MAX_RECORD_LEN;
        for slots in [1, 4, 64, 108, 109, 1_000] {
            let n = chunks_per_blob(slots)?;
            assert!(n * slots * max <= BLOB_DATA_BYTES, "{slots}: {n}");
            assert!((n + 1) * slots * max > BLOB_DATA_BYTES, "{slots}: {n}");
        }
        assert_eq!(chunks_per_blob(64)?, 27);
        assert!(chunks_per_blob(BLOB_DATA_BYTES / max + 1).is_err());
        Ok(())
    }

    #[test]
    fn a_batch_closes_at_its_count_at_one_blob_or_when_due() {
        let transfer = 64 * record_len(TxType::Transfer);
        let deposit = 64 * record_len(TxType::Deposit);
        // Transfers: 16 chunks of 64 fit a blob; the batch waits for its count.
        assert_eq!(next_batch_size(&[transfer; 15], 16, false), None);
        assert_eq!(next_batch_size(&[transfer; 16], 16, false), Some(16));
        assert_eq!(next_batch_size(&[transfer; 20], 16, false), Some(16));
        assert_eq!(next_batch_size(&[transfer; 3], 16, true), Some(3));
        // Deposits: 27 chunks of 64 fill a blob (126,976 / 4,672), the 28th would not fit: the batch
        // closes at 27 without waiting, whatever the count allows.
        let fit = BLOB_DATA_BYTES / deposit;
        assert_eq!(fit, 27);
        assert_eq!(next_batch_size(&vec![deposit; fit], 32, false), None);
        assert_eq!(
            next_batch_size(&vec![deposit; fit + 1], 32, false),
            Some(fit)
        );
        // Mixed: the bytes decide, not the worst case. 26 chunks of deposits (121,472 bytes) and 5
        // of transfers fit (126,272), the sixth of transfers would not.
        let mixed = [vec![deposit; 26], vec![transfer; 12]].concat();
        assert_eq!(next_batch_size(&mixed, 38, false), Some(31));
        assert!(mixed[..31].iter().sum::<usize>() <= BLOB_DATA_BYTES);
        assert!(mixed[..32].iter().sum::<usize>() > BLOB_DATA_BYTES);
        // Nothing waiting: nothing to propose, even when due.
        assert_eq!(next_batch_size(&[], 16, true), None);
    }

    #[test]
    fn calldata_pays_eip_7623_floor_when_its_data_outweighs_its_execution() {
        // 100 non-zero bytes: 400 tokens, 1,600 gas at the standard price, 4,000 at the floor.
        assert_eq!(calldata_gas(&[1; 100]), (1_600, 4_000));
        assert_eq!(calldata_gas(&[0; 100]), (400, 1_000));
    }
}
