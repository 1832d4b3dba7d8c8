//! Transactions: those signed on L2 (transfer, withdrawal) and those that arrive
//! as L1 requests (deposit, forced exit, key change), plus the padding no-op.

use alloy_primitives::{Address, U256};
use serde::{Deserialize, Serialize};

use crate::constants::TAG_TX;
use crate::eddsa::{PubKey, SecretKey, Signature};
use crate::field::{self, Fr};
use crate::poseidon::hash;
use crate::state::{AccountId, TokenId};

/// Type byte of each transaction, first byte of its encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[repr(u8)]
pub enum TxType {
    /// Padding slot: changes nothing.
    Noop = 0,
    /// L1 request: credit an account, creating it (and binding its key) if new.
    Deposit = 1,
    /// L2: move a token between accounts.
    Transfer = 2,
    /// L2: debit an account and pay its owner on L1.
    Withdraw = 3,
    /// L1 request: withdraw an account's whole balance of a token to its owner.
    ForcedExit = 4,
    /// L1 request: bind a new L2 key to an account.
    ChangeKey = 5,
}

impl TxType {
    /// Every type, in type-byte order.
    pub const ALL: [TxType; 6] = [
        TxType::Noop,
        TxType::Deposit,
        TxType::Transfer,
        TxType::Withdraw,
        TxType::ForcedExit,
        TxType::ChangeKey,
    ];

    /// The type for a type byte.
    pub fn from_byte(b: u8) -> Option<TxType> {
        TxType::ALL.get(usize::from(b)).copied()
    }

    /// Whether transactions of this type come from the L1 request queue.
    pub fn is_l1_request(self) -> bool {
        matches!(
            self,
            TxType::Deposit | TxType::ForcedExit | TxType::ChangeKey
        )
    }

    /// Whether L1 acts on a record of this type at commit (it consumes a request or credits a
    /// withdrawal: `Record::onchain_ops` is not empty); L1 skips the others.
    pub fn acts_on_l1(self) -> bool {
        !matches!(self, TxType::Noop | TxType::Transfer)
    }
}

/// A deposit request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deposit {
    /// Account credited (assigned by L1 on the owner's first deposit).
    pub account_id: AccountId,
    /// The account's L1 owner.
    pub owner: Address,
    /// Token deposited.
    pub token: TokenId,
    /// Amount credited.
    #[serde(with = "crate::field::serde_u128")]
    pub amount: u128,
    /// Key bound if this deposit creates the account; ignored otherwise (L1 sends `NONE`).
    pub pubkey: PubKey,
}

/// A transfer, as signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// Sender.
    pub from: AccountId,
    /// Receiver (must exist).
    pub to: AccountId,
    /// Token moved.
    pub token: TokenId,
    /// Amount received.
    #[serde(with = "crate::field::serde_u128")]
    pub amount: u128,
    /// Fee paid in the same token to the fee account.
    #[serde(with = "crate::field::serde_u128")]
    pub fee: u128,
    /// Sender's nonce.
    pub nonce: u32,
}

/// A withdrawal, as signed. The amount is paid to the account's L1 owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdraw {
    /// Account debited.
    pub from: AccountId,
    /// Token withdrawn.
    pub token: TokenId,
    /// Amount paid on L1.
    #[serde(with = "crate::field::serde_u128")]
    pub amount: u128,
    /// Fee paid in the same token to the fee account.
    #[serde(with = "crate::field::serde_u128")]
    pub fee: u128,
    /// Account's nonce.
    pub nonce: u32,
}

/// A forced exit request: withdraw the whole balance of `token`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForcedExit {
    /// The account (L1 checked that its owner asked).
    pub account_id: AccountId,
    /// The token.
    pub token: TokenId,
}

/// A key change request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeKey {
    /// The account (L1 checked that its owner asked).
    pub account_id: AccountId,
    /// The new key.
    pub pubkey: PubKey,
}

