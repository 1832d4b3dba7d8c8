//! Syncing from L1 into a data directory ([`crate::store`]), safe against the L1 a user meets on
//! the worst day: RPCs that fail, lie, or serve another chain, and reorgs.
//!
//! - **Pinned**: the first sync records the L1 chain id, the rollup's address, code hash and
//!   deployment block; every later sync refuses an RPC on another chain or a rollup with other
//!   code.
//! - **A settled head**: it reads up to the `finalized` block by default, or `confirmations`
//!   below the latest.
//! - **Reorgs detected and undone**: every page is read between two reads of its last block's
//!   hash, its first block's parent must be the last block read, and every log's block must be
//!   the chain's. A page that L1 reorganised while it was read is read again. A reorg below the
//!   blocks read rolls the derivation back to the newest saved point that is still on the chain
//!   (or to the deployment block), and the sync goes on from there, saying so.
//! - **Saved after every page**: an interrupted sync resumes where it stopped, never applying a
//!   batch twice or skipping one.
//! - **Checked at the end**: the derived batch count and root against `lastFinalizedBatch()` and
//!   `stateRoot()` at the last block read, by its hash.

use alloy::eips::{BlockId, BlockNumberOrTag};
use alloy::primitives::{Address, U256, keccak256};
use alloy::providers::Provider;
use rollup_bindings::rollup::Rollup;
use rollup_protocol::Config;
use rollup_protocol::field;

use alloy::sol_types::SolEvent;
use rollup_bindings::irollup::IRollup;

use crate::blobs::{BlobReader, Source, Unavailable};
use crate::derive::{Checkpoint, Derivation, DeriveError};
use crate::l1::{L1Error, L1Reader, ReadError};
use crate::snapshot::Snapshot;
use crate::store::{BlockRef, DataDir, MARKS, Mark, Pin, Progress, StoreError};

/// Why a sync stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Reading L1 failed.
    #[error(transparent)]
    L1(#[from] L1Error),
    /// No source served the blob of a finalized batch.
    #[error(transparent)]
    Blob(#[from] Unavailable),
    /// The L1 data did not derive.
    #[error(transparent)]
    Derive(#[from] DeriveError),
    /// The data directory.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The data directory belongs to another rollup.
    #[error("{dir} holds rollup {pinned}, not {given}: use another --data-dir for {given}")]
    OtherRollup {
        /// The directory.
        dir: String,
        /// The rollup pinned there.
        pinned: Address,
        /// The rollup asked for.
        given: Address,
    },
    /// The RPC serves another chain than the one pinned or asked for.
    #[error(
        "the RPC serves L1 chain {rpc}, but {why} chain {expected}: use an RPC of chain {expected}{hint}"
    )]
    WrongChain {
        /// What the RPC reports.
        rpc: u64,
        /// The chain expected.
        expected: u64,
        /// Where the expectation comes from.
        why: &'static str,
        /// More advice.
        hint: &'static str,
    },
    /// The address holds no contract, or other code than the rollup pinned.
    #[error("{rollup}: {what}")]
    NotTheRollup {
        /// The address.
        rollup: Address,
        /// What is wrong.
        what: String,
    },
    /// The RPC's chain ends below every block this data directory keeps a mark of.
    #[error(
        "the RPC's latest block {latest} is below block {synced}, which this data directory has read: the RPC is behind; wait for it to catch up, or use another --rpc-url"
    )]
    Behind {
        /// The RPC's latest block.
        latest: u64,
        /// The oldest block the data directory keeps a mark of.
        synced: u64,
    },
    /// The head this sync follows is below the rollup's deployment (nothing is settled yet).
    #[error(
        "the settled head (block {head}) is below block {start}, where the rollup's history starts: wait for L1 to settle it, or follow fewer --confirmations"
    )]
    NotSettled {
        /// The head followed.
        head: u64,
        /// The first block to read.
        start: u64,
    },
    /// L1's own state at the block read disagrees with what its logs derived.
    #[error("{0}")]
    Inconsistent(String),
    /// A state snapshot was refused.
    #[error("snapshot refused: {0}")]
    Snapshot(String),
    /// A call to the rollup failed for a reason other than the RPC.
    #[error("reading {what} from the rollup at {rollup}: {reason}")]
    Contract {
        /// The rollup.
        rollup: Address,
        /// What was read.
        what: &'static str,
        /// The error.
        reason: String,
    },
}

