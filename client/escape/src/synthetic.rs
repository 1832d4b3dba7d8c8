//! A synthetic L1 history, for the re-derivation benchmarks: what L1 would hold after a busy
//! rollup ran for a while. `accounts` users are created by deposits, then make `transfers`
//! pseudo-random ETH transfers to each other (fee to the fee account), posted in batches of
//! `batch` transfers in chunks of `chunk_slots` slots. Each batch carries the root the
//! replay reaches (what `finalizeBatch` would have stored).

use alloy_primitives::Address;
use rollup_protocol::codec::{Record, encode_chunk};
use rollup_protocol::eddsa::SecretKey;
use rollup_protocol::tx::Deposit;
use rollup_protocol::{Config, State};

use crate::derive::FinalizedBatch;

/// The shape of a synthetic history.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Users (account ids 1..=accounts; 0 is the fee account).
    pub accounts: u32,
    /// Transfers after the deposits.
    pub transfers: usize,
    /// Transfers per batch.
    pub batch: usize,
    /// Slots per chunk.
    pub chunk_slots: usize,
}

/// The history's batches, deposits first. Errs if the shape cannot be replayed (no accounts,
/// or more accounts than the tree holds).
pub fn history(shape: Shape, chain_id: u64) -> rollup_protocol::Result<Vec<FinalizedBatch>> {
    let config = Config {
        chain_id,
        chunk_slots: shape.chunk_slots.max(1),
    };
    let key = SecretKey::from_seed(b"synthetic").public();
    let deposits = (0..=shape.accounts).map(|id| {
        Record::Deposit(Deposit {
            account_id: id,
            owner: Address::left_padding_from(&(u64::from(id) + 1).to_be_bytes()),
            token: 0,
            amount: 1 << 100,
            pubkey: key,
        })
    });
    // A fixed xorshift stream: the same history every run.
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let users = u64::from(shape.accounts.max(1));
    let transfers = (0..shape.transfers).map(|_| {
        // Ids fit: they are below `accounts`, a u32.
        let from = u32::try_from(next() % users + 1).unwrap_or(1);
        let to = u32::try_from(next() % users + 1).unwrap_or(1);
        Record::Transfer {
            from,
            to,
            token: 0,
            amount: u128::from(next() % 1_000_000),
            fee: 1,
        }
    });
    let mut state = State::new(config);
    let mut batches = Vec::new();
    let mut post = |records: Vec<Record>| -> rollup_protocol::Result<()> {
        state.apply_records(&records)?;
        let chunks = records
            .chunks(config.chunk_slots)
            .map(|c| {
                let mut c = c.to_vec();
                c.resize(config.chunk_slots, Record::Noop);
                encode_chunk(&c)
            })
            .collect::<rollup_protocol::Result<_>>()?;
        batches.push(FinalizedBatch {
            index: batches.len() as u64 + 1,
            chunks,
            state_root: state.root(),
            // Each batch committed in a block of its own and finalized in the next.
            committed_at: 2 * batches.len() as u64 + 1,
            finalized_at: 2 * batches.len() as u64 + 2,
        });
        Ok(())
    };
    let batch = shape.batch.max(1);
    let deposits: Vec<Record> = deposits.collect();
    for b in deposits.chunks(batch) {
        post(b.to_vec())?;
    }
    let transfers: Vec<Record> = transfers.collect();
    for b in transfers.chunks(batch) {
        post(b.to_vec())?;
    }
    Ok(batches)
}
