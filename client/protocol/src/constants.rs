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

/// Poseidon2 state width (capacity 1, rate 2).
pub const POSEIDON_WIDTH: usize = 3;
/// Poseidon rate.
pub const POSEIDON_RATE: usize = 2;
/// Poseidon full rounds (half before, half after the partial rounds).
pub const POSEIDON_FULL_ROUNDS: usize = 8;
/// Poseidon partial rounds.
pub const POSEIDON_PARTIAL_ROUNDS: usize = 56;

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
/// Domain tag of a link of a batch's commitment chain (2 inputs: the chain so far and a chunk's
/// data commitment; computed in the batch circuit, never on L1).
pub const TAG_BATCH: u64 = 6;
/// Domain tag of the digest of a verifying key as the batch circuit computes it (its fixed and
/// permutation commitments as limbs, and its transcript's initial state).
pub const TAG_KEY: u64 = 7;

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
/// A batch proof's public inputs after its accumulator and before the key digest:
/// `old_root, new_root, C_B, z, Y_L1, y_lo, y_hi` (`codec::BatchBinding::public_inputs`).
pub const BATCH_INPUTS: usize = 7;

/// Seconds an L1 request waits at least before escape mode may be activated over it (its deadline
/// is never sooner than this after it was queued).
pub const REQUEST_DEADLINE_SECS: u64 = 7 * 24 * 3600;
/// Seconds after which a request's deadline always falls, however long the queue before it: the
/// longest an honest forced exit waits before its owner may escape.
pub const REQUEST_DEADLINE_MAX_SECS: u64 = 14 * 24 * 3600;
/// Seconds each request adds to the deadline of the next one (`deadlineᵢ ≥ deadlineᵢ₋₁ +
/// spacing`): the operator's stated minimum throughput is one request per this many seconds.
pub const REQUEST_SPACING_SECS: u64 = 4;
/// Seconds a user has, once a governance change is scheduled, to ask for a forced exit and still be
/// able to escape before the change can apply.
pub const EXIT_WINDOW_SECS: u64 = 7 * 24 * 3600;
/// Seconds between a governance change being queued and taking effect: more than
/// `REQUEST_DEADLINE_MAX + EXIT_WINDOW`, by a day, so escape mode is reachable strictly before it.
pub const UPGRADE_DELAY_SECS: u64 = 22 * 24 * 3600;
/// Seconds a blob is kept by beacon nodes at least: `MIN_EPOCHS_FOR_BLOB_SIDECARS_REQUESTS` (4,096
/// epochs of 32 slots of 12 s), about 18.2 days.
pub const BLOB_RETENTION_SECS: u64 = 4096 * 32 * 12;
/// Seconds after its commit within which a batch posted in a blob must be finalized: L1 refuses a
/// later `finalizeBatch`, so a finalized batch's blob stays on the beacon chain for at least
/// `BLOB_RETENTION_SECS - BLOB_FINALIZE_WINDOW_SECS` (about 8.2 days) after its finalization, time
/// for anyone to fetch and archive it (`docs/protocol.md`, section 8).
pub const BLOB_FINALIZE_WINDOW_SECS: u64 = 10 * 24 * 3600;
/// The request fee of the reference deployment, in wei (a deployment parameter): about 200k gas at
/// 1 gwei, what the operator pays on L1 to commit and finalize one request.
pub const DEFAULT_REQUEST_FEE_WEI: u128 = 200_000_000_000_000;
/// The request fee doubles for every this many requests waiting (queued, not finalized).
pub const FEE_DOUBLING_BACKLOG: u64 = 10_000;
/// A deposit that creates an account pays this many request fees: its account id is taken for good.
pub const ACCOUNT_FEE_MULTIPLIER: u64 = 5;

/// Largest balance, amount or fee.
pub const MAX_BALANCE: u128 = u128::MAX;
/// Largest nonce; an account at this nonce can no longer sign.
pub const MAX_NONCE: u32 = u32::MAX;

/// The fixed text signed (EIP-191 `personal_sign`) by an L1 key to derive its L2 key.
pub const L2_KEY_MESSAGE: &str = "Sign this message to derive your rollup L2 key.\n\nOnly sign it on the rollup's own wallet page: anyone holding this signature can spend your L2 funds.";

// The exit window argument (`docs/protocol.md`, section 11): a forced exit requested within the
// exit window of a scheduled change is past its latest deadline strictly before the change applies.
const _: () = assert!(UPGRADE_DELAY_SECS > REQUEST_DEADLINE_MAX_SECS + EXIT_WINDOW_SECS);
const _: () = assert!(REQUEST_DEADLINE_SECS < REQUEST_DEADLINE_MAX_SECS);
// A finalized blob batch leaves days to fetch its blob before beacon nodes may drop it.
const _: () = assert!(BLOB_FINALIZE_WINDOW_SECS + 7 * 24 * 3600 < BLOB_RETENTION_SECS);