/// Page reads in a row that may find L1 changed under them before a sync gives up.
const MAX_REREADS: u32 = 5;

/// Reorgs below the blocks already read that one sync follows before it gives up.
const MAX_ROLLBACKS: u32 = 3;

/// Which blocks a sync treats as settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    /// The node's `finalized` block (proof-of-stake finality).
    Finalized,
    /// This many blocks below the latest.
    Confirmations(u64),
}

/// How a sync reads L1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncOptions {
    /// Blocks per log query at most.
    pub page: u64,
    /// The head followed.
    pub follow: Follow,
    /// The first block of a first sync; the rollup's `DEPLOYMENT_BLOCK()` without it.
    pub from_block: Option<u64>,
    /// The L1 chain id the user expects; the RPC's must match it (and the pinned one).
    pub l1_chain_id: Option<u64>,
    /// The L2 chain id (recorded with the state; replay does not check signatures).
    pub chain_id: u64,
    /// Where the blobs of batches committed in blobs come from, after the data directory's cache
    /// and the L1 node (`crate::blobs`).
    pub blob_sources: Vec<Source>,
}

/// What a sync reached.
#[derive(Debug)]
pub struct Synced {
    /// What the data directory pinned.
    pub pin: Pin,
    /// The last block read.
    pub tip: BlockRef,
    /// The state derived up to it.
    pub derivation: Derivation,
    /// The tokens registered at the tip (index = token id).
    pub tokens: Vec<Address>,
}

/// What a sync tells the user while it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A page was read: the block reached and the head.
    Page {
        /// The last block of the page.
        reached: u64,
        /// The head followed.
        head: u64,
    },
    /// L1 reorganised below the blocks already read; the derivation went back.
    RolledBack {
        /// The block whose hash no longer matched.
        at: u64,
        /// The block the sync went back to (`None`: the deployment block).
        to: Option<u64>,
        /// The batches kept.
        batches: u64,
    },
    /// L1 reorganised while a page was read; the page is read again.
    PageReread {
        /// Its first block.
        from: u64,
    },
    /// The first sync pinned these.
    Pinned(Pin),
    /// The first sync starts from a state snapshot that L1 confirmed.
    FromSnapshot {
        /// Its batch.
        batch: u64,
        /// The block reading starts at.
        block: u64,
    },
}

/// Wraps a failed contract call: a transport failure stays an L1 error (its message says what
/// the user can do), anything else names the call.
fn contract_error(
    rollup: Address,
    what: &'static str,
) -> impl Fn(alloy::contract::Error) -> SyncError {
    move |e| match e {
        alloy::contract::Error::TransportError(t) if !t.is_error_resp() => {
            SyncError::L1(L1Error::Rpc {
                what: what.into(),
                attempts: 1,
                source: Box::new(t),
            })
        }
        other => SyncError::Contract {
            rollup,
            what,
            reason: other.to_string(),
        },
    }
}

fn rpc_error(what: &str) -> impl Fn(alloy::transports::TransportError) -> SyncError + '_ {
    move |e| {
        SyncError::L1(L1Error::Rpc {
            what: what.into(),
            attempts: 1,
            source: Box::new(e),
        })
    }
}

/// The chain id the RPC serves, checked against what the user and the directory expect.
pub async fn check_chain<P: Provider>(
    provider: &P,
    expected: Option<u64>,
    pinned: Option<u64>,
) -> Result<u64, SyncError> {
    let rpc = provider
        .get_chain_id()
        .await
        .map_err(rpc_error("the chain id"))?;
    if let Some(e) = expected
        && e != rpc
    {
        return Err(SyncError::WrongChain {
            rpc,
            expected: e,
            why: "--l1-chain-id says",
            hint: "",
        });
    }
    if let Some(p) = pinned
        && p != rpc
    {
        return Err(SyncError::WrongChain {
            rpc,
            expected: p,
            why: "the data directory was synced on",
            hint: ", or another --data-dir for this chain",
        });
    }
    Ok(rpc)
}

