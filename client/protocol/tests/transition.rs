//! Accepting and rejecting paths of every transaction type, atomicity of
//! rejections, chunk padding and the witnesses the circuit will consume.

use alloy_primitives::Address;
use rollup_protocol::codec::{
    OnchainOp, Record, data_challenge, data_commitment, data_elements, decode_chunk, evaluate,
};
use rollup_protocol::constants::{FEE_ACCOUNT_ID, MAX_BALANCE};
use rollup_protocol::eddsa::{Point, SecretKey};
use rollup_protocol::float;
use rollup_protocol::state::AccountLeaf;
use rollup_protocol::tx::{ChangeKey, Deposit, ForcedExit, Transfer, Withdraw};
use rollup_protocol::{Config, Error, Result, State, Tx};

const CHAIN: u64 = 31337;
const TOKEN: u8 = 1;

fn key(name: &str) -> SecretKey {
    SecretKey::from_seed(name.as_bytes())
}

fn addr(n: u8) -> Address {
    Address::repeat_byte(n)
}

fn deposit(id: u32, owner: u8, token: u8, amount: u128, k: Option<&SecretKey>) -> Tx {
    Tx::Deposit(Deposit {
        account_id: id,
        owner: addr(owner),
        token,
        amount,
        pubkey: k.map(SecretKey::public).unwrap_or(Point::NONE),
    })
}

/// Fee account 0, alice (1) with 1000 ETH and 500 of token 1, bob (2) with 10 ETH.
fn setup() -> Result<State> {
    let mut s = State::new(Config {
        chain_id: CHAIN,
        chunk_slots: 4,
    });
    s.apply_tx(&deposit(0, 0xfe, 0, 0, Some(&key("operator"))))?;
    s.apply_tx(&deposit(1, 0xa1, 0, 1000, Some(&key("alice"))))?;
    s.apply_tx(&deposit(1, 0xa1, TOKEN, 500, None))?;
    s.apply_tx(&deposit(2, 0xb0, 0, 10, Some(&key("bob"))))?;
    Ok(s)
}

fn transfer(from: u32, to: u32, amount: u128, fee: u128, nonce: u32, k: &str) -> Tx {
    Transfer {
        from,
        to,
        token: 0,
        amount,
        fee,
        nonce,
    }
    .sign(&key(k), CHAIN)
}

/// Applies `tx`, expects `err`, and checks that nothing changed.
fn assert_rejected(s: &mut State, tx: Tx, err: Error) {
    let root = s.root();
    let leaves: Vec<AccountLeaf> = (0..4).map(|i| s.account_leaf(i)).collect();
    assert_eq!(s.apply_tx(&tx), Err(err));
    assert_eq!(s.root(), root, "root changed after a rejection");
    assert_eq!(
        (0..4).map(|i| s.account_leaf(i)).collect::<Vec<_>>(),
        leaves
    );
}

#[test]
fn deposit_creates_account_binds_key_and_credits() -> Result<()> {
    let s = setup()?;
    let alice = s.account(1).ok_or(Error::UnknownAccount { account: 1 })?;
    assert_eq!(alice.owner, addr(0xa1));
    assert_eq!(alice.pubkey, key("alice").public());
    assert_eq!(s.balance(1, 0), 1000);
    assert_eq!(s.balance(1, TOKEN), 500);
    Ok(())
}

#[test]
fn deposit_to_existing_account_ignores_key() -> Result<()> {
    let mut s = setup()?;
    s.apply_tx(&deposit(1, 0xa1, 0, 5, Some(&key("mallory"))))?;
    assert_eq!(s.account_leaf(1).pubkey, key("alice").public());
    assert_eq!(s.balance(1, 0), 1005);
    Ok(())
}

