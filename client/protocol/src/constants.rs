//! Every protocol constant, in one place. `docs/protocol.md` has the same table;
//! the generated Solidity takes its values from here.

/// Depth of the account tree: `2^20` accounts.
pub const ACCOUNT_TREE_DEPTH: usize = 20;
/// Depth of each account's balance tree: `2^8` tokens.
pub const BALANCE_TREE_DEPTH: usize = 8;
/// Number of account ids.
pub const MAX_ACCOUNTS: u64 = 1 << ACCOUNT_TREE_DEPTH;
/// Number of token ids; token 0 is ETH.
pub const MAX_TOKENS: u16 = 1 << BALANCE_TREE_DEPTH;
/// Token id of ETH.
pub const ETH_TOKEN_ID: u8 = 0;
/// Account that receives every L2 fee. Created by the rollup's first L1 request.
pub const FEE_ACCOUNT_ID: u32 = 0;

/// Poseidon state width (capacity 1, rate 2).
pub const POSEIDON_WIDTH: usize = 3;
/// Poseidon rate.
pub const POSEIDON_RATE: usize = 2;
/// Poseidon full rounds (half before, half after the partial rounds).
pub const POSEIDON_FULL_ROUNDS: usize = 8;
/// Poseidon partial rounds.
pub const POSEIDON_PARTIAL_ROUNDS: usize = 57;

/// Domain tag of an inner Merkle node (2 inputs).
pub const TAG_NODE: u64 = 1;
/// Domain tag of an account leaf (4 inputs).
pub const TAG_ACCOUNT: u64 = 2;
/// Domain tag of an L2 transaction's signed message (3 inputs).
pub const TAG_TX: u64 = 3;
/// Domain tag of the EdDSA challenge (5 inputs).
pub const TAG_EDDSA: u64 = 4;
/// Domain tag of a chunk's data commitment (`3 * CHUNK_SLOTS` inputs).
pub const TAG_DATA: u64 = 5;

/// Bytes of a pubdata record once padded: three 31-byte field elements.
pub const RECORD_PADDED_BYTES: usize = 93;
/// Field elements per padded record.
pub const RECORD_FIELDS: usize = 3;
/// Bytes per record field element.
pub const RECORD_FIELD_BYTES: usize = 31;

/// Transaction slots per chunk of the reference deployment (the verifier is generated for one value).
pub const DEFAULT_CHUNK_SLOTS: usize = 4;
/// Most chunks a batch may hold.
pub const MAX_CHUNKS_PER_BATCH: usize = 16;

/// Seconds an L1 request may wait in the queue before escape mode may be activated.
pub const REQUEST_DEADLINE_SECS: u64 = 7 * 24 * 3600;
/// Seconds between a governance change being queued and taking effect.
pub const UPGRADE_DELAY_SECS: u64 = 21 * 24 * 3600;

/// Largest balance, amount or fee.
pub const MAX_BALANCE: u128 = u128::MAX;
/// Largest nonce; an account at this nonce can no longer sign.
pub const MAX_NONCE: u32 = u32::MAX;

/// The fixed text signed (EIP-191 `personal_sign`) by an L1 key to derive its L2 key.
pub const L2_KEY_MESSAGE: &str = "Sign this message to derive your rollup L2 key.\n\nOnly sign it on the rollup's own wallet page: anyone holding this signature can spend your L2 funds.";
