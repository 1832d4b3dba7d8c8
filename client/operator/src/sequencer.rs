//! The sequencer: it accepts transactions, orders them, builds blocks and seals chunks.
//!
//! Two states are kept. `pending` is the state after every accepted transaction: a transaction is
//! accepted only if the core applies it there (signature, nonce, balance, account rules) and the
//! circuit capacity checker finds room for it in a chunk. `sealed` is the state after the last
//! sealed chunk: sealing re-applies the chunk's transactions to it with `State::apply_chunk`,
//! which yields the witnesses the prover needs. Both see the same transactions in the same
//! order, so sealing cannot fail.
//!
//! Blocks are built every `block_time` from the front of the queue, at most `block_limit`
//! transactions and never more than the open chunk has room for, so a block never straddles two
//! chunks. A chunk is sealed when full, or padded and sealed once `chunk_timeout` has passed since
//! its first block; its fill ratio is logged. Batches group up to `batch_chunks` sealed chunks, or
//! fewer once the oldest waited `batch_timeout`.
//!
//! Everything is written to the [`Store`] before it takes effect, and [`Sequencer::restore`]
//! rebuilds the same sequencer from it after a crash.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use rollup_protocol::capacity::{ChunkCapacity, cost};
use rollup_protocol::codec::{OnchainOp, Record};
use rollup_protocol::state::{AccountId, TokenId};
use rollup_protocol::tx::TxType;
use rollup_protocol::{Chunk, Config as CoreConfig, Fr, State, Tx, field};
use serde::{Deserialize, Serialize};

pub use rollup_rpc_api::{Batch, BatchStatus, ChunkInfo};

use crate::error::{Error, Result};
use crate::store::{BATCHES, CHUNKS, QUEUE, Store};

/// A transaction in the order it was accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Its id: the signed message (hex) of an L2 transaction, `l1:<index>` for an L1 request.
    pub id: String,
    /// The transaction.
    pub tx: Tx,
    /// The L1 request index, for L1 requests.
    pub request: Option<u64>,
}

/// A sealed chunk as stored: its transactions (the witnesses are recomputed on restore).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SealedChunk {
    entries: Vec<Entry>,
}

/// What L1 needs of a sealed chunk.
#[derive(Debug, Clone)]
pub struct ChunkSummary {
    /// The pubdata (`commitBatch` calldata).
    pub pubdata: Vec<u8>,
    /// Its data commitment.
    pub data_commitment: Fr,
    /// The root after it.
    pub new_root: Fr,
    /// The withdrawals it credits on execution, in order: (account, token, amount).
    pub withdrawals: Vec<(AccountId, TokenId, u128)>,
    /// Slots holding a transaction over all slots.
    pub fill_ratio: f64,
}

/// Where a transaction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// Accepted, waiting for a block.
    Queued,
    /// In a block of the open chunk.
    InBlock,
    /// In a sealed chunk.
    Chunk(u64),
}

/// The sequencer's settings.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Transactions per block at most.
    pub block_limit: usize,
    /// The open chunk is sealed this long after its first block.
    pub chunk_timeout: Duration,
    /// Chunks per batch at most.
    pub batch_chunks: usize,
    /// A batch is proposed with fewer chunks once its oldest waited this long.
    pub batch_timeout: Duration,
}

/// The sequencer.
#[derive(Debug)]
pub struct Sequencer {
    core: CoreConfig,
    limits: Limits,
    sealed: State,
    pending: State,
    queue: VecDeque<(u64, Entry)>,
    open: Vec<(u64, Entry)>,
    open_since: Option<Instant>,
    next_seq: u64,
    summaries: Vec<ChunkSummary>,
    sealed_at: BTreeMap<u64, Instant>,
    ids: HashMap<String, Location>,
    batches: Vec<Batch>,
    next_request: u64,
    blocks: u64,
}

/// The id of a transaction.
pub fn tx_id(tx: &Tx, request: Option<u64>, chain_id: u64) -> String {
    match (tx, request) {
        (_, Some(i)) => format!("l1:{i}"),
        (Tx::Transfer { tx, .. }, None) => field::to_hex(&tx.message(chain_id)),
        (Tx::Withdraw { tx, .. }, None) => field::to_hex(&tx.message(chain_id)),
        (other, None) => format!("{:?}", other.tx_type()),
    }
}

