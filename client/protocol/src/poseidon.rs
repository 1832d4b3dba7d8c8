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

use ff::Field;
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

#[inline(always)]
fn sbox(x: Fr) -> Fr {
    let x2 = x.square();
    x2.square() * x
}

/// Applies the Poseidon permutation in place.
pub fn permute(state: &mut State) {
    let p = params();
    let half = POSEIDON_FULL_ROUNDS / 2;
    let rounds = POSEIDON_FULL_ROUNDS + POSEIDON_PARTIAL_ROUNDS;
    for (r, rc) in p.round_constants.iter().enumerate().take(rounds) {
        for (s, c) in state.iter_mut().zip(rc) {
            *s += c;
        }
        if r < half || r >= half + POSEIDON_PARTIAL_ROUNDS {
            for s in state.iter_mut() {
                *s = sbox(*s);
            }
        } else {
            state[0] = sbox(state[0]);
        }
        let m = &p.mds;
        *state = [
            m[0][0] * state[0] + m[0][1] * state[1] + m[0][2] * state[2],
            m[1][0] * state[0] + m[1][1] * state[1] + m[1][2] * state[2],
            m[2][0] * state[0] + m[2][1] * state[1] + m[2][2] * state[2],
        ];
    }
}

/// The initial capacity element for `n` inputs under `tag`: `tag * 2^64 + n`.
pub fn capacity(tag: u64, n: usize) -> Fr {
    Fr::from(tag) * Fr::from(2u64).pow_vartime([64]) + Fr::from(n as u64)
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
        permute(&mut s);
        assert_eq!(
            to_hex(&s[0]),
            "0x115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a"
        );
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
