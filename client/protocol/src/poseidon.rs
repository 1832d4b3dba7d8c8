//! Poseidon over BN254's scalar field: width 3, `x^5` S-box, 8 full and 57 partial
//! rounds, round constants and MDS matrix from the reference Grain LFSR (the same
//! constants as circomlib and Scroll's poseidon-primitives).
//!
//! The hash is a sponge with one permutation per two inputs. Its capacity element
//! starts at `tag * 2^64 + n` (a domain tag and the input count), inputs are added
//! into the two rate elements (a missing last input is zero), and the output is
//! the first rate element after the last permutation. A 2-to-1 node hash is
//! therefore exactly one permutation.

use std::sync::OnceLock;

use ff::{Field, PrimeField};
use poseidon_primitives::poseidon::primitives::Spec;

use crate::constants::{
    POSEIDON_FULL_ROUNDS, POSEIDON_PARTIAL_ROUNDS, POSEIDON_RATE, POSEIDON_WIDTH,
};
use crate::field::Fr;

/// The permutation's state.
pub type State = [Fr; POSEIDON_WIDTH];

/// Round constants and MDS matrix of the permutation.
#[derive(Debug, Clone)]
pub struct Params {
    /// One row of `POSEIDON_WIDTH` constants per round, added before the S-box.
    pub round_constants: Vec<State>,
    /// The MDS matrix, applied after the S-box.
    pub mds: [State; POSEIDON_WIDTH],
}

#[derive(Debug)]
struct GrainSpec;

impl Spec<Fr, POSEIDON_WIDTH, POSEIDON_RATE> for GrainSpec {
    fn full_rounds() -> usize {
        POSEIDON_FULL_ROUNDS
    }
    fn partial_rounds() -> usize {
        POSEIDON_PARTIAL_ROUNDS
    }
    fn sbox(val: Fr) -> Fr {
        val.pow_vartime([5])
    }
    fn secure_mds() -> usize {
        0
    }
}

/// The permutation's constants, generated once from the Grain LFSR.
pub fn params() -> &'static Params {
    static PARAMS: OnceLock<Params> = OnceLock::new();
    PARAMS.get_or_init(|| {
        let (round_constants, mds, _) = GrainSpec::constants();
        Params {
            round_constants,
            mds,
        }
    })
}

/// One partial round of the optimized form: `x0 += k; x0 = x0^5;` then the sparse
/// matrix `[[m00, w0, w1], [v0, 1, 0], [v1, 0, 1]]`.
#[derive(Debug, Clone, Copy)]
pub struct PartialRound {
    /// Constant added to `x0` before the S-box.
    pub k: Fr,
    /// First row of the sparse matrix, after `m00`.
    pub w: [Fr; 2],
    /// First column of the sparse matrix, below `m00`.
    pub v: [Fr; 2],
}

/// The same permutation rewritten with fewer multiplications (Poseidon paper,
/// appendix B): partial rounds add one constant and apply a sparse matrix.
/// Equal to [`permute_reference`] on every input; the generated Solidity uses it.
#[derive(Debug, Clone)]
pub struct OptimizedParams {
    /// Constants of the full rounds (the first one after the partial rounds also
    /// carries the partial rounds' moved constants).
    pub full_rc: Vec<State>,
    /// Matrix after the last full round before the partial rounds.
    pub pre_sparse: [State; POSEIDON_WIDTH],
    /// Top-left entry of every sparse matrix (the MDS matrix's).
    pub m00: Fr,
    /// The partial rounds.
    pub partial: Vec<PartialRound>,
}

fn mat_vec(m: &[State; POSEIDON_WIDTH], x: &State) -> State {
    [
        m[0][0] * x[0] + m[0][1] * x[1] + m[0][2] * x[2],
        m[1][0] * x[0] + m[1][1] * x[1] + m[1][2] * x[2],
        m[2][0] * x[0] + m[2][1] * x[1] + m[2][2] * x[2],
    ]
}