#[test]
fn deposit_rejections() -> Result<()> {
    let mut s = setup()?;
    assert_rejected(
        &mut s,
        deposit(1, 0xee, 0, 1, None),
        Error::OwnerMismatch {
            account: 1,
            expected: addr(0xa1),
            got: addr(0xee),
        },
    );
    assert_rejected(
        &mut s,
        deposit(3, 0x00, 0, 1, None),
        Error::OwnerMismatch {
            account: 3,
            expected: Address::ZERO,
            got: Address::ZERO,
        },
    );
    assert_rejected(
        &mut s,
        deposit(1, 0xa1, 0, MAX_BALANCE, None),
        Error::Overflow {
            account: 1,
            token: 0,
        },
    );
    assert_rejected(
        &mut s,
        deposit(1 << 20, 0xa1, 0, 1, None),
        Error::UnknownAccount { account: 1 << 20 },
    );
    let mut bad_key = deposit(3, 0x33, 0, 1, None);
    if let Tx::Deposit(d) = &mut bad_key {
        d.pubkey = Point {
            x: 1u64.into(),
            y: 2u64.into(),
        };
    }
    assert_rejected(&mut s, bad_key, Error::InvalidPublicKey);
    Ok(())
}

#[test]
fn transfer_moves_amount_and_fee() -> Result<()> {
    let mut s = setup()?;
    let w = s.apply_tx(&transfer(1, 2, 100, 3, 0, "alice"))?;
    assert_eq!(
        (
            s.balance(1, 0),
            s.balance(2, 0),
            s.balance(FEE_ACCOUNT_ID, 0)
        ),
        (897, 110, 3)
    );
    assert_eq!(s.account_leaf(1).nonce, 1);
    assert_eq!(s.account_leaf(2).nonce, 0);
    assert!(w.verify());
    assert_eq!(w.updates[0].root_before, w.updates[0].root_before);
    assert_eq!(w.updates[2].root_after, s.root());
    assert_eq!(
        w.record,
        Record::Transfer {
            from: 1,
            to: 2,
            token: 0,
            amount: 100,
            fee: 3
        }
    );
    Ok(())
}

#[test]
fn transfer_to_self_and_from_fee_account_are_consistent() -> Result<()> {
    let mut s = setup()?;
    let w = s.apply_tx(&transfer(1, 1, 100, 3, 0, "alice"))?;
    assert!(w.verify());
    assert_eq!(s.balance(1, 0), 997);
    s.apply_tx(&transfer(2, 0, 7, 0, 0, "bob"))?;
    let w = s.apply_tx(&transfer(0, 2, 5, 2, 0, "operator"))?;
    assert!(w.verify());
    assert_eq!((s.balance(0, 0), s.balance(2, 0)), (3 + 7 - 5, 3 + 5));
    Ok(())
}

#[test]
fn transfer_rejections() -> Result<()> {
    let mut s = setup()?;
    assert_rejected(
        &mut s,
        transfer(1, 2, 1, 0, 0, "mallory"),
        Error::BadSignature { account: 1 },
    );
    assert_rejected(
        &mut s,
        transfer(1, 2, 1, 0, 5, "alice"),
        Error::BadNonce {
            account: 1,
            expected: 0,
            got: 5,
        },
    );
    assert_rejected(
        &mut s,
        transfer(1, 2, 990, 11, 0, "alice"),
        Error::InsufficientBalance {
            account: 1,
            token: 0,
            have: 1000,
            need: 1001,
        },
    );
    assert_rejected(
        &mut s,
        // The largest amount and fee the records hold: their sum passes 2^128.
        transfer(
            1,
            2,
            float::AMOUNT.round_down(MAX_BALANCE),
            float::FEE.round_down(MAX_BALANCE),
            0,
            "alice",
        ),
        Error::Overflow {
            account: 1,
            token: 0,
        },
    );
    assert_rejected(
        &mut s,
        transfer(1, 9, 1, 0, 0, "alice"),
        Error::UnknownAccount { account: 9 },
    );
    assert_rejected(
        &mut s,
        transfer(9, 1, 1, 0, 0, "alice"),
        Error::UnknownAccount { account: 9 },
    );
    // A transfer signed for another chain does not verify here.
    let other_chain = Transfer {
        from: 1,
        to: 2,
        token: 0,
        amount: 1,
        fee: 0,
        nonce: 0,
    }
    .sign(&key("alice"), 1);
    assert_rejected(&mut s, other_chain, Error::BadSignature { account: 1 });
    // An account without a key cannot sign.
    s.apply_tx(&deposit(3, 0x33, 0, 50, None))?;
    assert_rejected(
        &mut s,
        transfer(3, 1, 1, 0, 0, "alice"),
        Error::NoKey { account: 3 },
    );
    Ok(())
}