/// Any transaction the transition accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Tx {
    /// Padding.
    Noop,
    /// L1 deposit.
    Deposit(Deposit),
    /// Signed transfer.
    Transfer {
        /// The transfer.
        tx: Transfer,
        /// Sender's signature on [`Transfer::message`].
        sig: Signature,
    },
    /// Signed withdrawal.
    Withdraw {
        /// The withdrawal.
        tx: Withdraw,
        /// Account's signature on [`Withdraw::message`].
        sig: Signature,
    },
    /// L1 forced exit.
    ForcedExit(ForcedExit),
    /// L1 key change.
    ChangeKey(ChangeKey),
}

impl Tx {
    /// The transaction's type.
    pub fn tx_type(&self) -> TxType {
        match self {
            Tx::Noop => TxType::Noop,
            Tx::Deposit(_) => TxType::Deposit,
            Tx::Transfer { .. } => TxType::Transfer,
            Tx::Withdraw { .. } => TxType::Withdraw,
            Tx::ForcedExit(_) => TxType::ForcedExit,
            Tx::ChangeKey(_) => TxType::ChangeKey,
        }
    }
}

/// Where each field sits in the signed message's header, `header = Σ field·2^shift`: the shifts
/// the core hashes with and the chunk circuit recomposes the header with.
pub mod header {
    /// `from` (32 bits) above the type byte.
    pub const FROM: usize = 8;
    /// `to` (32 bits).
    pub const TO: usize = FROM + 32;
    /// `token` (8 bits).
    pub const TOKEN: usize = TO + 32;
    /// `nonce` (32 bits).
    pub const NONCE: usize = TOKEN + 8;
    /// `chain_id` (64 bits).
    pub const CHAIN_ID: usize = NONCE + 32;
    /// The header's width: below the field's 254 bits, so the sum is never reduced.
    pub const BITS: usize = CHAIN_ID + 64;
    const _: () = assert!(BITS < 254);
}

/// The signed message of an L2 transaction:
/// `Poseidon(TAG_TX; header, amount, fee)` with
/// `header = type + from·2^8 + to·2^40 + token·2^72 + nonce·2^80 + chain_id·2^112`
/// (the shifts are [`header`]'s).
#[allow(clippy::too_many_arguments)]
pub fn signed_message(
    ty: TxType,
    from: AccountId,
    to: AccountId,
    token: TokenId,
    amount: u128,
    fee: u128,
    nonce: u32,
    chain_id: u64,
) -> Fr {
    let header = U256::from(ty as u8)
        | (U256::from(from) << header::FROM)
        | (U256::from(to) << header::TO)
        | (U256::from(token) << header::TOKEN)
        | (U256::from(nonce) << header::NONCE)
        | (U256::from(chain_id) << header::CHAIN_ID);
    let header = field::from_u256(header).unwrap_or(Fr::from(0u64));
    hash(
        TAG_TX,
        &[header, field::from_u128(amount), field::from_u128(fee)],
    )
}

impl Transfer {
    /// The message the sender signs.
    pub fn message(&self, chain_id: u64) -> Fr {
        signed_message(
            TxType::Transfer,
            self.from,
            self.to,
            self.token,
            self.amount,
            self.fee,
            self.nonce,
            chain_id,
        )
    }

    /// Signs and wraps into a [`Tx`].
    pub fn sign(self, key: &SecretKey, chain_id: u64) -> Tx {
        Tx::Transfer {
            sig: key.sign(self.message(chain_id)),
            tx: self,
        }
    }
}

impl Withdraw {
    /// The message the account signs (`to` = 0).
    pub fn message(&self, chain_id: u64) -> Fr {
        signed_message(
            TxType::Withdraw,
            self.from,
            0,
            self.token,
            self.amount,
            self.fee,
            self.nonce,
            chain_id,
        )
    }

    /// Signs and wraps into a [`Tx`].
    pub fn sign(self, key: &SecretKey, chain_id: u64) -> Tx {
        Tx::Withdraw {
            sig: key.sign(self.message(chain_id)),
            tx: self,
        }
    }
}
