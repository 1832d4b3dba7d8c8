//! The balance-update gadget against the core's witnesses (MockProver), with negative cases.

use alloy_primitives::Address;
use halo2_base::halo2_proofs::circuit::{Layouter, SimpleFloorPlanner, Value};
use halo2_base::halo2_proofs::dev::MockProver;
use halo2_base::halo2_proofs::plonk::{Advice, Circuit, Column, ConstraintSystem, Error, Instance};
use rollup_circuits::Fr;
use rollup_circuits::layout::Columns;
use rollup_circuits::layout::Word;
use rollup_circuits::update::{UpdateConfig, UpdateWitness};
use rollup_protocol::constants::{ACCOUNT_TREE_DEPTH, BALANCE_TREE_DEPTH};
use rollup_protocol::eddsa::SecretKey;
use rollup_protocol::transition::BalanceUpdate;
use rollup_protocol::tx::{Deposit, Transfer};
use rollup_protocol::{Config, State, Tx};

#[derive(Clone)]
struct UpdateCircuit {
    update: BalanceUpdate,
}

#[derive(Clone)]
struct Cfg {
    update: UpdateConfig,
    root: Column<Advice>,
    public: Column<Instance>,
}

impl Circuit<Fr> for UpdateCircuit {
    type Config = Cfg;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ();

    fn without_witnesses(&self) -> Self {
        self.clone()
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> Cfg {
        let pool = Columns::configure(meta);
        let root = meta.advice_column();
        meta.enable_equality(root);
        let public = meta.instance_column();
        meta.enable_equality(public);
        Cfg {
            update: UpdateConfig::configure(meta, &pool),
            root,
            public,
        }
    }

    fn synthesize(&self, cfg: Cfg, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        let (before, after) = layouter.assign_region(
            || "update",
            |mut region| {
                let v = Value::known(self.update.root_before);
                let before = Word {
                    cell: region.assign_advice(cfg.root, 0, v).cell(),
                    value: v,
                };
                let out = cfg.update.assign(
                    &mut region,
                    &mut 0,
                    Value::known(&UpdateWitness::from(&self.update)),
                    before,
                    BALANCE_TREE_DEPTH,
                    ACCOUNT_TREE_DEPTH,
                )?;
                Ok((before, out.root_after))
            },
        )?;
        layouter.constrain_instance(before.cell, cfg.public, 0);
        layouter.constrain_instance(after.cell, cfg.public, 1);
        Ok(())
    }
}

/// Update 0 (the sender's debit) of a real transfer.
fn transfer_update() -> Result<BalanceUpdate, rollup_protocol::Error> {
    let mut s = State::new(Config {
        chain_id: 1,
        chunk_slots: 1,
    });
    let k = SecretKey::from_seed(b"sender");
    for (id, owner) in [(0u32, 0xfe), (1, 0xa1), (2, 0xb0)] {
        s.apply_tx(&Tx::Deposit(Deposit {
            account_id: id,
            owner: Address::repeat_byte(owner),
            token: 3,
            amount: 1000,
            pubkey: k.public(),
        }))?;
    }
    let w = s.apply_tx(
        &Transfer {
            from: 1,
            to: 2,
            token: 3,
            amount: 10,
            fee: 1,
            nonce: 0,
        }
        .sign(&k, 1),
    )?;
    Ok(w.updates[0].clone())
}

const K: u32 = 13;

fn satisfied(u: &BalanceUpdate) -> bool {
    let c = UpdateCircuit { update: u.clone() };
    MockProver::run(K, &c, vec![vec![u.root_before, u.root_after]])
        .map(|p| p.verify().is_ok())
        .unwrap_or(false)
}

#[test]
fn gadget_accepts_the_core_witness() -> Result<(), rollup_protocol::Error> {
    let u = transfer_update()?;
    assert!(u.verify(), "the core's own check");
    assert!(satisfied(&u));
    Ok(())
}

#[test]
fn tampered_witnesses_are_rejected() -> Result<(), rollup_protocol::Error> {
    let u = transfer_update()?;
    let mut cases: Vec<(&str, BalanceUpdate)> = vec![];
    let mut t = u.clone();
    t.balance_after += 1;
    cases.push(("balance after", t));
    let mut t = u.clone();
    t.balance_before += 1;
    cases.push(("balance before", t));
    let mut t = u.clone();
    t.account_after.nonce += 1;
    cases.push(("nonce after", t));
    let mut t = u.clone();
    t.account_before.owner = Address::repeat_byte(0x99);
    cases.push(("owner before", t));
    let mut t = u.clone();
    t.account_proof.siblings[7] += Fr::one();
    cases.push(("account sibling", t));
    let mut t = u.clone();
    t.balance_proof.siblings[2] += Fr::one();
    cases.push(("balance sibling", t));
    let mut t = u.clone();
    t.account_id ^= 1;
    cases.push(("account id", t));
    let mut t = u.clone();
    t.token ^= 1;
    cases.push(("token", t));
    let mut t = u.clone();
    t.root_after += Fr::one();
    cases.push(("root after", t));
    let mut t = u.clone();
    t.root_before += Fr::one();
    cases.push(("root before", t));
    for (what, t) in cases {
        assert!(!satisfied(&t), "a wrong {what} was accepted");
    }
    Ok(())
}