#[test]
fn receiver_overflow_is_rejected_atomically() -> Result<()> {
    let mut s = setup()?;
    s.apply_tx(&deposit(3, 0x33, 0, MAX_BALANCE, Some(&key("carol"))))?;
    // Sender checks pass; the receiver's credit overflows after the sender was planned.
    assert_rejected(
        &mut s,
        transfer(1, 3, 1, 0, 0, "alice"),
        Error::Overflow {
            account: 3,
            token: 0,
        },
    );
    assert_eq!(s.account_leaf(1).nonce, 0);
    Ok(())
}

#[test]
fn withdraw_debits_and_emits_withdrawal() -> Result<()> {
    let mut s = setup()?;
    let w = s.apply_tx(
        &Withdraw {
            from: 1,
            token: TOKEN,
            amount: 200,
            fee: 5,
            nonce: 0,
        }
        .sign(&key("alice"), CHAIN),
    )?;
    assert!(w.verify());
    assert_eq!(
        (s.balance(1, TOKEN), s.balance(FEE_ACCOUNT_ID, TOKEN)),
        (295, 5)
    );
    assert_eq!(
        w.record.onchain_ops(),
        vec![OnchainOp::Withdrawal {
            account_id: 1,
            token: TOKEN,
            amount: 200
        }]
    );
    let over = Withdraw {
        from: 1,
        token: TOKEN,
        amount: 296,
        fee: 0,
        nonce: 1,
    }
    .sign(&key("alice"), CHAIN);
    assert_rejected(
        &mut s,
        over,
        Error::InsufficientBalance {
            account: 1,
            token: TOKEN,
            have: 295,
            need: 296,
        },
    );
    let replay = Withdraw {
        from: 1,
        token: TOKEN,
        amount: 200,
        fee: 5,
        nonce: 0,
    }
    .sign(&key("alice"), CHAIN);
    assert_rejected(
        &mut s,
        replay,
        Error::BadNonce {
            account: 1,
            expected: 1,
            got: 0,
        },
    );
    let forged = Withdraw {
        from: 1,
        token: TOKEN,
        amount: 1,
        fee: 0,
        nonce: 1,
    }
    .sign(&key("bob"), CHAIN);
    assert_rejected(&mut s, forged, Error::BadSignature { account: 1 });
    Ok(())
}

#[test]
fn forced_exit_withdraws_whole_balance() -> Result<()> {
    let mut s = setup()?;
    let w = s.apply_tx(&Tx::ForcedExit(ForcedExit {
        account_id: 1,
        token: TOKEN,
    }))?;
    assert!(w.verify());
    assert_eq!(s.balance(1, TOKEN), 0);
    assert_eq!(
        w.record,
        Record::ForcedExit {
            account_id: 1,
            token: TOKEN,
            amount: 500
        }
    );
    assert_eq!(w.record.onchain_ops().len(), 2);
    // Nothing left: a second forced exit withdraws zero, and still consumes its request.
    let w = s.apply_tx(&Tx::ForcedExit(ForcedExit {
        account_id: 1,
        token: TOKEN,
    }))?;
    assert_eq!(
        w.record,
        Record::ForcedExit {
            account_id: 1,
            token: TOKEN,
            amount: 0
        }
    );
    assert_rejected(
        &mut s,
        Tx::ForcedExit(ForcedExit {
            account_id: 7,
            token: 0,
        }),
        Error::UnknownAccount { account: 7 },
    );
    Ok(())
}