/// The header of block `number`, as a [`BlockRef`] with its parent's hash.
async fn header<P: Provider>(
    provider: &P,
    number: u64,
) -> Result<(BlockRef, alloy::primitives::B256), SyncError> {
    let block = provider
        .get_block_by_number(BlockNumberOrTag::Number(number))
        .await
        .map_err(rpc_error("a block header"))?
        .ok_or_else(|| {
            SyncError::Inconsistent(format!(
                "the RPC has no block {number} although it served later ones: it is behind or inconsistent; use another --rpc-url"
            ))
        })?;
    Ok((
        BlockRef {
            number,
            hash: block.header.hash,
        },
        block.header.parent_hash,
    ))
}

/// Whether `block` is still on the RPC's chain (a chain now shorter than it is another chain).
async fn canonical<P: Provider>(provider: &P, block: BlockRef) -> Result<bool, SyncError> {
    let found = provider
        .get_block_by_number(BlockNumberOrTag::Number(block.number))
        .await
        .map_err(rpc_error("a block header"))?;
    Ok(found.is_some_and(|b| b.header.hash == block.hash))
}

/// The head followed.
async fn settled_head<P: Provider>(provider: &P, follow: Follow) -> Result<BlockRef, SyncError> {
    let number = match follow {
        Follow::Finalized => provider
            .get_block_by_number(BlockNumberOrTag::Finalized)
            .await
            .map_err(rpc_error("the finalized block"))?
            .ok_or_else(|| {
                SyncError::Inconsistent(
                    "the RPC serves no `finalized` block: pass --confirmations N to follow N blocks below the latest".into(),
                )
            })?
            .header
            .number,
        Follow::Confirmations(n) => provider
            .get_block_number()
            .await
            .map_err(rpc_error("the latest block"))?
            .saturating_sub(n),
    };
    Ok(header(provider, number).await?.0)
}

/// The pin of a first sync: the RPC's chain, the rollup's code and deployment block.
async fn pin<P: Provider>(
    provider: &P,
    rollup: Address,
    chain: u64,
    from_block: Option<u64>,
) -> Result<(Pin, usize), SyncError> {
    let code = provider
        .get_code_at(rollup)
        .await
        .map_err(rpc_error("the rollup's code"))?;
    if code.is_empty() {
        return Err(SyncError::NotTheRollup {
            rollup,
            what: format!(
                "no contract at this address on chain {chain}: check --rollup and --rpc-url"
            ),
        });
    }
    let r = Rollup::new(rollup, provider);
    let slots = r
        .CHUNK_SLOTS()
        .call()
        .await
        .map_err(contract_error(rollup, "CHUNK_SLOTS"))?;
    let deployment = r
        .DEPLOYMENT_BLOCK()
        .call()
        .await
        .map_err(contract_error(rollup, "DEPLOYMENT_BLOCK"))?;
    let bad = |what: &str| SyncError::NotTheRollup {
        rollup,
        what: format!("{what} out of range: not a rollup of this version"),
    };
    let slots = usize::try_from(slots).map_err(|_| bad("CHUNK_SLOTS"))?;
    let deployment = u64::try_from(deployment).map_err(|_| bad("DEPLOYMENT_BLOCK"))?;
    Ok((
        Pin {
            l1_chain_id: chain,
            rollup,
            code_hash: keccak256(&code),
            deployment_block: deployment,
            start_block: from_block.unwrap_or(deployment),
        },
        slots,
    ))
}

/// The sync's state between pages.
struct Cursor<'p, P> {
    progress: Progress,
    derivation: Derivation,
    reader: L1Reader<&'p P>,
    batches_changed: bool,
    /// Batches were dropped since the last save: the progress (counting fewer) is written before
    /// the shorter batch file, so a crash between the two leaves a readable directory.
    batches_shrunk: bool,
}

