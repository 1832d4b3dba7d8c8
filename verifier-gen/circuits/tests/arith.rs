//! The rules' arithmetic gate and range checks (MockProver): each accepts exactly what it should,
//! at the boundaries.

use halo2_base::halo2_proofs::circuit::{Layouter, SimpleFloorPlanner, Value};
use halo2_base::halo2_proofs::dev::MockProver;
use halo2_base::halo2_proofs::halo2curves::ff::Field;
use halo2_base::halo2_proofs::plonk::{Circuit, ConstraintSystem, Error};
use rollup_circuits::Fr;
use rollup_circuits::arith::{ArithConfig, Term, pow2};
use rollup_circuits::layout::Columns;

/// What the test circuit checks about its one input `x`.
#[derive(Clone, Copy)]
enum Check {
    /// `x < 2^bits`.
    Range(usize),
    /// `is_zero(x)` equals `expected`.
    IsZero(u64),
    /// `x ≠ 0` when the flag is 1.
    NonzeroIf(u64),
    /// `x ∈ {0, 1}`.
    Bool,
    /// `select(x, 7, 9)` equals `expected`.
    Select(u64),
}

#[derive(Clone)]
struct Test {
    x: Fr,
    check: Check,
}

impl Circuit<Fr> for Test {
    type Config = (Columns, ArithConfig);
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ();

    fn without_witnesses(&self) -> Self {
        self.clone()
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> Self::Config {
        let pool = Columns::configure(meta);
        let arith = ArithConfig::configure(meta, &pool);
        (pool, arith)
    }

    fn synthesize(
        &self,
        (pool, a): Self::Config,
        mut layouter: impl Layouter<Fr>,
    ) -> Result<(), Error> {
        a.load_table(&mut layouter)?;
        layouter.assign_region(
            || "check",
            |mut region| {
                let row = &mut 0;
                let x = pool.word(&mut region, row, Value::known(self.x));
                let expect = |region: &mut _, row: &mut usize, w, v: u64| {
                    a.assert_mul_add(
                        region,
                        row,
                        w,
                        Term::Const(Fr::ONE),
                        Term::Const(Fr::ZERO),
                        Term::Const(Fr::from(v)),
                    )
                };
                match self.check {
                    Check::Range(bits) => a.range(&mut region, row, x, bits),
                    Check::IsZero(e) => {
                        let z = a.is_zero(&mut region, row, x)?;
                        expect(&mut region, row, z, e)
                    }
                    Check::NonzeroIf(flag) => {
                        a.assert_nonzero_if(&mut region, row, x, Term::Const(Fr::from(flag)))
                    }
                    Check::Bool => a.assert_bool(&mut region, row, x),
                    Check::Select(e) => {
                        let s = a.select(
                            &mut region,
                            row,
                            x,
                            Term::Const(Fr::from(7u64)),
                            Term::Const(Fr::from(9u64)),
                        )?;
                        expect(&mut region, row, s, e)
                    }
                }
            },
        )
    }
}

fn ok(x: Fr, check: Check) -> bool {
    MockProver::run(9, &Test { x, check }, vec![])
        .map(|p| p.verify().is_ok())
        .unwrap_or(false)
}

#[test]
fn range_checks_hold_exactly_at_their_bounds() {
    for bits in [1, 7, 8, 32, 40, 56, 126, 127, 128, 158, 160, 206, 248] {
        let top = pow2(bits);
        assert!(ok(Fr::ZERO, Check::Range(bits)), "0 < 2^{bits}");
        assert!(
            ok(top - Fr::ONE, Check::Range(bits)),
            "2^{bits} - 1 < 2^{bits}"
        );
        assert!(
            !ok(top, Check::Range(bits)),
            "2^{bits} accepted as below 2^{bits}"
        );
        assert!(
            !ok(-Fr::ONE, Check::Range(bits)),
            "r - 1 accepted as below 2^{bits}"
        );
        // A value that only a wrapped shift would make small.
        assert!(
            !ok(
                Fr::ONE * pow2(bits).invert().unwrap_or(Fr::ZERO),
                Check::Range(bits)
            ),
            "2^-{bits}"
        );
    }
}

#[test]
fn zero_tests_selection_and_booleans() {
    assert!(ok(Fr::ZERO, Check::IsZero(1)));
    assert!(ok(Fr::from(5u64), Check::IsZero(0)));
    assert!(!ok(Fr::ZERO, Check::IsZero(0)), "zero reported non-zero");
    assert!(
        !ok(Fr::from(5u64), Check::IsZero(1)),
        "non-zero reported zero"
    );

    assert!(ok(Fr::from(5u64), Check::NonzeroIf(1)));
    assert!(ok(Fr::ZERO, Check::NonzeroIf(0)));
    assert!(
        !ok(Fr::ZERO, Check::NonzeroIf(1)),
        "zero passed a non-zero check"
    );

    assert!(ok(Fr::ZERO, Check::Bool));
    assert!(ok(Fr::ONE, Check::Bool));
    assert!(!ok(Fr::from(2u64), Check::Bool), "2 accepted as a boolean");

    assert!(ok(Fr::ONE, Check::Select(7)));
    assert!(ok(Fr::ZERO, Check::Select(9)));
    assert!(
        !ok(Fr::ONE, Check::Select(9)),
        "selection picked the wrong side"
    );
}
