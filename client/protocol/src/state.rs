//! The L2 state: an account tree whose leaves commit to each account's owner,
//! nonce, key and balance tree.
//!
//! Account leaf: `Poseidon(TAG_ACCOUNT; owner + nonce·2^160, key.x, key.y, balance_root)`.
//! Balance leaf: the balance itself (a `u128`), so an empty balance is 0. An absent
//! account is the leaf of the empty account (owner 0, nonce 0, no key, empty
//! balance tree): the account tree's empty leaf, so "exists" means "owner ≠ 0".

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;

use alloy_primitives::{Address, U256};
use ff::Field;
use serde::{Deserialize, Serialize};

use crate::constants::{ACCOUNT_TREE_DEPTH, BALANCE_TREE_DEPTH, MAX_ACCOUNTS, TAG_ACCOUNT};
use crate::eddsa::{Point, PubKey};
use crate::error::{Error, Result};
use crate::field::{self, Fr};
use crate::poseidon::hash;
use crate::smt::{MerkleProof, SparseMerkleTree, empty_hashes};

/// An account id: the index of its leaf in the account tree.
pub type AccountId = u32;
/// A token id: the index of its leaf in each balance tree; 0 is ETH.
pub type TokenId = u8;

/// Deployment parameters the transition depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// Chain id signed into every L2 transaction (replay protection across deployments).
    pub chain_id: u64,
    /// Transaction slots per chunk (the circuit and its verifier are built for this value).
    pub chunk_slots: usize,
}

/// Empty-subtree hashes of a balance tree (level 0: the zero balance).
pub fn balance_tree_defaults() -> &'static [Fr] {
    static D: OnceLock<Vec<Fr>> = OnceLock::new();
    D.get_or_init(|| empty_hashes(Fr::ZERO, BALANCE_TREE_DEPTH))
}

/// Empty-subtree hashes of the account tree (level 0: the empty account's leaf).
pub fn account_tree_defaults() -> &'static [Fr] {
    static D: OnceLock<Vec<Fr>> = OnceLock::new();
    D.get_or_init(|| empty_hashes(AccountLeaf::empty().hash(), ACCOUNT_TREE_DEPTH))
}

/// The fields an account leaf commits to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountLeaf {
    /// L1 address that owns the account (receives its withdrawals and escapes).
    pub owner: Address,
    /// Number of L2 transactions the account has signed.
    pub nonce: u32,
    /// L2 public key, `Point::NONE` if none is bound.
    pub pubkey: PubKey,
    /// Root of the account's balance tree.
    #[serde(with = "field::serde_hex")]
    pub balance_root: Fr,
}

impl AccountLeaf {
    /// The leaf of an account that does not exist.
    pub fn empty() -> AccountLeaf {
        AccountLeaf {
            owner: Address::ZERO,
            nonce: 0,
            pubkey: Point::NONE,
            balance_root: balance_tree_defaults()[BALANCE_TREE_DEPTH],
        }
    }

    /// `owner + nonce·2^160`: the first hashed field.
    pub fn owner_nonce(&self) -> Fr {
        let packed = U256::from_be_slice(self.owner.as_slice()) | (U256::from(self.nonce) << 160);
        field::from_u256(packed).unwrap_or(Fr::ZERO)
    }

    /// The four field elements hashed into the leaf.
    pub fn fields(&self) -> [Fr; 4] {
        [
            self.owner_nonce(),
            self.pubkey.x,
            self.pubkey.y,
            self.balance_root,
        ]
    }

    /// The account tree leaf.
    pub fn hash(&self) -> Fr {
        hash(TAG_ACCOUNT, &self.fields())
    }
}

/// One account: its leaf fields and its balance tree.
#[derive(Debug, Clone)]
pub struct Account {
    /// Owner on L1 (zero: the account does not exist).
    pub owner: Address,
    /// Next nonce.
    pub nonce: u32,
    /// Bound L2 key.
    pub pubkey: PubKey,
    balances: SparseMerkleTree,
    nonzero: HashMap<TokenId, u128>,
}