impl<P: Provider> Cursor<'_, P> {
    fn save(&mut self, dir: &DataDir) -> Result<(), SyncError> {
        self.progress.pending = self.reader.pending();
        self.progress.batches = self.derivation.last_batch();
        let batches = self.batches_changed.then(|| self.derivation.checkpoint());
        if self.batches_shrunk {
            dir.save(&self.progress, None)?;
        }
        dir.save(&self.progress, batches.as_ref())?;
        self.batches_changed = false;
        self.batches_shrunk = false;
        Ok(())
    }

    /// Goes back to `mark` (or to the start without one: genesis, or the snapshot the first sync
    /// started from).
    fn roll_back(&mut self, mark: Option<Mark>) -> Result<(), SyncError> {
        let base = self.derivation.base().clone();
        let batches = mark.as_ref().map_or(base.batch, |m| m.batches);
        let mut cp: Checkpoint = self.derivation.checkpoint();
        cp.batches.retain(|b| b.index <= batches);
        self.batches_shrunk = batches < self.derivation.last_batch();
        self.derivation = Derivation::from_checkpoint_on(base, cp)?;
        self.batches_changed = true;
        let pending = mark.as_ref().map(|m| m.pending.clone()).unwrap_or_default();
        self.reader.replace_pending(pending);
        self.progress.tip = mark.as_ref().map(|m| m.tip);
        let limit = mark.as_ref().map(|m| m.tip.number);
        if self
            .progress
            .verified
            .as_ref()
            .is_some_and(|v| Some(v.tip.number) > limit)
        {
            self.progress.verified = None;
        }
        self.progress
            .marks
            .retain(|m| Some(m.tip.number) <= mark.as_ref().map(|k| k.tip.number));
        Ok(())
    }
}

/// Syncs `rollup` through `provider` into `dir` (see the module's documentation), reporting
/// what happens through `report`. A first sync starts from genesis.
pub async fn sync<P: Provider>(
    provider: &P,
    dir: &DataDir,
    rollup: Address,
    options: SyncOptions,
    report: impl FnMut(Event),
) -> Result<Synced, SyncError> {
    sync_inner(provider, dir, rollup, options, None, report).await
}

/// A first sync into the empty `dir` that starts from `snapshot` instead of genesis, once L1
/// confirms it: the snapshot must be of this chain, rollup and deployment; its accounts must give
/// the root it states; and that root must be the one in the `BatchFinalized` log of its batch, at
/// the block it names, settled and on the chain. The sync then reads L1 from the block of the
/// batch's commit, as [`sync`] goes on after it.
pub async fn sync_from<P: Provider>(
    provider: &P,
    dir: &DataDir,
    rollup: Address,
    options: SyncOptions,
    snapshot: Snapshot,
    report: impl FnMut(Event),
) -> Result<Synced, SyncError> {
    if dir.load()?.is_some() {
        return Err(SyncError::Snapshot(format!(
            "{} holds a sync already: start from a snapshot in a new --data-dir",
            dir.path().display()
        )));
    }
    sync_inner(provider, dir, rollup, options, Some(snapshot), report).await
}

/// Checks `snapshot` against L1 (see [`sync_from`]) and returns its state.
async fn check_snapshot<P: Provider>(
    provider: &P,
    rollup: Address,
    (pin, slots, chain_id): (&Pin, usize, u64),
    head: BlockRef,
    snapshot: &Snapshot,
) -> Result<rollup_protocol::State, SyncError> {
    let refuse = |what: String| Err(SyncError::Snapshot(what));
    if snapshot.l1_chain_id != pin.l1_chain_id {
        return refuse(format!(
            "the snapshot is of L1 chain {}, the RPC serves chain {}",
            snapshot.l1_chain_id, pin.l1_chain_id
        ));
    }
    if snapshot.rollup != rollup {
        return refuse(format!(
            "the snapshot is of rollup {}, not {rollup}",
            snapshot.rollup
        ));
    }
    if snapshot.chunk_slots != slots {
        return refuse(format!(
            "the snapshot is of a deployment with {} slots per chunk, the rollup has {slots}",
            snapshot.chunk_slots
        ));
    }
    if snapshot.batch == 0
        || snapshot.committed_at < pin.deployment_block
        || snapshot.committed_at > snapshot.finalized_at
    {
        return refuse(format!(
            "the snapshot names batch {} committed in block {} and finalized in block {}, which cannot be (the rollup was deployed in block {})",
            snapshot.batch, snapshot.committed_at, snapshot.finalized_at, pin.deployment_block
        ));
    }
    if snapshot.chain_id != chain_id {
        return refuse(format!(
            "the snapshot is of L2 chain {}, not {chain_id}: pass --chain-id {}",
            snapshot.chain_id, snapshot.chain_id
        ));
    }
    if snapshot.finalized_at > head.number {
        return refuse(format!(
            "the snapshot's batch {} was finalized in block {}, above the settled head (block {}): wait for L1 to settle it, or follow fewer --confirmations",
            snapshot.batch, snapshot.finalized_at, head.number
        ));
    }
    // The cheap checks on L1 first, the rebuild of every tree last.
    confirm_finalized(
        provider,
        rollup,
        snapshot.batch,
        snapshot.finalized_at,
        snapshot.state_root,
    )
    .await?;
    if batch_logs(
        provider,
        rollup,
        IRollup::BatchCommitted::SIGNATURE_HASH,
        snapshot.batch,
        snapshot.committed_at,
    )
    .await?
    .is_empty()
    {
        return refuse(format!(
            "L1 has no BatchCommitted log of batch {} in block {}: the snapshot names the wrong block",
            snapshot.batch, snapshot.committed_at
        ));
    }
    snapshot
        .state()
        .map_err(|e| SyncError::Snapshot(e.to_string()))
}

