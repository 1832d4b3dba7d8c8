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
//! its first block; its fill ratio is logged. Each sealed chunk is handed on with its witnesses (to
//! the batch book, which groups chunks into batches, and the coordinator, which proves them); the
//! sequencer keeps nothing of a chunk after that but where its transactions are.
//!
//! Everything is written to the [`Store`] before it takes effect, and [`Sequencer::restore`]
//! rebuilds the same sequencer from it after a crash.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use alloy_primitives::B256;
use rollup_protocol::capacity::{ChunkCapacity, cost};
use rollup_protocol::tx::TxType;
use rollup_protocol::{Chunk, Config as CoreConfig, State, Tx, field};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::store::{CHUNKS, L1_MARKS, QUEUE, REQUESTS, Store};

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

/// The transactions a revert takes out of sealed chunks ([`unseal`]), and what becomes of them.
#[derive(Debug, Clone, Default)]
pub struct Unsealed {
    /// The sealed chunks taken apart (every one from the first, in order).
    pub chunks: Vec<u64>,
    /// The queue entries they join, by sequence number.
    pub queued: Vec<u64>,
    /// What goes back into the queue, in the order it was accepted: chunks first, then the queue.
    pub requeue: Vec<Entry>,
    /// The transactions named to be dropped, which were.
    pub dropped: Vec<String>,
    /// The L2 transactions that no longer apply without the dropped ones, with the core's reason.
    pub rejected: Vec<(String, String)>,
    /// The L1 requests left out because L1 no longer holds them (every one from the first gone).
    pub requests_gone: Vec<u64>,
}

/// Takes apart every sealed chunk from `first` on (a revert, `crate::revert`): their
/// transactions and the queue's, in order, are checked again against the state after chunk
/// `first - 1`, without the transactions `drop` names and without the L1 requests from index
/// `gone` on (L1 no longer holds them). Other L1 requests cannot be dropped (L1 demands each, in
/// order) and must still apply; an L2 transaction that no longer applies is rejected. Nothing is
/// written: [`Unsealed::write`] does that, in the caller's write.
pub fn unseal(
    store: &Store,
    core: CoreConfig,
    first: u64,
    drop: &[String],
    drop_chunks: &[u64],
    gone: Option<u64>,
) -> Result<Unsealed> {
    let mut state = State::new(core);
    let mut out = Unsealed::default();
    let mut candidates = Vec::new();
    let mut drop = drop.to_vec();
    for (index, sc) in store.all::<SealedChunk>(CHUNKS)? {
        if index < first {
            for e in &sc.entries {
                state.apply_tx(&e.tx)?;
            }
        } else {
            if drop_chunks.contains(&index) {
                // Every L2 transaction of the chunk; its L1 requests stay (L1 demands them).
                drop.extend(
                    sc.entries
                        .iter()
                        .filter(|e| e.request.is_none())
                        .map(|e| e.id.clone()),
                );
            }
            out.chunks.push(index);
            candidates.extend(sc.entries);
        }
    }
    if let Some(c) = drop_chunks.iter().find(|c| !out.chunks.contains(c)) {
        return Err(Error::Revert(format!(
            "chunk {c} is not above the kept batch (or was never sealed): nothing to drop there"
        )));
    }
    let drop = &drop[..];
    for (seq, e) in store.all::<Entry>(QUEUE)? {
        out.queued.push(seq);
        candidates.push(e);
    }
    for id in drop {
        match candidates.iter().find(|e| &e.id == id) {
            None => {
                return Err(Error::Revert(format!(
                    "no transaction {id} above the kept batch: nothing to drop"
                )));
            }
            Some(Entry {
                request: Some(i), ..
            }) => {
                return Err(Error::Revert(format!(
                    "{id} is L1 request {i}: L1 demands every request, in order, so it cannot be dropped"
                )));
            }
            Some(_) => {}
        }
    }
    for e in candidates {
        if let (Some(i), Some(g)) = (e.request, gone)
            && i >= g
        {
            out.requests_gone.push(i);
            continue;
        }
        if drop.contains(&e.id) {
            out.dropped.push(e.id);
            continue;
        }
        match state.apply_tx(&e.tx) {
            Ok(_) => out.requeue.push(e),
            Err(err) if e.request.is_none() => out.rejected.push((e.id, err.to_string())),
            Err(err) => {
                return Err(Error::Revert(format!(
                    "{} no longer applies ({err}); the core applies every L1 request, so the store is inconsistent",
                    e.id
                )));
            }
        }
    }
    if let Some(g) = gone
        && out.requests_gone.first() != Some(&g)
    {
        return Err(Error::Revert(format!(
            "L1 request {g}, which L1 no longer holds, is in a kept batch: revert to a batch before it"
        )));
    }
    Ok(out)
}