#[test]
fn change_key_rebinds_signing_key() -> Result<()> {
    let mut s = setup()?;
    s.apply_tx(&Tx::ChangeKey(ChangeKey {
        account_id: 1,
        pubkey: key("alice2").public(),
    }))?;
    assert_rejected(
        &mut s,
        transfer(1, 2, 1, 0, 0, "alice"),
        Error::BadSignature { account: 1 },
    );
    s.apply_tx(&transfer(1, 2, 1, 0, 0, "alice2"))?;
    assert_rejected(
        &mut s,
        Tx::ChangeKey(ChangeKey {
            account_id: 8,
            pubkey: Point::NONE,
        }),
        Error::UnknownAccount { account: 8 },
    );
    assert_rejected(
        &mut s,
        Tx::ChangeKey(ChangeKey {
            account_id: 1,
            pubkey: Point {
                x: 3u64.into(),
                y: 3u64.into(),
            },
        }),
        Error::InvalidPublicKey,
    );
    Ok(())
}

#[test]
fn noop_changes_nothing() -> Result<()> {
    let mut s = setup()?;
    let root = s.root();
    let w = s.apply_tx(&Tx::Noop)?;
    assert!(w.verify());
    assert_eq!(s.root(), root);
    assert!(
        w.updates
            .iter()
            .all(|u| u.root_before == root && u.root_after == root)
    );
    Ok(())
}

#[test]
fn chunk_pads_commits_and_decodes() -> Result<()> {
    let mut s = setup()?;
    let chunk = s.apply_chunk(&[
        transfer(1, 2, 1, 1, 0, "alice"),
        transfer(2, 1, 1, 0, 0, "bob"),
    ])?;
    assert_eq!(chunk.records.len(), 4);
    assert_eq!(chunk.fill_ratio(), 0.5);
    assert_eq!(chunk.new_root, s.root());
    assert_eq!(decode_chunk(&chunk.pubdata, 4)?, chunk.records);
    assert!(chunk.witnesses.iter().all(|w| w.verify()));
    assert_eq!(chunk.witnesses[0].updates[0].root_before, chunk.old_root);
    for pair in chunk.witnesses.windows(2) {
        assert_eq!(
            pair[0].updates[2].root_after,
            pair[1].updates[0].root_before
        );
    }
    let elements = data_elements(&chunk.records)?;
    assert_eq!(chunk.binding.commitment, data_commitment(&chunk.records)?);
    assert_eq!(
        chunk.binding.challenge,
        data_challenge(&chunk.pubdata, &chunk.binding.commitment)
    );
    assert_eq!(
        chunk.binding.evaluation,
        evaluate(&elements, &chunk.binding.challenge)
    );
    assert_eq!(
        chunk.public_inputs(),
        [
            chunk.old_root,
            chunk.new_root,
            chunk.binding.commitment,
            chunk.binding.challenge,
            chunk.binding.evaluation
        ]
    );
    Ok(())
}

#[test]
fn rejected_chunk_leaves_state_unchanged() -> Result<()> {
    let mut s = setup()?;
    let root = s.root();
    let txs = [
        transfer(1, 2, 1, 0, 0, "alice"),
        transfer(2, 1, 1, 0, 9, "bob"),
    ];
    let err = s.apply_chunk(&txs);
    assert!(
        matches!(err, Err(Error::Rejected { index: 1, .. })),
        "{err:?}"
    );
    assert_eq!(s.root(), root);
    assert_eq!(s.account_leaf(1).nonce, 0);
    Ok(())
}