fn summary(chunk: &Chunk) -> ChunkSummary {
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
        data_commitment: chunk.data_commitment,
        new_root: chunk.new_root,
        withdrawals,
        fill_ratio: chunk.fill_ratio(),
    }
}

impl Sequencer {
    /// Rebuilds the sequencer from the store: every sealed chunk re-applied and handed to `sealed`
    /// with its witnesses (the operator's coordinator keeps those without a stored proof), then
    /// the queue re-applied to the pending state.
    pub fn restore(
        store: &Store,
        core: CoreConfig,
        limits: Limits,
        sealed: &mut dyn FnMut(u64, Chunk) -> Result<()>,
    ) -> Result<Sequencer> {
        let mut s = Sequencer {
            core,
            limits,
            sealed: State::new(core),
            pending: State::new(core),
            queue: VecDeque::new(),
            open: Vec::new(),
            open_since: None,
            next_seq: store.meta("next_seq")?,
            summaries: Vec::new(),
            sealed_at: BTreeMap::new(),
            ids: HashMap::new(),
            batches: store
                .all::<Batch>(BATCHES)?
                .into_iter()
                .map(|(_, b)| b)
                .collect(),
            next_request: store.meta("next_request")?,
            blocks: 0,
        };
        let batched = s.batched_chunks();
        for (index, sc) in store.all::<SealedChunk>(CHUNKS)? {
            let txs: Vec<Tx> = sc.entries.iter().map(|e| e.tx).collect();
            let chunk = s.sealed.apply_chunk(&txs)?;
            for e in sc.entries {
                s.ids.insert(e.id, Location::Chunk(index));
            }
            s.summaries.push(summary(&chunk));
            if index >= batched {
                s.sealed_at.insert(index, Instant::now());
            }
            sealed(index, chunk)?;
        }
        s.pending = s.sealed.clone();
        for (seq, e) in store.all::<Entry>(QUEUE)? {
            s.pending.apply_tx(&e.tx)?;
            s.ids.insert(e.id.clone(), Location::Queued);
            s.queue.push_back((seq, e));
        }
        Ok(s)
    }

    /// The core settings.
    pub fn core(&self) -> &CoreConfig {
        &self.core
    }

    /// The state after every accepted transaction.
    pub fn pending(&self) -> &State {
        &self.pending
    }

    /// The next L1 request index expected.
    pub fn next_request(&self) -> u64 {
        self.next_request
    }

    /// Accepts an L2 transaction: checked by the capacity checker and the core against the pending
    /// state, stored, queued. Returns its id.
    pub fn submit(&mut self, store: &Store, tx: Tx) -> Result<String> {
        let ty = tx.tx_type();
        if ty == TxType::Noop || ty.is_l1_request() {
            return Err(Error::Unsupported(format!(
                "a {ty:?} is not an L2 transaction: deposits, forced exits and key changes are requested on L1"
            )));
        }
        let capacity = ChunkCapacity {
            slots: self.core.chunk_slots,
        };
        if !capacity.fits(0, &cost(ty)) {
            return Err(Error::Capacity(format!(
                "a {ty:?} needs {} slots, a chunk has {}",
                cost(ty).slots,
                capacity.slots
            )));
        }
        let id = tx_id(&tx, None, self.core.chain_id);
        if self.ids.contains_key(&id) {
            return Err(Error::Duplicate(id));
        }
        self.accept(
            store,
            vec![Entry {
                id: id.clone(),
                tx,
                request: None,
            }],
            None,
        )?;
        Ok(id)
    }

