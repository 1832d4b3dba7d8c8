//! Errors of the protocol core. Every rejected transaction maps to one variant,
//! and the state is unchanged after any of them.

use alloy_primitives::Address;

/// `Result` with the core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything the protocol core can reject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A 32-byte value is not below the field modulus.
    #[error("value is not a canonical field element (must be below the BN254 scalar modulus)")]
    NonCanonicalField,
    /// A compressed public key does not decode to a curve point.
    #[error("public key is not a Baby Jubjub point")]
    InvalidPublicKey,
    /// The signature does not verify against the account's key.
    #[error("bad signature for account {account}")]
    BadSignature {
        /// Signer's account id.
        account: u32,
    },
    /// The account has no L2 key bound yet, so it cannot sign.
    #[error("account {account} has no L2 key; bind one with an L1 deposit or key change")]
    NoKey {
        /// The account id.
        account: u32,
    },
    /// The transaction's nonce is not the account's next nonce.
    #[error("bad nonce for account {account}: expected {expected}, got {got}")]
    BadNonce {
        /// The account id.
        account: u32,
        /// The account's current nonce.
        expected: u32,
        /// The transaction's nonce.
        got: u32,
    },
    /// The account's nonce cannot be incremented any more.
    #[error("account {account} has used every nonce")]
    NonceExhausted {
        /// The account id.
        account: u32,
    },
    /// The account does not hold enough of the token.
    #[error("insufficient balance of token {token} in account {account}: have {have}, need {need}")]
    InsufficientBalance {
        /// The account id.
        account: u32,
        /// The token id.
        token: u8,
        /// Current balance.
        have: u128,
        /// Amount plus fee.
        need: u128,
    },
    /// A balance, or amount plus fee, would exceed `2^128 - 1`.
    #[error("balance overflow of token {token} in account {account}")]
    Overflow {
        /// The account id.
        account: u32,
        /// The token id.
        token: u8,
    },
    /// The account id is outside the tree or the account does not exist.
    #[error("unknown account {account}")]
    UnknownAccount {
        /// The account id.
        account: u32,
    },
    /// The token id is not a leaf of the balance tree.
    #[error("unknown token {token}")]
    UnknownToken {
        /// The token id.
        token: u16,
    },
    /// A deposit names an existing account with another owner, or an owner of zero.
    #[error("deposit owner {got} does not match account {account} (owner {expected})")]
    OwnerMismatch {
        /// The account id.
        account: u32,
        /// The account's owner.
        expected: Address,
        /// The deposit's owner.
        got: Address,
    },
    /// The chunk has no free slot for the transaction.
    #[error("over capacity: chunk holds {capacity} slots, {used} used")]
    OverCapacity {
        /// Slots in a chunk.
        capacity: usize,
        /// Slots already used.
        used: usize,
    },
    /// An L2 transaction's amount or fee is not one the packed form of its record holds exactly.
    #[error(
        "{what} {value} is not representable in its packed form (10 significant digits for an amount, 3 for a fee); the nearest value below is {nearest}"
    )]
    Unrepresentable {
        /// Which value: `"amount"` or `"fee"`.
        what: &'static str,
        /// The value given.
        value: u128,
        /// The largest representable value at most `value`, what a wallet rounds to.
        nearest: u128,
    },
    /// Encoded bytes are malformed.
    #[error("malformed encoding: {0}")]
    Decode(String),
    /// A Merkle proof has the wrong shape.
    #[error("malformed Merkle proof: expected {expected} siblings, got {got}")]
    ProofShape {
        /// Siblings the tree's depth requires.
        expected: usize,
        /// Siblings given.
        got: usize,
    },
    /// A record read back from L1 cannot follow from the state: the data is corrupt.
    #[error("record does not follow from the state: {reason}")]
    RecordMismatch {
        /// What does not match.
        reason: String,
    },
    /// A list of accounts (a state snapshot) is not in canonical form.
    #[error("snapshot: {0}")]
    Snapshot(String),
    /// A transaction of a chunk was rejected; the chunk was not applied.
    #[error("transaction {index} of the chunk rejected: {reason}")]
    Rejected {
        /// Position of the transaction in the chunk.
        index: usize,
        /// Why it was rejected.
        reason: Box<Error>,
    },
}
