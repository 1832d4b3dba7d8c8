//! EdDSA verification in-circuit against the core's signatures (MockProver), with negative cases.

use halo2_base::halo2_proofs::circuit::{Layouter, SimpleFloorPlanner, Value};
use halo2_base::halo2_proofs::dev::MockProver;
use halo2_base::halo2_proofs::plonk::{Advice, Circuit, Column, ConstraintSystem, Error};
use rollup_circuits::Fr;
use rollup_circuits::eddsa::{EddsaConfig, PointWord};
use rollup_circuits::layout::Columns;
use rollup_circuits::layout::Word;
use rollup_circuits::poseidon::PoseidonConfig;
use rollup_protocol::eddsa::{Point, SecretKey, Signature, verify};
use rollup_protocol::field;

#[derive(Clone)]
struct SigCircuit {
    key: Point,
    msg: Fr,
    sig: Signature,
}

#[derive(Clone)]
struct Cfg {
    eddsa: EddsaConfig,
    input: Column<Advice>,
}

impl Circuit<Fr> for SigCircuit {
    type Config = Cfg;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ();

    fn without_witnesses(&self) -> Self {
        self.clone()
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> Cfg {
        let pool = Columns::configure(meta);
        let input = meta.advice_column();
        meta.enable_equality(input);
        let poseidon = PoseidonConfig::configure(meta, &pool);
        Cfg {
            eddsa: EddsaConfig::configure(meta, &pool, poseidon),
            input,
        }
    }

    fn synthesize(&self, cfg: Cfg, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        layouter.assign_region(
            || "signature",
            |mut region| {
                let s = field::from_u256(self.sig.s).unwrap_or(Fr::zero());
                let vals = [
                    self.key.x,
                    self.key.y,
                    self.sig.r.x,
                    self.sig.r.y,
                    s,
                    self.msg,
                ];
                let w: Vec<Word> = vals
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        let v = Value::known(*v);
                        Word {
                            cell: region.assign_advice(cfg.input, i, v).cell(),
                            value: v,
                        }
                    })
                    .collect();
                let key = PointWord { x: w[0], y: w[1] };
                let r = PointWord { x: w[2], y: w[3] };
                cfg.eddsa.verify(&mut region, &mut 0, key, r, w[4], w[5])
            },
        )
    }
}

fn satisfied(c: &SigCircuit) -> bool {
    MockProver::run(11, c, vec![])
        .map(|p| p.verify().is_ok())
        .unwrap_or(false)
}

fn signed() -> SigCircuit {
    let k = SecretKey::from_seed(b"circuit signer");
    let msg = Fr::from(123_456_789u64);
    SigCircuit {
        key: k.public(),
        msg,
        sig: k.sign(msg),
    }
}

#[test]
fn valid_signature_satisfies_the_circuit() {
    let c = signed();
    assert!(verify(&c.key, c.msg, &c.sig), "the core's own check");
    assert!(satisfied(&c));
}

#[test]
fn forged_signatures_are_rejected() {
    let good = signed();
    let mut other_msg = good.clone();
    other_msg.msg += Fr::one();
    assert!(!satisfied(&other_msg), "other message");
    let mut other_key = good.clone();
    other_key.key = SecretKey::from_seed(b"someone else").public();
    assert!(!satisfied(&other_key), "other key");
    let mut other_s = good.clone();
    other_s.sig.s += alloy_primitives::U256::from(1);
    assert!(!satisfied(&other_s), "other s");
    let mut other_r = good.clone();
    other_r.sig.r = SecretKey::from_seed(b"nonce").public();
    assert!(!satisfied(&other_r), "other R");
    let mut off_curve = good.clone();
    off_curve.sig.r.x += Fr::one();
    assert!(!satisfied(&off_curve), "R off the curve");
}