/// The rollup's logs of `event` for `batch` (its first indexed argument) in block `block`, each
/// checked to be the rollup's and the batch's (not only trusted to the RPC's filter).
async fn batch_logs<P: Provider>(
    provider: &P,
    rollup: Address,
    event: alloy::primitives::B256,
    batch: u64,
    block: u64,
) -> Result<Vec<alloy::rpc::types::Log>, SyncError> {
    let index = U256::from(batch);
    let filter = alloy::rpc::types::Filter::new()
        .address(rollup)
        .event_signature(event)
        .topic1(index)
        .from_block(block)
        .to_block(block);
    let logs = provider
        .get_logs(&filter)
        .await
        .map_err(rpc_error("the snapshot batch's logs"))?;
    Ok(logs
        .into_iter()
        .filter(|l| {
            l.address() == rollup
                && l.topic0() == Some(&event)
                && l.topics().get(1) == Some(&alloy::primitives::B256::from(index))
                && l.block_number == Some(block)
        })
        .collect())
}

/// L1 finalized `batch` in block `block` with `root`, and that block is on the RPC's chain: what
/// makes a state snapshot of that batch the finalized state (its accounts giving `root`).
async fn confirm_finalized<P: Provider>(
    provider: &P,
    rollup: Address,
    batch: u64,
    block: u64,
    root: rollup_protocol::Fr,
) -> Result<(), SyncError> {
    let finalized = batch_logs(
        provider,
        rollup,
        IRollup::BatchFinalized::SIGNATURE_HASH,
        batch,
        block,
    )
    .await?;
    let [log] = finalized.as_slice() else {
        return Err(SyncError::Snapshot(format!(
            "L1 has no BatchFinalized log of batch {batch} in block {block}: the snapshot names the wrong block, its batch was never finalized, or a reorganisation took the finalization away"
        )));
    };
    let event = IRollup::BatchFinalized::decode_log(&log.inner).map_err(|e| {
        SyncError::Inconsistent(format!("a BatchFinalized log that does not decode ({e})"))
    })?;
    let on_chain = header(provider, block).await?.0;
    if log.block_hash != Some(on_chain.hash) {
        return Err(SyncError::Inconsistent(format!(
            "the BatchFinalized log of batch {batch} is not in block {block}'s canonical hash: L1 reorganised while it was read; try again"
        )));
    }
    if event.stateRoot != field::to_u256(&root) {
        return Err(SyncError::Snapshot(format!(
            "L1 finalized batch {batch} with root {:#066x}, the snapshot states {}: the snapshot is not of the finalized state",
            event.stateRoot,
            field::to_hex(&root)
        )));
    }
    Ok(())
}

