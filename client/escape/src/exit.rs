//! Turning the derived state into what the L1 escape takes: the core's balance proof in the
//! rollup's `StateProof.BalanceProof` ABI shape.

use alloy::primitives::U256;
use rollup_bindings::rollup::StateProof;
use rollup_protocol::field::Fr;
use rollup_protocol::field::to_u256;
use rollup_protocol::state::BalanceProof;

/// A balance proof whose paths do not have the depths of the L1 verifier.
#[derive(Debug, thiserror::Error)]
#[error("the proof's paths have {balance} and {account} siblings, L1 expects 8 and 20")]
pub struct PathLengthError {
    /// Balance-tree siblings.
    pub balance: usize,
    /// Account-tree siblings.
    pub account: usize,
}

/// A path's siblings as the fixed-size array the ABI takes; `None` for another length.
fn words<const N: usize>(siblings: &[Fr]) -> Option<[U256; N]> {
    siblings
        .iter()
        .map(to_u256)
        .collect::<Vec<_>>()
        .try_into()
        .ok()
}

/// The core's proof as the rollup's `escape` argument.
pub fn l1_proof(p: &BalanceProof) -> Result<StateProof::BalanceProof, PathLengthError> {
    let err = || PathLengthError {
        balance: p.balance_proof.siblings.len(),
        account: p.account_proof.siblings.len(),
    };
    let balance_siblings = words(&p.balance_proof.siblings).ok_or_else(err)?;
    let account_siblings = words(&p.account_proof.siblings).ok_or_else(err)?;
    Ok(StateProof::BalanceProof {
        accountId: p.account_id,
        token: p.token,
        balance: p.balance,
        account: StateProof::Account {
            owner: p.account.owner,
            nonce: p.account.nonce,
            pubkeyX: to_u256(&p.account.pubkey.x),
            pubkeyY: to_u256(&p.account.pubkey.y),
            balanceRoot: to_u256(&p.account.balance_root),
        },
        balanceSiblings: balance_siblings,
        accountSiblings: account_siblings,
    })
}
