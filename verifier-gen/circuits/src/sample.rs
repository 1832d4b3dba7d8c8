//! Sample histories executed by the core, for the Foundry fixtures, the EVM test and the
//! benchmarks: the same accounts everywhere, so that L1 can replay the deposits.

use alloy_primitives::Address;
use rollup_protocol::codec::BatchBinding;
use rollup_protocol::eddsa::{Point, SecretKey};
use rollup_protocol::tx::{Deposit, Transfer};
use rollup_protocol::{Chunk, Config, State, Tx};

/// A sample account: its L1 owner, its L1 deposit (wei) and its L2 key.
#[derive(Debug, Clone, Copy)]
pub struct Account {
    /// The owner address.
    pub owner: Address,
    /// The ETH it deposits.
    pub amount: u64,
    /// Its key (`NONE` for the fee account).
    pub pubkey: Point,
}

/// The accounts, by id: 0 is the fee account the rollup's constructor requests (no key, nothing
/// deposited), 1 and 2 deposit with a key.
pub fn accounts() -> [Account; 3] {
    let account = |byte: u8, amount: u64, seed: &[u8]| Account {
        owner: Address::repeat_byte(byte),
        amount,
        pubkey: if seed.is_empty() {
            Point::NONE
        } else {
            SecretKey::from_seed(seed).public()
        },
    };
    [
        account(0xfe, 0, b""),
        account(0xa1, 1_000, b"alice"),
        account(0xb0, 1, b"bob"),
    ]
}

/// Account 1's secret key.
pub fn sender_key() -> SecretKey {
    SecretKey::from_seed(b"alice")
}

fn deposit(id: u32, a: &Account, amount: u128) -> Tx {
    Tx::Deposit(Deposit {
        account_id: id,
        owner: a.owner,
        token: 0,
        amount,
        pubkey: a.pubkey,
    })
}

/// From genesis, as L1 sees it: each account's deposit, one chunk each, then a transfer of 250
/// (fee 5) from account 1 to account 2 in a chunk of its own (padded to `slots`).
pub fn history(slots: usize, chain_id: u64) -> Result<Vec<Chunk>, rollup_protocol::Error> {
    let mut s = State::new(Config {
        chain_id,
        chunk_slots: slots,
    });
    let mut chunks = Vec::new();
    for (id, a) in (0u32..).zip(accounts()) {
        chunks.push(s.apply_chunk(&[deposit(id, &a, u128::from(a.amount))])?);
    }
    let tx = Transfer {
        from: 1,
        to: 2,
        token: 0,
        amount: 250,
        fee: 5,
        nonce: 0,
    }
    .sign(&sender_key(), chain_id);
    chunks.push(s.apply_chunk(&[tx])?);
    Ok(chunks)
}

/// A chunk whose every slot is a signed transfer from account 1 to 2, after deposits that fund them.
pub fn full_chunk(slots: usize, chain_id: u64) -> Result<Chunk, rollup_protocol::Error> {
    let mut s = State::new(Config {
        chain_id,
        chunk_slots: slots,
    });
    let deposits: Vec<Tx> = (0u32..)
        .zip(accounts())
        .map(|(id, a)| deposit(id, &a, 1 << 100))
        .collect();
    for d in deposits.chunks(slots.max(1)) {
        s.apply_chunk(d)?;
    }
    let key = sender_key();
    let transfers: Vec<Tx> = (0..slots)
        .map(|i| {
            Transfer {
                from: 1,
                to: 2,
                token: 0,
                amount: 1_000 + i as u128,
                fee: 3,
                nonce: i as u32,
            }
            .sign(&key, chain_id)
        })
        .collect();
    s.apply_chunk(&transfers)
}

/// Makes `chunks` one batch: computes the batch's binding and rebinds every chunk to it (its own
/// commitment and evaluation at the batch's challenge), as the operator does when it seals a batch.
pub fn bind_batch(chunks: &mut [Chunk]) -> Result<BatchBinding, rollup_protocol::Error> {
    let records: Vec<&[rollup_protocol::codec::Record]> =
        chunks.iter().map(|c| c.records.as_slice()).collect();
    let batch = BatchBinding::of(&records)?;
    for chunk in chunks.iter_mut() {
        chunk.binding = batch.chunk(&chunk.records)?;
    }
    Ok(batch)
}