impl Default for Account {
    fn default() -> Self {
        Account {
            owner: Address::ZERO,
            nonce: 0,
            pubkey: Point::NONE,
            balances: SparseMerkleTree::new(balance_tree_defaults()),
            nonzero: HashMap::new(),
        }
    }
}

impl Account {
    /// Balance of `token`.
    pub fn balance(&self, token: TokenId) -> u128 {
        self.nonzero.get(&token).copied().unwrap_or(0)
    }

    /// Every non-zero balance, by token id.
    pub fn balances(&self) -> impl Iterator<Item = (TokenId, u128)> + '_ {
        self.nonzero.iter().map(|(t, b)| (*t, *b))
    }

    /// The leaf fields.
    pub fn leaf(&self) -> AccountLeaf {
        AccountLeaf {
            owner: self.owner,
            nonce: self.nonce,
            pubkey: self.pubkey,
            balance_root: self.balances.root(),
        }
    }

    /// Proof of `token`'s balance in the balance tree.
    pub fn balance_proof(&self, token: TokenId) -> Result<MerkleProof> {
        self.balances.proof(u64::from(token))
    }

    pub(crate) fn set_balance(&mut self, token: TokenId, value: u128) -> Result<MerkleProof> {
        if value == 0 {
            self.nonzero.remove(&token);
        } else {
            self.nonzero.insert(token, value);
        }
        self.balances.set(u64::from(token), field::from_u128(value))
    }

    /// Sets a balance without rehashing the balance tree: [`State::rehash`] must follow.
    pub(crate) fn set_balance_deferred(&mut self, token: TokenId, value: u128) {
        if value == 0 {
            self.nonzero.remove(&token);
        } else {
            self.nonzero.insert(token, value);
        }
    }
}

/// One existing account as a state snapshot lists it: its leaf's fields and its non-zero balances.
/// The list of every existing account, by increasing id, is the state: [`State::from_accounts`]
/// rebuilds the trees from it, and so its root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountEntry {
    /// The account id.
    pub id: AccountId,
    /// The L1 owner (never zero: an account with owner zero does not exist).
    pub owner: Address,
    /// The next nonce.
    pub nonce: u32,
    /// The bound L2 key (`Point::NONE` if none).
    pub pubkey: PubKey,
    /// The non-zero balances, by increasing token id (amounts as decimal strings above 2^64).
    pub balances: Vec<TokenBalance>,
}

/// One non-zero balance of an [`AccountEntry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenBalance {
    /// The token id.
    pub token: TokenId,
    /// The amount.
    #[serde(with = "field::serde_u128")]
    pub amount: u128,
}

/// A tree index and the leaf written there.
type Leaf = (u64, Fr);

/// The whole L2 state.
#[derive(Debug, Clone)]
pub struct State {
    config: Config,
    tree: SparseMerkleTree,
    accounts: HashMap<AccountId, Account>,
}

/// Inclusion proof of one (account, token) balance against a state root: what an escape needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceProof {
    /// The account id.
    pub account_id: AccountId,
    /// The token id.
    pub token: TokenId,
    /// The balance (read from a JSON number or a decimal string: tools print amounts as strings).
    #[serde(deserialize_with = "field::deserialize_u128")]
    pub balance: u128,
    /// The account leaf's fields.
    pub account: AccountLeaf,
    /// Path of the balance in the account's balance tree.
    pub balance_proof: MerkleProof,
    /// Path of the account leaf in the account tree.
    pub account_proof: MerkleProof,
}

impl BalanceProof {
    /// The state root this proof implies.
    pub fn root(&self) -> Fr {
        let mut leaf = self.account;
        leaf.balance_root = self
            .balance_proof
            .compute_root(field::from_u128(self.balance));
        self.account_proof.compute_root(leaf.hash())
    }