    /// Accepts L1 requests `(index, transaction)`, which must continue the queue's order, and
    /// records that L1 was read up to `next_block`.
    pub fn ingest(
        &mut self,
        store: &Store,
        requests: Vec<(u64, Tx)>,
        next_block: u64,
    ) -> Result<()> {
        let mut entries = Vec::with_capacity(requests.len());
        let mut expected = self.next_request;
        for (index, tx) in requests {
            if index != expected {
                return Err(Error::l1_msg(format!(
                    "request {index} read, {expected} expected next: the L1 logs have a gap"
                )));
            }
            expected += 1;
            entries.push(Entry {
                id: tx_id(&tx, Some(index), self.core.chain_id),
                tx,
                request: Some(index),
            });
        }
        self.accept(store, entries, Some((expected, next_block)))?;
        self.next_request = expected;
        Ok(())
    }

    /// Applies `entries` to the pending state (all or none), then stores and queues them.
    fn accept(&mut self, store: &Store, entries: Vec<Entry>, l1: Option<(u64, u64)>) -> Result<()> {
        // One transaction is applied in place (the core undoes a rejection); several on a copy,
        // so that a rejection in the middle leaves the pending state as it was.
        let mut trial = None;
        for e in &entries {
            let state = if entries.len() == 1 {
                &mut self.pending
            } else {
                trial.get_or_insert_with(|| self.pending.clone())
            };
            state.apply_tx(&e.tx)?;
        }
        let first = self.next_seq;
        let n = entries.len() as u64;
        let stored = store.write(|w| {
            for (i, e) in entries.iter().enumerate() {
                w.put(QUEUE, first + i as u64, e)?;
            }
            w.set_meta("next_seq", first + n)?;
            if let Some((next_request, next_block)) = l1 {
                w.set_meta("next_request", next_request)?;
                w.set_meta("next_l1_block", next_block)?;
            }
            Ok(())
        });
        if let Err(e) = stored {
            // Not stored, so not accepted: bring the pending state back in line with the queue.
            self.rebuild_pending()?;
            return Err(e);
        }
        if let Some(t) = trial {
            self.pending = t;
        }
        for (i, e) in entries.into_iter().enumerate() {
            self.ids.insert(e.id.clone(), Location::Queued);
            self.queue.push_back((first + i as u64, e));
        }
        self.next_seq = first + n;
        Ok(())
    }

    fn rebuild_pending(&mut self) -> Result<()> {
        let mut p = self.sealed.clone();
        for (_, e) in self.open.iter().chain(self.queue.iter()) {
            p.apply_tx(&e.tx)?;
        }
        self.pending = p;
        Ok(())
    }

    /// Builds one block from the front of the queue; returns its size.
    pub fn build_block(&mut self) -> usize {
        let room = self.core.chunk_slots.saturating_sub(self.open.len());
        let n = self.limits.block_limit.min(room).min(self.queue.len());
        if n == 0 {
            return 0;
        }
        if self.open.is_empty() {
            self.open_since = Some(Instant::now());
        }
        for (seq, e) in self.queue.drain(..n) {
            self.ids.insert(e.id.clone(), Location::InBlock);
            self.open.push((seq, e));
        }
        self.blocks += 1;
        metrics::counter!("operator_blocks_built").increment(1);
        n
    }

    /// Seals the open chunk if it is full or its timeout has passed, and hands it with its
    /// witnesses to `sealed` (the operator's coordinator, which proves it); returns its index.
    pub fn seal_if_due(
        &mut self,
        store: &Store,
        sealed: &mut dyn FnMut(u64, Chunk) -> Result<()>,
    ) -> Result<Option<u64>> {
        let full = self.open.len() >= self.core.chunk_slots;
        let due = self
            .open_since
            .is_some_and(|t| t.elapsed() >= self.limits.chunk_timeout);
        if self.open.is_empty() || !(full || due) {
            return Ok(None);
        }
        let index = self.summaries.len() as u64;
        let txs: Vec<Tx> = self.open.iter().map(|(_, e)| e.tx).collect();
        let entries: Vec<Entry> = self.open.iter().map(|(_, e)| e.clone()).collect();
        let seqs: Vec<u64> = self.open.iter().map(|(s, _)| *s).collect();
        let mut next = self.sealed.clone();
        let chunk = next.apply_chunk(&txs)?;
        store.write(|w| {
            for s in &seqs {
                w.remove(QUEUE, *s)?;
            }
            w.put(CHUNKS, index, &SealedChunk { entries })
        })?;
        self.sealed = next;
        for (_, e) in self.open.drain(..) {
            self.ids.insert(e.id, Location::Chunk(index));
        }
        self.open_since = None;
        let s = summary(&chunk);
        tracing::info!(
            chunk = index,
            transactions = txs.len(),
            slots = self.core.chunk_slots,
            fill_ratio = s.fill_ratio,
            "chunk sealed"
        );
        metrics::counter!("operator_chunks_sealed").increment(1);
        metrics::histogram!("operator_chunk_fill_ratio").record(s.fill_ratio);
        self.summaries.push(s);
        self.sealed_at.insert(index, Instant::now());
        sealed(index, chunk)?;
        Ok(Some(index))
    }