#[test]
fn chunk_over_capacity_is_rejected() -> Result<()> {
    let mut s = setup()?;
    let root = s.root();
    let txs: Vec<Tx> = (0..5).map(|n| transfer(1, 2, 1, 0, n, "alice")).collect();
    let err = s.apply_chunk(&txs);
    assert!(
        matches!(&err, Err(Error::Rejected { index: 4, reason }) if **reason == Error::OverCapacity { capacity: 4, used: 4 }),
        "{err:?}"
    );
    assert_eq!(s.root(), root);
    Ok(())
}

#[test]
fn balance_proofs_verify_against_the_root() -> Result<()> {
    let mut s = setup()?;
    s.apply_tx(&transfer(1, 2, 100, 3, 0, "alice"))?;
    let root = s.root();
    for (id, token, bal) in [
        (1u32, 0u8, 897u128),
        (1, TOKEN, 500),
        (2, 0, 110),
        (0, 0, 3),
        (2, TOKEN, 0),
        (77, 0, 0),
    ] {
        let p = s.balance_proof(id, token)?;
        assert_eq!(p.balance, bal);
        assert!(p.verify(root), "({id}, {token})");
        let mut forged = p.clone();
        forged.balance += 1;
        assert!(!forged.verify(root));
        let mut moved = p.clone();
        moved.token ^= 1;
        assert!(!moved.verify(root), "a proof is bound to its token id");
        let mut other_owner = p.clone();
        other_owner.account.owner = addr(0x99);
        assert!(!other_owner.verify(root), "a proof is bound to its owner");
    }
    Ok(())
}

#[test]
fn fee_account_must_exist_and_not_overflow() -> Result<()> {
    let mut s = State::new(Config {
        chain_id: CHAIN,
        chunk_slots: 4,
    });
    s.apply_tx(&deposit(1, 0xa1, 0, 1000, Some(&key("alice"))))?;
    s.apply_tx(&deposit(2, 0xb0, 0, 10, Some(&key("bob"))))?;
    assert_rejected(
        &mut s,
        transfer(1, 2, 1, 1, 0, "alice"),
        Error::UnknownAccount {
            account: FEE_ACCOUNT_ID,
        },
    );
    s.apply_tx(&deposit(0, 0xfe, 0, MAX_BALANCE, None))?;
    assert_rejected(
        &mut s,
        transfer(1, 2, 1, 1, 0, "alice"),
        Error::Overflow {
            account: FEE_ACCOUNT_ID,
            token: 0,
        },
    );
    // A zero fee does not touch the fee balance's limit.
    s.apply_tx(&transfer(1, 2, 1, 0, 0, "alice"))?;
    Ok(())
}

#[test]
fn withdraw_rejections() -> Result<()> {
    let mut s = setup()?;
    let w = |from: u32, amount: u128, fee: u128, nonce: u32, k: &str| {
        Withdraw {
            from,
            token: 0,
            amount,
            fee,
            nonce,
        }
        .sign(&key(k), CHAIN)
    };
    assert_rejected(
        &mut s,
        w(9, 1, 0, 0, "alice"),
        Error::UnknownAccount { account: 9 },
    );
    assert_rejected(
        &mut s,
        w(1, MAX_BALANCE, 1, 0, "alice"),
        Error::Overflow {
            account: 1,
            token: 0,
        },
    );
    s.apply_tx(&deposit(3, 0x33, 0, 50, None))?;
    assert_rejected(&mut s, w(3, 1, 0, 0, "alice"), Error::NoKey { account: 3 });
    Ok(())
}