    /// Whether the proof is well formed and holds against `root`.
    pub fn verify(&self, root: Fr) -> bool {
        self.balance_proof.check_depth(BALANCE_TREE_DEPTH).is_ok()
            && self.account_proof.check_depth(ACCOUNT_TREE_DEPTH).is_ok()
            && self.balance_proof.index == u64::from(self.token)
            && self.account_proof.index == u64::from(self.account_id)
            && self
                .balance_proof
                .compute_root(field::from_u128(self.balance))
                == self.account.balance_root
            && self.root() == root
    }
}

impl State {
    /// The genesis state: every account empty.
    pub fn new(config: Config) -> State {
        State {
            config,
            tree: SparseMerkleTree::new(account_tree_defaults()),
            accounts: HashMap::new(),
        }
    }

    /// The deployment parameters.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The state root.
    pub fn root(&self) -> Fr {
        self.tree.root()
    }

    /// The account, if it exists.
    pub fn account(&self, id: AccountId) -> Option<&Account> {
        self.accounts.get(&id).filter(|a| a.owner != Address::ZERO)
    }

    /// The account leaf fields (the empty account for an absent one).
    pub fn account_leaf(&self, id: AccountId) -> AccountLeaf {
        self.accounts
            .get(&id)
            .map(Account::leaf)
            .unwrap_or_else(AccountLeaf::empty)
    }

    /// Balance of (account, token); 0 for absent accounts.
    pub fn balance(&self, id: AccountId, token: TokenId) -> u128 {
        self.accounts
            .get(&id)
            .map(|a| a.balance(token))
            .unwrap_or(0)
    }

