//! The Merkle path chip against the core's sparse Merkle tree (MockProver), with negative cases.

use halo2_base::halo2_proofs::circuit::{Layouter, SimpleFloorPlanner, Value};
use halo2_base::halo2_proofs::dev::MockProver;
use halo2_base::halo2_proofs::plonk::{Advice, Circuit, Column, ConstraintSystem, Error, Instance};
use rollup_circuits::Fr;
use rollup_circuits::layout::Columns;
use rollup_circuits::layout::Word;
use rollup_circuits::merkle::MerkleConfig;
use rollup_circuits::poseidon::PoseidonConfig;
use rollup_protocol::smt::{MerkleProof, SparseMerkleTree};
use rollup_protocol::state::balance_tree_defaults;

#[derive(Clone)]
struct PathCircuit {
    leaf: Fr,
    proof: MerkleProof,
    flip_bit: Option<usize>,
}

#[derive(Clone)]
struct PathConfig {
    merkle: MerkleConfig,
    input: Column<Advice>,
    public: Column<Instance>,
}

impl Circuit<Fr> for PathCircuit {
    type Config = PathConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ();

    fn without_witnesses(&self) -> Self {
        self.clone()
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> PathConfig {
        let pool = Columns::configure(meta);
        let input = meta.advice_column();
        meta.enable_equality(input);
        let public = meta.instance_column();
        meta.enable_equality(public);
        let poseidon = PoseidonConfig::configure(meta, &pool);
        PathConfig {
            merkle: MerkleConfig::configure(meta, &pool, poseidon),
            input,
            public,
        }
    }

    fn synthesize(&self, config: PathConfig, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        let values: Vec<Fr> = std::iter::once(self.leaf)
            .chain(self.proof.siblings.iter().copied())
            .collect();
        let words = layouter.assign_region(
            || "leaf and siblings",
            |mut region| {
                Ok(values
                    .iter()
                    .enumerate()
                    .map(|(i, x)| {
                        let v = Value::known(*x);
                        Word {
                            cell: region.assign_advice(config.input, i, v).cell(),
                            value: v,
                        }
                    })
                    .collect::<Vec<_>>())
            },
        )?;
        let bits: Vec<Value<bool>> = (0..self.proof.siblings.len())
            .map(|l| Value::known(((self.proof.index >> l) & 1 == 1) ^ (self.flip_bit == Some(l))))
            .collect();
        let out = layouter.assign_region(
            || "merkle path",
            |mut region| {
                config
                    .merkle
                    .root(&mut region, &mut 0, words[0], &bits, &words[1..])
            },
        )?;
        layouter.constrain_instance(out.root.cell, config.public, 0);
        layouter.constrain_instance(out.index.cell, config.public, 1);
        Ok(())
    }
}

fn tree() -> Result<SparseMerkleTree, rollup_protocol::Error> {
    let mut t = SparseMerkleTree::new(balance_tree_defaults());
    for (i, v) in [(0u64, 5u64), (3, 7), (200, 11), (255, 13)] {
        t.set(i, Fr::from(v))?;
    }
    Ok(t)
}

fn satisfied(c: &PathCircuit, root: Fr, index: u64) -> bool {
    match MockProver::run(11, c, vec![vec![root, Fr::from(index)]]) {
        Ok(p) => match p.verify() {
            Ok(()) => true,
            Err(e) => {
                eprintln!(
                    "unsatisfied: {} constraints, first {:?}",
                    e.len(),
                    e.first()
                );
                false
            }
        },
        Err(e) => {
            eprintln!("synthesis failed: {e:?}");
            false
        }
    }
}

#[test]
fn path_root_and_index_equal_the_core() -> Result<(), rollup_protocol::Error> {
    let t = tree()?;
    for index in [0u64, 3, 200, 255, 77] {
        let c = PathCircuit {
            leaf: t.leaf(index),
            proof: t.proof(index)?,
            flip_bit: None,
        };
        assert!(satisfied(&c, t.root(), index), "index {index}");
    }
    Ok(())
}

#[test]
fn wrong_leaf_sibling_bit_or_index_is_rejected() -> Result<(), rollup_protocol::Error> {
    let t = tree()?;
    let (index, root) = (200u64, t.root());
    let good = PathCircuit {
        leaf: t.leaf(index),
        proof: t.proof(index)?,
        flip_bit: None,
    };
    assert!(
        !satisfied(
            &PathCircuit {
                leaf: good.leaf + Fr::one(),
                ..good.clone()
            },
            root,
            index
        ),
        "leaf"
    );
    let mut bad_sib = good.clone();
    bad_sib.proof.siblings[4] += Fr::one();
    assert!(!satisfied(&bad_sib, root, index), "sibling");
    assert!(
        !satisfied(
            &PathCircuit {
                flip_bit: Some(3),
                ..good.clone()
            },
            root,
            index
        ),
        "bit"
    );
    assert!(!satisfied(&good, root, index + 1), "index");
    assert!(!satisfied(&good, root + Fr::one(), index), "root");
    Ok(())
}