/// A transfer's amount and a signed transaction's fee must be what their records pack exactly: a
/// value that would need rounding is refused (naming the value a wallet rounds to), never rounded.
/// A withdrawal's amount is exact, so it can empty any balance.
#[test]
fn unrepresentable_amounts_and_fees_are_rejected() -> Result<()> {
    let mut s = setup()?;
    let huge: u128 = 123_456_789_012_345; // 15 significant digits
    let nearest = 123_456_789_010_000;
    assert_rejected(
        &mut s,
        transfer(1, 2, huge, 0, 0, "alice"),
        Error::Unrepresentable {
            what: "amount",
            value: huge,
            nearest,
        },
    );
    assert_rejected(
        &mut s,
        transfer(1, 2, 10, 2_049, 0, "alice"),
        Error::Unrepresentable {
            what: "fee",
            value: 2_049,
            nearest: 2_047,
        },
    );
    let withdraw = |amount: u128, fee: u128| {
        Withdraw {
            from: 1,
            token: 0,
            amount,
            fee,
            nonce: 0,
        }
        .sign(&key("alice"), CHAIN)
    };
    assert_rejected(
        &mut s,
        withdraw(1, 2_049),
        Error::Unrepresentable {
            what: "fee",
            value: 2_049,
            nearest: 2_047,
        },
    );
    // A balance no packed amount holds still leaves in one withdrawal.
    s.apply_tx(&deposit(1, 0xa1, 0, huge - s.balance(1, 0), None))?;
    assert_eq!(s.balance(1, 0), huge);
    s.apply_tx(&withdraw(huge, 0))?;
    assert_eq!(s.balance(1, 0), 0);
    Ok(())
}

#[test]
fn replaying_records_rebuilds_the_same_state() -> Result<()> {
    let mut s = setup()?;
    let replica = s.clone();
    s.apply_tx(&Tx::ChangeKey(ChangeKey {
        account_id: 2,
        pubkey: key("bob2").public(),
    }))?;
    let chunk = s.apply_chunk(&[
        deposit(3, 0x33, TOKEN, 40, Some(&key("carol"))),
        transfer(1, 2, 100, 3, 0, "alice"),
        Withdraw {
            from: 2,
            token: 0,
            amount: 5,
            fee: 1,
            nonce: 0,
        }
        .sign(&key("bob2"), CHAIN),
        Tx::ForcedExit(ForcedExit {
            account_id: 1,
            token: TOKEN,
        }),
    ])?;
    let mut r = replica;
    r.apply_record(&Record::ChangeKey(ChangeKey {
        account_id: 2,
        pubkey: key("bob2").public(),
    }))?;
    r.apply_records(&chunk.records)?;
    assert_eq!(r.root(), s.root());
    assert_eq!(r.root(), chunk.new_root);
    assert_eq!(
        r.account_leaf(1),
        s.account_leaf(1),
        "nonces follow from the records"
    );
    Ok(())
}