/// The optimized constants, derived once from [`params`].
pub fn optimized() -> &'static OptimizedParams {
    static OPT: OnceLock<OptimizedParams> = OnceLock::new();
    OPT.get_or_init(|| {
        let p = params();
        let m = &p.mds;
        let half = POSEIDON_FULL_ROUNDS / 2;
        let np = POSEIDON_PARTIAL_ROUNDS;
        // Move the constants of x1, x2 in partial rounds forward through the linear layers.
        let mut carry = [Fr::ZERO; POSEIDON_WIDTH];
        let mut ks = Vec::with_capacity(np);
        for i in 0..np {
            let c = p.round_constants[half + i];
            let t = [c[0] + carry[0], c[1] + carry[1], c[2] + carry[2]];
            ks.push(t[0]);
            carry = mat_vec(m, &[Fr::ZERO, t[1], t[2]]);
        }
        let mut full_rc: Vec<State> = p.round_constants[..half].to_vec();
        let first_after = p.round_constants[half + np];
        full_rc.push([
            first_after[0] + carry[0],
            first_after[1] + carry[1],
            first_after[2] + carry[2],
        ]);
        full_rc.extend_from_slice(&p.round_constants[half + np + 1..]);
        // Factor each partial round's matrix A = S · diag(1, Â), moving diag(1, Â) one round back.
        let mut a = *m;
        let mut partial = vec![
            PartialRound {
                k: Fr::ZERO,
                w: [Fr::ZERO; 2],
                v: [Fr::ZERO; 2]
            };
            np
        ];
        for i in (0..np).rev() {
            let (h00, h01, h10, h11) = (a[1][1], a[1][2], a[2][1], a[2][2]);
            let det_inv = Option::<Fr>::from((h00 * h11 - h01 * h10).invert()).unwrap_or(Fr::ZERO);
            let inv = [
                [h11 * det_inv, -h01 * det_inv],
                [-h10 * det_inv, h00 * det_inv],
            ];
            let w = [
                a[0][1] * inv[0][0] + a[0][2] * inv[1][0],
                a[0][1] * inv[0][1] + a[0][2] * inv[1][1],
            ];
            partial[i] = PartialRound {
                k: ks[i],
                w,
                v: [a[1][0], a[2][0]],
            };
            let hat = [[h00, h01], [h10, h11]];
            let mut prev = *m;
            for r in 0..2 {
                for c in 0..POSEIDON_WIDTH {
                    prev[1 + r][c] = hat[r][0] * m[1][c] + hat[r][1] * m[2][c];
                }
            }
            a = prev;
        }
        OptimizedParams {
            full_rc,
            pre_sparse: a,
            m00: m[0][0],
            partial,
        }
    })
}

#[inline(always)]
fn sbox(x: Fr) -> Fr {
    let x2 = x.square();
    x2.square() * x
}

/// Applies the Poseidon permutation in place (optimized form).
pub fn permute(state: &mut State) {
    let o = optimized();
    let m = &params().mds;
    let half = POSEIDON_FULL_ROUNDS / 2;
    let full = |state: &mut State, rc: &State, mat: &[State; POSEIDON_WIDTH]| {
        for (s, c) in state.iter_mut().zip(rc) {
            *s = sbox(*s + c);
        }
        *state = mat_vec(mat, state);
    };
    for r in 0..half {
        full(
            state,
            &o.full_rc[r],
            if r + 1 == half { &o.pre_sparse } else { m },
        );
    }
    for pr in &o.partial {
        let x0 = sbox(state[0] + pr.k);
        let n0 = o.m00 * x0 + pr.w[0] * state[1] + pr.w[1] * state[2];
        state[1] += pr.v[0] * x0;
        state[2] += pr.v[1] * x0;
        state[0] = n0;
    }
    for r in half..POSEIDON_FULL_ROUNDS {
        full(state, &o.full_rc[r], m);
    }
}