async fn sync_inner<P: Provider>(
    provider: &P,
    dir: &DataDir,
    rollup: Address,
    options: SyncOptions,
    snapshot: Option<Snapshot>,
    mut report: impl FnMut(Event),
) -> Result<Synced, SyncError> {
    let stored = dir.load()?;
    let pinned = stored.as_ref().map(|(p, _)| p.pin);
    if let Some(p) = pinned
        && p.rollup != rollup
    {
        return Err(SyncError::OtherRollup {
            dir: dir.path().display().to_string(),
            pinned: p.rollup,
            given: rollup,
        });
    }
    let chain = check_chain(provider, options.l1_chain_id, pinned.map(|p| p.l1_chain_id)).await?;
    let mut cursor = match stored {
        Some((progress, batches)) => {
            let code = provider
                .get_code_at(rollup)
                .await
                .map_err(rpc_error("the rollup's code"))?;
            if keccak256(&code) != progress.pin.code_hash {
                return Err(SyncError::NotTheRollup {
                    rollup,
                    what: format!(
                        "its code is not the code pinned in {} (hash {}): another contract at the same address; use another --data-dir",
                        dir.path().display(),
                        progress.pin.code_hash
                    ),
                });
            }
            let derivation = dir.derivation(batches)?;
            let reader = L1Reader::new(provider, rollup, progress.chunk_slots, options.page)
                .blobs(blob_reader(dir, &options))
                .above(derivation.base().batch)
                .with_pending(progress.pending.clone());
            Cursor {
                derivation,
                progress,
                reader,
                batches_changed: false,
                batches_shrunk: false,
            }
        }
        None => {
            let from_block = snapshot.as_ref().map(|s| s.committed_at);
            let (pin, slots) =
                pin(provider, rollup, chain, from_block.or(options.from_block)).await?;
            let config = Config {
                chain_id: options.chain_id,
                chunk_slots: slots,
            };
            let (derivation, floor) = match &snapshot {
                None => (Derivation::new(config), 0),
                Some(s) => {
                    let head = settled_head(provider, options.follow).await?;
                    let state =
                        check_snapshot(provider, rollup, (&pin, slots, options.chain_id), head, s)
                            .await?;
                    dir.save_base(s)?;
                    report(Event::FromSnapshot {
                        batch: s.batch,
                        block: s.committed_at,
                    });
                    (Derivation::from_base(config, s.base(), state), s.batch)
                }
            };
            report(Event::Pinned(pin));
            Cursor {
                progress: Progress {
                    pin,
                    chunk_slots: slots,
                    chain_id: options.chain_id,
                    tip: None,
                    pending: Vec::new(),
                    batches: 0,
                    marks: Vec::new(),
                    tokens: Vec::new(),
                    verified: None,
                },
                derivation,
                reader: L1Reader::new(provider, rollup, slots, options.page)
                    .blobs(blob_reader(dir, &options))
                    .above(floor),
                batches_changed: true,
                batches_shrunk: false,
            }
        }
    };
    let head = settled_head(provider, options.follow).await?;
    if head.number < cursor.progress.pin.start_block {
        return Err(SyncError::NotSettled {
            head: head.number,
            start: cursor.progress.pin.start_block,
        });
    }
    if let Some(tip) = cursor.progress.tip
        && (!canonical(provider, tip).await? || tip.number > head.number)
    {
        // Gone from L1, or read past what this sync treats as settled (an earlier sync followed
        // fewer confirmations): back to a point at or below the settled head.
        let at = tip.number.min(head.number + 1);
        reorged(provider, &mut cursor, at, &mut report).await?;
    }
    // Bounds, so that an RPC whose answers keep contradicting each other cannot keep a sync busy.
    let (mut rereads, mut rollbacks) = (0, 0);
    loop {
        let start = cursor
            .progress
            .tip
            .map_or(cursor.progress.pin.start_block, |t| t.number + 1);
        if start > head.number {
            break;
        }
        let end = head
            .number
            .min(start.saturating_add(options.page.max(1) - 1));
        let before = header(provider, end).await?.0;
        let pending = cursor.reader.pending();
        let page = cursor.reader.finalized_batches(start, end).await;
        let (first, parent) = header(provider, start).await?;
        if let Some(tip) = cursor.progress.tip
            && parent != tip.hash
        {
            // The blocks already read are no longer L1's: go back, then read on.
            cursor.reader.replace_pending(pending);
            rollbacks += 1;
            if rollbacks > MAX_ROLLBACKS {
                return Err(SyncError::Inconsistent(format!(
                    "L1 reorganised below block {} {rollbacks} times in one sync: L1 is unstable, or the RPC switches between forks; try again later, follow more --confirmations, or use another --rpc-url",
                    tip.number
                )));
            }
            reorged(provider, &mut cursor, tip.number, &mut report).await?;
            continue;
        }
        let after = header(provider, end).await?.0;
        let mut stable = after == before && (start != end || first == after);
        if let Ok(page) = &page {
            for (&number, &hash) in &page.blocks {
                if stable && header(provider, number).await?.0.hash != hash {
                    stable = false;
                }
            }
        }
        if !stable {
            // Whatever the page read said (a reorg mid-page can look like anything), read it again.
            cursor.reader.replace_pending(pending);
            rereads += 1;
            if rereads > MAX_REREADS {
                return Err(SyncError::Inconsistent(format!(
                    "blocks {start}..={end} changed under every read: L1 keeps reorganising, or the RPC is inconsistent; try again later or use another --rpc-url"
                )));
            }
            report(Event::PageReread { from: start });
            continue;
        }
        rereads = 0;
        let page = match page {
            Ok(page) => page,
            Err(ReadError::L1(e @ L1Error::Malformed { .. })) => {
                return Err(restart(&mut cursor, dir, e.to_string())?);
            }
            Err(ReadError::L1(e)) => return Err(e.into()),
            Err(ReadError::Blob(e)) => return Err(e.into()),
        };
        let changed = !page.batches.is_empty() || cursor.reader.pending() != pending;
        for batch in page.batches {
            if let Err(e) = cursor.derivation.apply(batch) {
                return Err(restart(&mut cursor, dir, e.to_string())?);
            }
            cursor.batches_changed = true;
        }
        cursor.progress.tip = Some(after);
        if changed {
            cursor.progress.marks.push(Mark {
                tip: after,
                batches: cursor.derivation.last_batch(),
                pending: cursor.reader.pending(),
            });
            let excess = cursor.progress.marks.len().saturating_sub(MARKS);
            cursor.progress.marks.drain(..excess);
        }
        cursor.save(dir)?;
        report(Event::Page {
            reached: end,
            head: head.number,
        });
    }
    let Some(tip) = cursor.progress.tip else {
        return Err(SyncError::NotSettled {
            head: head.number,
            start: cursor.progress.pin.start_block,
        });
    };
    check_against_l1(provider, &mut cursor, dir, rollup, tip).await?;
    cursor.progress.verified = Some(Mark {
        tip,
        batches: cursor.derivation.last_batch(),
        pending: cursor.reader.pending(),
    });
    cursor.progress.tokens = tokens(provider, rollup, tip).await?;
    cursor.save(dir)?;
    // The latest state, for the next command to start from without replaying (a cache: the
    // batches saved above are what the progress stands on).
    // Best effort: a cache that cannot be written (a full disk) only makes the next command replay.
    if let Ok(latest) = Snapshot::of(&cursor.derivation, &cursor.progress.pin) {
        let _ = dir.save_latest(&latest);
    }
    Ok(Synced {
        pin: cursor.progress.pin,
        tip,
        derivation: cursor.derivation,
        tokens: cursor.progress.tokens,
    })
}