    /// The first chunk no batch holds.
    fn batched_chunks(&self) -> u64 {
        self.batches.last().map_or(0, |b| b.first_chunk + b.chunks)
    }

    /// Proposes a batch of the sealed chunks no batch holds, if there are `batch_chunks` of them
    /// or the oldest waited `batch_timeout`; returns it.
    pub fn propose_batch(&mut self, store: &Store) -> Result<Option<Batch>> {
        let first = self.batched_chunks();
        let waiting = self.summaries.len() as u64 - first;
        let due = self
            .sealed_at
            .get(&first)
            .is_some_and(|t| t.elapsed() >= self.limits.batch_timeout);
        if waiting == 0 || !(waiting >= self.limits.batch_chunks as u64 || due) {
            return Ok(None);
        }
        let batch = Batch {
            index: self.batches.len() as u64 + 1,
            first_chunk: first,
            chunks: waiting.min(self.limits.batch_chunks as u64),
            status: BatchStatus::Proposed,
            finalize_latency_ms: None,
        };
        store.write(|w| w.put(BATCHES, batch.index, &batch))?;
        for c in first..first + batch.chunks {
            self.sealed_at.remove(&c);
        }
        tracing::info!(batch = batch.index, chunks = batch.chunks, "batch proposed");
        self.batches.push(batch.clone());
        Ok(Some(batch))
    }

    /// Records a batch's new status and, in the same write, removes the outbox entry of the step
    /// that got it there. `ready` is when its last proof was ready (for the finalization latency).
    pub fn set_status(
        &mut self,
        store: &Store,
        index: u64,
        status: BatchStatus,
        outbox: Option<&str>,
        ready: Option<Instant>,
    ) -> Result<()> {
        let Some(b) = self.batches.iter_mut().find(|b| b.index == index) else {
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

    /// The batches, in order.
    pub fn batches(&self) -> &[Batch] {
        &self.batches
    }

    /// The summary of a sealed chunk.
    pub fn summary(&self, chunk: u64) -> Option<&ChunkSummary> {
        self.summaries.get(usize::try_from(chunk).ok()?)
    }

    /// Every sealed chunk (`prove_seconds` left to the coordinator).
    pub fn chunks(&self) -> Vec<ChunkInfo> {
        let slots = self.core.chunk_slots;
        self.summaries
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let i = i as u64;
                let batch = self
                    .batches
                    .iter()
                    .find(|b| i >= b.first_chunk && i < b.first_chunk + b.chunks)
                    .map(|b| b.index);
                ChunkInfo {
                    index: i,
                    transactions: (s.fill_ratio * slots as f64).round() as usize,
                    slots,
                    fill_ratio: s.fill_ratio,
                    batch,
                    prove_seconds: None,
                }
            })
            .collect()
    }

    /// Where a transaction is, and the batch holding it.
    pub fn locate(&self, id: &str) -> Option<(Location, Option<&Batch>)> {
        let loc = *self.ids.get(id)?;
        let batch = match loc {
            Location::Chunk(c) => self
                .batches
                .iter()
                .find(|b| c >= b.first_chunk && c < b.first_chunk + b.chunks),
            _ => None,
        };
        Some((loc, batch))
    }

    /// Counts for the status call: queued, in the open chunk, sealed chunks, blocks built.
    pub fn counts(&self) -> (usize, usize, usize, u64) {
        (
            self.queue.len(),
            self.open.len(),
            self.summaries.len(),
            self.blocks,
        )
    }
}