/// Round `r` of the permutation as specified: add the round's three constants,
/// apply the S-box (to all three elements in a full round, to element 0 in a
/// partial round), multiply by the MDS matrix. The chunk circuit lays out one
/// row per round and takes its witness from here.
pub fn round(state: &mut State, r: usize) {
    let p = params();
    for (s, c) in state.iter_mut().zip(&p.round_constants[r]) {
        *s += c;
    }
    if is_full_round(r) {
        for s in state.iter_mut() {
            *s = sbox(*s);
        }
    } else {
        state[0] = sbox(state[0]);
    }
    *state = mat_vec(&p.mds, state);
}

/// Whether round `r` is a full round (the first and last `POSEIDON_FULL_ROUNDS / 2`).
pub fn is_full_round(r: usize) -> bool {
    let half = POSEIDON_FULL_ROUNDS / 2;
    r < half || r >= half + POSEIDON_PARTIAL_ROUNDS
}

/// Number of rounds.
pub const ROUNDS: usize = POSEIDON_FULL_ROUNDS + POSEIDON_PARTIAL_ROUNDS;

/// The permutation exactly as specified: [`round`] for every round.
pub fn permute_reference(state: &mut State) {
    for r in 0..ROUNDS {
        round(state, r);
    }
}

/// The initial capacity element for `n` inputs under `tag`: `tag * 2^64 + n`.
pub fn capacity(tag: u64, n: usize) -> Fr {
    Fr::from_u128((u128::from(tag) << 64) | n as u128)
}

/// Hashes `inputs` under the domain `tag` (see the module docs for the sponge).
pub fn hash(tag: u64, inputs: &[Fr]) -> Fr {
    let mut state = [capacity(tag, inputs.len()), Fr::ZERO, Fr::ZERO];
    if inputs.is_empty() {
        permute(&mut state);
    }
    for pair in inputs.chunks(POSEIDON_RATE) {
        state[1] += pair[0];
        if let Some(b) = pair.get(1) {
            state[2] += b;
        }
        permute(&mut state);
    }
    state[1]
}

/// The 2-to-1 hash under `tag`: one permutation of `[cap(tag, 2), a, b]`.
pub fn hash2(tag: u64, a: Fr, b: Fr) -> Fr {
    let mut state = [capacity(tag, 2), a, b];
    permute(&mut state);
    state[1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::{from_hex, to_hex};

    /// circomlib's `poseidon([1, 2])` is the permutation of `[0, 1, 2]`, output
    /// element 0. Matching it pins the constants to the reference generator.
    #[test]
    fn permutation_matches_circomlib_vector() {
        let mut s = [Fr::ZERO, Fr::from(1u64), Fr::from(2u64)];
        permute_reference(&mut s);
        assert_eq!(
            to_hex(&s[0]),
            "0x115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a"
        );
    }

    #[test]
    fn optimized_equals_reference() {
        let mut x = [Fr::from(3u64), Fr::from(1u64), Fr::from(4u64)];
        for _ in 0..20 {
            let mut a = x;
            let mut b = x;
            permute(&mut a);
            permute_reference(&mut b);
            assert_eq!(a, b);
            x = [a[1], a[2] + Fr::ONE, a[0].square()];
        }
        let mut z = [Fr::ZERO; 3];
        let mut z2 = z;
        permute(&mut z);
        permute_reference(&mut z2);
        assert_eq!(z, z2);
    }

    #[test]
    fn hash2_is_the_sponge_on_two_inputs() {
        let (a, b) = (Fr::from(7u64), Fr::from(9u64));
        assert_eq!(hash2(5, a, b), hash(5, &[a, b]));
        assert_ne!(hash2(5, a, b), hash2(6, a, b), "tags separate domains");
        assert_ne!(
            hash(5, &[a]),
            hash(5, &[a, Fr::ZERO]),
            "lengths separate domains"
        );
    }

    #[test]
    fn capacity_is_tag_shifted_plus_length() {
        assert_eq!(
            capacity(3, 5),
            from_hex("0x30000000000000005").unwrap_or(Fr::ONE)
        );
    }
}
