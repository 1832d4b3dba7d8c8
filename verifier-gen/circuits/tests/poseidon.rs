//! The Poseidon chip against the core (MockProver), with negative cases for every gate.

use halo2_base::halo2_proofs::circuit::{Layouter, SimpleFloorPlanner, Value};
use halo2_base::halo2_proofs::dev::MockProver;
use halo2_base::halo2_proofs::plonk::{Advice, Circuit, Column, ConstraintSystem, Error, Instance};
use rollup_circuits::Fr;
use rollup_circuits::layout::Columns;
use rollup_circuits::layout::Word;
use rollup_circuits::poseidon::{PoseidonConfig, ROWS_PER_PERMUTATION};
use rollup_protocol::constants::{TAG_ACCOUNT, TAG_EDDSA, TAG_NODE};
use rollup_protocol::poseidon::hash;

#[derive(Clone, Default)]
struct HashCircuit {
    tag: u64,
    inputs: Vec<Fr>,
    fault: Option<(usize, usize)>,
}

#[derive(Clone)]
struct HashConfig {
    poseidon: PoseidonConfig,
    input: Column<Advice>,
    output: Column<Instance>,
}

impl Circuit<Fr> for HashCircuit {
    type Config = HashConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ();

    fn without_witnesses(&self) -> Self {
        HashCircuit {
            tag: self.tag,
            inputs: vec![Fr::zero(); self.inputs.len()],
            fault: self.fault,
        }
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> HashConfig {
        let pool = Columns::configure(meta);
        let input = meta.advice_column();
        meta.enable_equality(input);
        let output = meta.instance_column();
        meta.enable_equality(output);
        HashConfig {
            poseidon: PoseidonConfig::configure(meta, &pool),
            input,
            output,
        }
    }

    fn synthesize(&self, config: HashConfig, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        let words = layouter.assign_region(
            || "inputs",
            |mut region| {
                Ok(self
                    .inputs
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
        let out = layouter.assign_region(
            || "poseidon",
            |mut region| {
                config
                    .poseidon
                    .hash_with_fault(&mut region, &mut 0, self.tag, &words, self.fault)
            },
        )?;
        layouter.constrain_instance(out.cell, config.output, 0);
        Ok(())
    }
}

const K: u32 = 9;

fn inputs(n: usize) -> Vec<Fr> {
    (0..n as u64).map(|i| Fr::from(1000 + i * 7919)).collect()
}

fn check(c: &HashCircuit, expected: Fr) -> bool {
    MockProver::run(K, c, vec![vec![expected]])
        .map(|p| p.verify().is_ok())
        .unwrap_or(false)
}

/// The failures MockProver reports, as text (each names its gate and constraint).
fn failures(c: &HashCircuit, expected: Fr) -> Vec<String> {
    match MockProver::run(K, c, vec![vec![expected]]) {
        Ok(p) => p
            .verify()
            .err()
            .unwrap_or_default()
            .iter()
            .map(|f| f.to_string())
            .collect(),
        Err(e) => vec![e.to_string()],
    }
}

#[test]
fn chip_equals_core_for_every_length() {
    for (tag, n) in [
        (TAG_NODE, 2),
        (TAG_ACCOUNT, 4),
        (TAG_EDDSA, 5),
        (7, 1),
        (7, 0),
    ] {
        let xs = inputs(n);
        let c = HashCircuit {
            tag,
            inputs: xs.clone(),
            fault: None,
        };
        assert!(check(&c, hash(tag, &xs)), "tag {tag}, {n} inputs");
    }
}

#[test]
fn wrong_output_is_rejected() {
    let xs = inputs(2);
    let c = HashCircuit {
        tag: TAG_NODE,
        inputs: xs.clone(),
        fault: None,
    };
    assert!(!check(&c, hash(TAG_NODE, &xs) + Fr::one()));
}

#[test]
fn wrong_tag_is_rejected() {
    // The capacity is pinned to tag·2^64 + n: proving under another tag cannot give this hash.
    let xs = inputs(2);
    let c = HashCircuit {
        tag: TAG_ACCOUNT,
        inputs: xs.clone(),
        fault: None,
    };
    assert!(!check(&c, hash(TAG_NODE, &xs)));
}

#[test]
fn tampered_cells_are_rejected_by_each_gate() {
    let xs = inputs(4);
    let expected = hash(TAG_ACCOUNT, &xs);
    let full_row = 2; // within the first full rounds
    let partial_row = 10; // within the partial rounds (rows 5 to 18 of a permutation)
    let second_absorb = ROWS_PER_PERMUTATION; // the first permutation's output row absorbs inputs 3 and 4
    let absorb_next = second_absorb + 1; // the row the absorb gate produces
    let last_output = 2 * ROWS_PER_PERMUTATION; // the final output row (its element 1 is the hash)
    for (row, col) in [
        (0, 6), // copied input x in the absorb column
        (0, 7), // and y
        (1, 0), // the absorbed state after M_E
        (1, 3), // the first round's S-box square
        (2, 2), // the first round's output
        (second_absorb, 6),
        (absorb_next, 4), // the second permutation's first-round square
        (full_row, 0),
        (full_row, 3),    // the S-box square of element 0
        (full_row, 5),    // and of element 2
        (partial_row, 3), // the first of its four rounds' square
        (partial_row, 8), // the second round's S-box input
        (partial_row, 9), // and its square
        (partial_row, 10),
        (partial_row, 11),
        (partial_row, 12), // the fourth round's S-box input
        (partial_row, 13), // and its square
        (full_row, 2),
        (partial_row, 0),
        (partial_row, 1),
        (partial_row, 2),
        (partial_row + 1, 2), // the state the four rounds produce
        (18, 13),             // the last partial-round row's last square
        (19, 1),              // the full-round row it feeds
        (absorb_next, 1),
        (absorb_next + 1, 2),
        (last_output, 1),
    ] {
        let c = HashCircuit {
            tag: TAG_ACCOUNT,
            inputs: xs.clone(),
            fault: Some((row, col)),
        };
        assert!(
            !check(&c, expected),
            "fault at row {row}, column {col} went unnoticed"
        );
    }
}

#[derive(Clone, Default)]
struct TwoHashes;

impl Circuit<Fr> for TwoHashes {
    type Config = HashConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ();

    fn without_witnesses(&self) -> Self {
        TwoHashes
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> HashConfig {
        HashCircuit::configure(meta)
    }

    fn synthesize(&self, config: HashConfig, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        let out = layouter.assign_region(
            || "two sponges",
            |mut region| {
                let v = Value::known(Fr::from(3u64));
                let w = Word {
                    cell: region.assign_advice(config.input, 0, v).cell(),
                    value: v,
                };
                let mut row = 0;
                let h = config
                    .poseidon
                    .hash(&mut region, &mut row, TAG_NODE, &[w, w])?;
                config
                    .poseidon
                    .hash(&mut region, &mut row, TAG_NODE, &[h, w])
            },
        )?;
        layouter.constrain_instance(out.cell, config.output, 0);
        Ok(())
    }
}

#[test]
fn consecutive_sponges_share_a_region() {
    let three = Fr::from(3u64);
    let expected = hash(TAG_NODE, &[hash(TAG_NODE, &[three, three]), three]);
    let p = MockProver::run(K, &TwoHashes, vec![vec![expected]]);
    assert!(p.map(|p| p.verify().is_ok()).unwrap_or(false));
}

/// A tampered cell of a partial-round row is caught by the constraint that defines it, not only by
/// another one downstream: each cell's own constraint is there (a cell whose defining constraint
/// were lost would still fail the next round's constraints, so the plain rejection above could
/// not tell).
#[test]
fn each_cell_of_a_partial_round_row_fails_its_own_constraint() {
    let xs = inputs(2);
    let expected = hash(TAG_NODE, &xs);
    let row = 12; // a partial-round row
    for (col, constraint) in [
        (3, "sq_0 = v_0^2"),
        (8, "v_1 = x_0 + c_1"),
        (9, "sq_1 = v_1^2"),
        (10, "v_2 = x_0 + c_2"),
        (11, "sq_2 = v_2^2"),
        (12, "v_3 = x_0 + c_3"),
        (13, "sq_3 = v_3^2"),
        (0, "next_0"), // a faulted output element fails the previous row's output constraint
        (1, "next_1"),
        (2, "next_2"),
    ] {
        let c = HashCircuit {
            tag: TAG_NODE,
            inputs: xs.clone(),
            fault: Some((row, col)),
        };
        let found = failures(&c, expected);
        let name = format!("('{constraint}') in gate");
        assert!(
            found
                .iter()
                .any(|f| f.contains(&name) && f.contains("poseidon2 four partial rounds")),
            "a fault in column {col} of row {row} did not fail {constraint}: {found:?}"
        );
    }
}