    /// Ids of existing accounts, unordered.
    pub fn account_ids(&self) -> impl Iterator<Item = AccountId> + '_ {
        self.accounts
            .iter()
            .filter(|(_, a)| a.owner != Address::ZERO)
            .map(|(id, _)| *id)
    }

    /// Proof of the leaf of account `id` in the account tree.
    pub fn account_proof(&self, id: AccountId) -> Result<MerkleProof> {
        check_account_id(id)?;
        self.tree.proof(u64::from(id))
    }

    /// The escape proof of one (account, token) against the current root.
    pub fn balance_proof(&self, id: AccountId, token: TokenId) -> Result<BalanceProof> {
        check_account_id(id)?;
        let default = Account::default();
        let acc = self.accounts.get(&id).unwrap_or(&default);
        Ok(BalanceProof {
            account_id: id,
            token,
            balance: acc.balance(token),
            account: acc.leaf(),
            balance_proof: acc.balance_proof(token)?,
            account_proof: self.tree.proof(u64::from(id))?,
        })
    }

    /// Every existing account, by increasing id, with its non-zero balances by increasing token:
    /// the canonical list that [`State::from_accounts`] takes back.
    pub fn accounts(&self) -> Vec<AccountEntry> {
        let mut ids: Vec<AccountId> = self.account_ids().collect();
        ids.sort_unstable();
        ids.into_iter()
            .filter_map(|id| self.accounts.get(&id).map(|a| (id, a)))
            .map(|(id, a)| {
                let mut balances: Vec<TokenBalance> = a
                    .balances()
                    .map(|(token, amount)| TokenBalance { token, amount })
                    .collect();
                balances.sort_unstable_by_key(|b| b.token);
                AccountEntry {
                    id,
                    owner: a.owner,
                    nonce: a.nonce,
                    pubkey: a.pubkey,
                    balances,
                }
            })
            .collect()
    }

    /// The state whose accounts are `entries` (every other account empty), trees rebuilt: each
    /// node hashed once, accounts in parallel. The list must be canonical, as
    /// [`State::accounts`] writes it: ids strictly increasing and inside the tree, owners
    /// non-zero, tokens strictly increasing, amounts non-zero. What the state *is* is decided by
    /// its root: a caller that trusts a list compares [`State::root`] with a root it trusts.
    pub fn from_accounts(config: Config, entries: &[AccountEntry]) -> Result<State> {
        let bad = |what: String| Err(Error::Snapshot(what));
        let mut state = State::new(config);
        let mut dirty: BTreeMap<AccountId, BTreeSet<TokenId>> = BTreeMap::new();
        let mut previous: Option<AccountId> = None;
        for e in entries {
            check_account_id(e.id)?;
            if previous.is_some_and(|p| e.id <= p) {
                return bad(format!(
                    "account {} listed after account {}: ids must strictly increase",
                    e.id,
                    previous.unwrap_or_default()
                ));
            }
            previous = Some(e.id);
            if e.owner == Address::ZERO {
                return bad(format!("account {} has owner zero", e.id));
            }
            let mut tokens = BTreeSet::new();
            let mut last_token: Option<TokenId> = None;
            let account = state.account_mut(e.id);
            account.owner = e.owner;
            account.nonce = e.nonce;
            account.pubkey = e.pubkey;
            for b in &e.balances {
                if last_token.is_some_and(|t| b.token <= t) {
                    return bad(format!(
                        "account {}: token {} listed out of order or twice",
                        e.id, b.token
                    ));
                }
                last_token = Some(b.token);
                if b.amount == 0 {
                    return bad(format!(
                        "account {}: a zero balance of token {} is listed (zero balances are left out)",
                        e.id, b.token
                    ));
                }
                account.set_balance_deferred(b.token, b.amount);
                tokens.insert(b.token);
            }
            dirty.insert(e.id, tokens);
        }
        state.rehash(dirty)?;
        Ok(state)
    }

    pub(crate) fn account_mut(&mut self, id: AccountId) -> &mut Account {
        self.accounts.entry(id).or_default()
    }

    /// Brings the trees up to date with balances and fields set by the deferred writes of a
    /// replay: each dirty account's balance tree (accounts in parallel), then every dirty
    /// account leaf at once. Each dirty node is hashed once.
    pub(crate) fn rehash(&mut self, dirty: BTreeMap<AccountId, BTreeSet<TokenId>>) -> Result<()> {
        use rayon::prelude::*;
        for id in dirty.keys() {
            check_account_id(*id)?;
        }
        // (id, account taken out of the map, its dirty balance leaves)
        let mut work: Vec<(AccountId, Account, Vec<Leaf>)> = dirty
            .into_iter()
            .map(|(id, tokens)| {
                let acc = self.accounts.remove(&id).unwrap_or_default();
                let leaves = tokens
                    .into_iter()
                    .map(|t| (u64::from(t), field::from_u128(acc.balance(t))))
                    .collect();
                (id, acc, leaves)
            })
            .collect();
        let leaves: Vec<(u64, Fr)> = work
            .par_iter_mut()
            .map(|(id, acc, leaves)| {
                // Token ids are below 2^BALANCE_TREE_DEPTH by type: this cannot fail.
                let _ = acc.balances.set_leaves(leaves);
                (u64::from(*id), acc.leaf().hash())
            })
            .collect();
        for (id, acc, _) in work {
            if acc.leaf() != AccountLeaf::empty() {
                self.accounts.insert(id, acc);
            }
        }
        self.tree.set_leaves(&leaves)
    }

    /// Rehashes the leaf of account `id` into the tree; returns the account path.
    pub(crate) fn commit_account(&mut self, id: AccountId) -> Result<MerkleProof> {
        let leaf = self.account_leaf(id);
        let proof = self.tree.set(u64::from(id), leaf.hash())?;
        if leaf == AccountLeaf::empty() {
            self.accounts.remove(&id);
        }
        Ok(proof)
    }
}

/// Errs unless `id` is a leaf of the account tree.
pub fn check_account_id(id: AccountId) -> Result<()> {
    if u64::from(id) >= MAX_ACCOUNTS {
        return Err(Error::UnknownAccount { account: id });
    }
    Ok(())
}