impl Unsealed {
    /// Writes it: the chunks and the old queue removed, the entries queued again from sequence
    /// number `next_seq` on, `next_seq` moved past them, the dropped transactions recorded (refused
    /// for good) with the batch the revert kept.
    pub fn write(&self, w: &crate::store::Writer<'_>, next_seq: u64, kept: u64) -> Result<()> {
        if let Some(&g) = self.requests_gone.iter().min() {
            // The watcher takes them again from L1 if it ever holds them (the caller sets where it
            // reads from).
            w.set_meta("next_request", g)?;
            for i in &self.requests_gone {
                w.remove(REQUESTS, *i)?;
            }
        }
        for id in &self.dropped {
            w.put_dropped(id, kept)?;
        }
        for c in &self.chunks {
            w.remove(CHUNKS, *c)?;
        }
        for s in &self.queued {
            w.remove(QUEUE, *s)?;
        }
        for (i, e) in self.requeue.iter().enumerate() {
            w.put(QUEUE, next_seq + i as u64, e)?;
        }
        w.set_meta("next_seq", next_seq + self.requeue.len() as u64)
    }
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
}

/// Where one page of the watcher's reading ended.
#[derive(Debug, Clone)]
pub struct L1Page {
    /// Its last block.
    pub end: u64,
    /// That block's hash.
    pub hash: B256,
    /// Older marks to drop (only the newest are kept).
    pub prune: Vec<u64>,
}

/// What an ingest writes about L1, with the requests.
struct L1Write<'a> {
    next_request: u64,
    page: &'a L1Page,
    hashes: Vec<(u64, B256)>,
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
    next_chunk: u64,
    ids: HashMap<String, Location>,
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

impl Sequencer {
    /// Rebuilds the sequencer from the store: every sealed chunk re-applied and handed to `sealed`
    /// with its witnesses, in order (the batch book rebuilds its summaries from them, the
    /// coordinator keeps those without a stored proof), then the queue re-applied to the pending
    /// state.
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
            next_chunk: 0,
            ids: HashMap::new(),
            next_request: store.meta("next_request")?,
            blocks: 0,
        };
        for (index, sc) in store.all::<SealedChunk>(CHUNKS)? {
            let txs: Vec<Tx> = sc.entries.iter().map(|e| e.tx).collect();
            let chunk = s.sealed.apply_chunk(&txs)?;
            for e in sc.entries {
                s.ids.insert(e.id, Location::Chunk(index));
            }
            if index != s.next_chunk {
                return Err(Error::Store(format!(
                    "sealed chunk {index} stored, chunk {} expected",
                    s.next_chunk
                )));
            }
            s.next_chunk = index + 1;
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
        if store.is_dropped(&id)? {
            return Err(Error::Dropped(id));
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

    /// Accepts L1 requests `(index, transaction, keccak hash of its record)`, which must continue
    /// the queue's order, and records, in the same write, each record's hash and where the
    /// watcher's page ended (`page`).
    pub fn ingest(
        &mut self,
        store: &Store,
        requests: Vec<(u64, Tx, B256)>,
        page: &L1Page,
    ) -> Result<()> {
        let mut entries = Vec::with_capacity(requests.len());
        let mut hashes = Vec::with_capacity(requests.len());
        let mut expected = self.next_request;
        for (index, tx, hash) in requests {
            if index != expected {
                return Err(Error::l1_msg(format!(
                    "request {index} read, {expected} expected next: the L1 logs have a gap"
                )));
            }
            expected += 1;
            hashes.push((index, hash));
            entries.push(Entry {
                id: tx_id(&tx, Some(index), self.core.chain_id),
                tx,
                request: Some(index),
            });
        }
        let l1 = L1Write {
            next_request: expected,
            page,
            hashes,
        };
        self.accept(store, entries, Some(l1))?;
        self.next_request = expected;
        Ok(())
    }

    /// Applies `entries` to the pending state (all or none), then stores and queues them.
    fn accept(
        &mut self,
        store: &Store,
        entries: Vec<Entry>,
        l1: Option<L1Write<'_>>,
    ) -> Result<()> {
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
            if let Some(l1) = &l1 {
                w.set_meta("next_request", l1.next_request)?;
                w.set_meta("next_l1_block", l1.page.end + 1)?;
                for (index, hash) in &l1.hashes {
                    w.put(REQUESTS, *index, hash)?;
                }
                w.put(L1_MARKS, l1.page.end, &l1.page.hash)?;
                for old in &l1.page.prune {
                    w.remove(L1_MARKS, *old)?;
                }
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
    /// witnesses to `sealed` (the batch book and the coordinator); returns its index.
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
        let index = self.next_chunk;
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
        self.next_chunk = index + 1;
        let fill_ratio = chunk.fill_ratio();
        tracing::info!(
            chunk = index,
            transactions = txs.len(),
            slots = self.core.chunk_slots,
            fill_ratio,
            "chunk sealed"
        );
        metrics::counter!("operator_chunks_sealed").increment(1);
        metrics::histogram!("operator_chunk_fill_ratio").record(fill_ratio);
        sealed(index, chunk)?;
        Ok(Some(index))
    }

    /// Where a transaction is (the batch holding its chunk is the batch book's to say).
    pub fn locate(&self, id: &str) -> Option<Location> {
        self.ids.get(id).copied()
    }

    /// Counts for the status call: queued, in the open chunk, sealed chunks, blocks built.
    pub fn counts(&self) -> (usize, usize, usize, u64) {
        (
            self.queue.len(),
            self.open.len(),
            self.next_chunk as usize,
            self.blocks,
        )
    }
}
