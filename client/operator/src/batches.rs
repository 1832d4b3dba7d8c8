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

/// When batches are proposed.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    /// Chunks per batch at most.
    pub batch_chunks: usize,
    /// A batch is proposed with fewer chunks once its oldest waited this long.
    pub batch_timeout: Duration,
}

#[derive(Debug)]
struct Book {
    slots: usize,
    limits: BatchLimits,
    chunks: Vec<ChunkSummary>,
    /// When each chunk no batch holds yet was sealed (or restored).
    sealed_at: BTreeMap<u64, Instant>,
    batches: Vec<Batch>,
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
    /// `batch_chunks` of them or the oldest waited `batch_timeout`; returns it.
    pub fn propose(&self, store: &Store) -> Result<Option<Batch>> {
        let mut book = self.book();
        let first = book.batched();
        let waiting = book.chunks.len() as u64 - first;
        let due = book
            .sealed_at
            .get(&first)
            .is_some_and(|t| t.elapsed() >= book.limits.batch_timeout);
        if waiting == 0 || !(waiting >= book.limits.batch_chunks as u64 || due) {
            return Ok(None);
        }
        let batch = Batch {
            index: book.batches.len() as u64 + 1,
            first_chunk: first,
            chunks: waiting.min(book.limits.batch_chunks as u64),
            status: BatchStatus::Proposed,
            finalize_latency_ms: None,
        };
        store.write(|w| w.put(BATCHES, batch.index, &batch))?;
        for c in first..first + batch.chunks {
            book.sealed_at.remove(&c);
        }
        tracing::info!(batch = batch.index, chunks = batch.chunks, "batch proposed");
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
        Ok(BatchBinding::of(&records)?)
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
                }
            })
            .collect()
    }
}