/// L1 reorganised below block `at`: back to the newest mark still on the chain.
async fn reorged<P: Provider>(
    provider: &P,
    cursor: &mut Cursor<'_, P>,
    at: u64,
    report: &mut impl FnMut(Event),
) -> Result<(), SyncError> {
    let mut target = None;
    for mark in cursor.progress.marks.iter().rev() {
        if mark.tip.number < at && canonical(provider, mark.tip).await? {
            target = Some(mark.clone());
            break;
        }
    }
    let read = cursor.progress.marks.iter().map(|m| m.tip.number);
    if target.is_none()
        && let Some(oldest) = read.chain(cursor.progress.tip.map(|t| t.number)).min()
    {
        // No mark on the chain: a reorg deeper than every mark, or an RPC that has not the blocks
        // yet. The second is told apart (a reorg on a live chain does not leave it shorter than
        // every block read) and refused, instead of rolling back to the deployment block.
        let latest = provider
            .get_block_number()
            .await
            .map_err(rpc_error("the latest block"))?;
        if latest < oldest {
            return Err(SyncError::Behind {
                latest,
                synced: oldest,
            });
        }
    }
    let base = cursor.derivation.base().clone();
    if target.is_none() && base.batch > 0 {
        // Back to the snapshot this directory started from: only if L1 still holds its batch's
        // finalization (a reorganisation deeper than it, possible when following few
        // confirmations, leaves the directory nothing to stand on).
        confirm_finalized(
            provider,
            cursor.progress.pin.rollup,
            base.batch,
            base.finalized_at,
            base.root,
        )
        .await
        .map_err(|e| {
            SyncError::Snapshot(format!(
                "L1 reorganised below the snapshot this data directory started from ({e}): start again in a new --data-dir, from genesis or from a snapshot of a batch L1 finalized"
            ))
        })?;
    }
    report(Event::RolledBack {
        at,
        to: target.as_ref().map(|m| m.tip.number),
        batches: target.as_ref().map_or(base.batch, |m| m.batches),
    });
    cursor.roll_back(target)
}