#[test]
fn corrupt_records_are_rejected_and_change_nothing() -> Result<()> {
    let mut s = setup()?;
    let root = s.root();
    let cases = [
        (
            Record::ForcedExit {
                account_id: 1,
                token: TOKEN,
                amount: 499,
            },
            "forced exit amount",
        ),
        (
            Record::Transfer {
                from: 2,
                to: 1,
                token: 0,
                amount: 12,
                fee: 0,
            },
            "overdraft",
        ),
        (
            Record::Withdraw {
                from: 9,
                token: 0,
                amount: 1,
                fee: 0,
            },
            "unknown account",
        ),
        (
            Record::Transfer {
                from: 1,
                to: 2,
                token: 0,
                amount: 1,
                fee: MAX_BALANCE,
            },
            "overflow",
        ),
    ];
    for (record, what) in cases {
        // A valid record first, so the rollback covers more than the failing one.
        let err = s.apply_records(&[
            Record::Transfer {
                from: 1,
                to: 2,
                token: 0,
                amount: 1,
                fee: 0,
            },
            record,
        ]);
        assert!(
            matches!(err, Err(Error::Rejected { index: 1, .. })),
            "{what}: {err:?}"
        );
        assert_eq!(s.root(), root, "{what}: state changed");
    }
    Ok(())
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 24, ..Default::default() })]

    /// The replay rehashes each dirty node once per call instead of one path per write: whatever
    /// the history (repeats, self-transfers, emptied balances, rejected transactions), it gives
    /// the root and leaves that executing the transactions one by one gave.
    #[test]
    fn replay_of_any_history_equals_execution(
        steps in proptest::collection::vec((0u32..4, 0u32..4, 0u128..400, 0u128..3, 0u8..4), 1..14)
    ) {
        let names = ["operator", "alice", "bob", "carol"];
        let mut s = setup().map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
        let mut replica = s.clone();
        let mut nonces = [0u32; 4];
        let mut records = Vec::new();
        for (from, to, amount, fee, kind) in steps {
            let tx = match kind {
                0 => deposit(3, 0xc0, TOKEN, amount, Some(&key("carol"))),
                1 => Withdraw { from, token: 0, amount, fee, nonce: nonces[from as usize] }
                    .sign(&key(names[from as usize]), CHAIN),
                2 => Tx::ForcedExit(ForcedExit { account_id: from, token: 0 }),
                _ => transfer(from, to, amount, fee, nonces[from as usize], names[from as usize]),
            };
            if let Ok(w) = s.apply_tx(&tx) {
                if kind == 1 || kind == 3 {
                    nonces[from as usize] += 1;
                }
                records.push(w.record);
            }
        }
        replica.apply_records(&records).map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
        proptest::prop_assert_eq!(replica.root(), s.root());
        for id in 0..5 {
            proptest::prop_assert_eq!(replica.account_leaf(id), s.account_leaf(id));
            proptest::prop_assert_eq!(replica.balance(id, TOKEN), s.balance(id, TOKEN));
        }
    }
}

#[test]
fn the_account_list_rebuilds_the_same_root_and_only_a_canonical_list_is_taken() -> Result<()> {
    let mut s = setup()?;
    s.apply_tx(&transfer(1, 2, 7, 1, 0, "alice"))?;
    let config = *s.config();
    let list = s.accounts();
    assert_eq!(list.iter().map(|a| a.id).collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(
        list[1]
            .balances
            .iter()
            .map(|b| (b.token, b.amount))
            .collect::<Vec<_>>(),
        [(0, 992), (TOKEN, 500)]
    );
    let rebuilt = State::from_accounts(config, &list)?;
    assert_eq!(rebuilt.root(), s.root());
    assert_eq!(rebuilt.accounts(), list);
    // The rebuilt state goes on exactly as the original.
    let mut rebuilt = rebuilt;
    let next = transfer(2, 1, 3, 1, 0, "bob");
    s.apply_tx(&next)?;
    rebuilt.apply_tx(&next)?;
    assert_eq!(rebuilt.root(), s.root());

    // One wrong balance is another root.
    let mut wrong = list.clone();
    wrong[2].balances[0].amount += 1;
    assert_ne!(State::from_accounts(config, &wrong)?.root(), s.root());

    // Non-canonical lists are refused: out of order, repeated, owner zero, a zero balance,
    // tokens out of order, an id outside the tree.
    let snapshot_error = |list: &[rollup_protocol::state::AccountEntry]| {
        matches!(
            State::from_accounts(config, list),
            Err(Error::Snapshot(_) | Error::UnknownAccount { .. })
        )
    };
    let mut swapped = list.clone();
    swapped.swap(0, 1);
    assert!(snapshot_error(&swapped));
    let mut repeated = list.clone();
    repeated.push(list[2].clone());
    assert!(snapshot_error(&repeated));
    let mut ownerless = list.clone();
    ownerless[1].owner = Address::ZERO;
    assert!(snapshot_error(&ownerless));
    let mut zero = list.clone();
    zero[1].balances[0].amount = 0;
    assert!(snapshot_error(&zero));
    let mut tokens = list.clone();
    tokens[1].balances.reverse();
    assert!(snapshot_error(&tokens));
    let mut outside = list.clone();
    outside[2].id = u32::MAX;
    assert!(snapshot_error(&outside));
    Ok(())
}