/// The closing check: the derived batch count and root against L1's at `tip`.
async fn check_against_l1<P: Provider>(
    provider: &P,
    cursor: &mut Cursor<'_, P>,
    dir: &DataDir,
    rollup: Address,
    tip: BlockRef,
) -> Result<(), SyncError> {
    let r = Rollup::new(rollup, provider);
    let at = BlockId::hash(tip.hash);
    let on_l1 = r
        .lastFinalizedBatch()
        .block(at)
        .call()
        .await
        .map_err(contract_error(rollup, "lastFinalizedBatch"))?;
    let root = r
        .stateRoot()
        .block(at)
        .call()
        .await
        .map_err(contract_error(rollup, "stateRoot"))?;
    let derived = cursor.derivation.last_batch();
    let derived_root = field::to_u256(&cursor.derivation.state().root());
    if on_l1 == U256::from(derived) && root == derived_root {
        return Ok(());
    }
    let problem = if on_l1 > U256::from(derived) {
        format!(
            "L1 had finalized {on_l1} batches at block {} but the RPC's logs showed only {derived}: the RPC left logs out",
            tip.number
        )
    } else if on_l1 < U256::from(derived) {
        format!(
            "the RPC's logs showed {derived} finalized batches but its state at block {} has {on_l1}: the RPC contradicts itself",
            tip.number
        )
    } else {
        format!(
            "the derived state root {derived_root:#066x} is not stateRoot() {root:#066x} at block {}: the RPC contradicts itself",
            tip.number
        )
    };
    Err(restart(cursor, dir, problem)?)
}

/// The blob reader of a sync: the data directory's `blobs/` cache, the L1 node, then the sources
/// given.
fn blob_reader(dir: &DataDir, options: &SyncOptions) -> BlobReader {
    BlobReader::new(
        Some(dir.path().join("blobs")),
        true,
        options.blob_sources.clone(),
    )
}

/// The RPC served data that contradicts itself: nothing it served since the last sync that
/// passed the closing check can be trusted, so the progress goes back to that point (or to the
/// start, keeping the pin) and the error says so.
fn restart<P: Provider>(
    cursor: &mut Cursor<'_, P>,
    dir: &DataDir,
    problem: String,
) -> Result<SyncError, SyncError> {
    let verified = cursor.progress.verified.clone();
    let back = verified
        .as_ref()
        .map_or(cursor.progress.pin.start_block, |m| m.tip.number);
    cursor.roll_back(verified)?;
    cursor.save(dir)?;
    Ok(SyncError::Inconsistent(format!(
        "{problem}. The progress went back to block {back}, where L1's own state last confirmed it, so that nothing this RPC served since is kept: sync again through another --rpc-url"
    )))
}

/// The tokens registered at `tip`.
async fn tokens<P: Provider>(
    provider: &P,
    rollup: Address,
    tip: BlockRef,
) -> Result<Vec<Address>, SyncError> {
    let r = Rollup::new(rollup, provider);
    let at = BlockId::hash(tip.hash);
    let count = r
        .tokenCount()
        .block(at)
        .call()
        .await
        .map_err(contract_error(rollup, "tokenCount"))?;
    // Token ids are one byte: at most 256 tokens.
    let count = u16::try_from(count.min(U256::from(256u16))).unwrap_or(256);
    let mut out = Vec::with_capacity(usize::from(count));
    for id in (0..count).filter_map(|i| u8::try_from(i).ok()) {
        out.push(
            r.tokenOf(id)
                .block(at)
                .call()
                .await
                .map_err(contract_error(rollup, "tokenOf"))?,
        );
    }
    Ok(out)
}
