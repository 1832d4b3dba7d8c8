//! Poseidon2 over BN254's scalar field: width 3, `x^5` S-box, 8 full and 56
//! partial rounds, round constants from the Grain LFSR of the Poseidon reference
//! (the instance of the Poseidon2 paper, Grassi, Khovratovich and Schofnegger 2023,
//! whose published test vector [`tests`] pins).
//!
//! The permutation is `M_E`, then 4 full rounds, 56 partial rounds and 4 full
//! rounds. A full round adds three constants, raises every element to the fifth
//! power and multiplies by the external matrix `M_E = circ(2, 1, 1)`; a partial
//! round adds one constant to element 0, raises it alone to the fifth power and
//! multiplies by the internal matrix `M_I = J + diag(1, 1, 2)` (`J` all ones).
//! Both matrices are sums and doublings: no multiplication by a constant, which
//! is what makes the permutation cheap on L1 (`docs/protocol.md`, section 2).
//!
//! The hash is a sponge with one permutation per two inputs. Its capacity element
//! starts at `tag * 2^64 + n` (a domain tag and the input count), inputs are added
//! into the two rate elements (a missing last input is zero), and the output is
//! the first rate element after the last permutation. A 2-to-1 node hash is
//! therefore exactly one permutation.

use std::sync::OnceLock;

use ff::{Field, PrimeField};

use crate::constants::{
    POSEIDON_FULL_ROUNDS, POSEIDON_PARTIAL_ROUNDS, POSEIDON_RATE, POSEIDON_WIDTH,
};
use crate::field::Fr;

/// The permutation's state.
pub type State = [Fr; POSEIDON_WIDTH];

/// The external matrix `M_E = circ(2, 1, 1)` of the full rounds (and the initial linear layer).
pub const EXTERNAL_MATRIX: [[u64; POSEIDON_WIDTH]; POSEIDON_WIDTH] =
    [[2, 1, 1], [1, 2, 1], [1, 1, 2]];
/// The internal matrix `M_I = J + diag(1, 1, 2)` of the partial rounds.
pub const INTERNAL_MATRIX: [[u64; POSEIDON_WIDTH]; POSEIDON_WIDTH] =
    [[2, 1, 1], [1, 2, 1], [1, 1, 3]];

/// Number of rounds.
pub const ROUNDS: usize = POSEIDON_FULL_ROUNDS + POSEIDON_PARTIAL_ROUNDS;

/// Round constants of the permutation.
#[derive(Debug, Clone)]
pub struct Params {
    /// One row of `POSEIDON_WIDTH` constants per round, added before the S-box; a partial
    /// round's row is `[c, 0, 0]`.
    pub round_constants: Vec<State>,
}

/// The Grain LFSR in self-shrinking mode that the Poseidon reference uses to draw constants:
/// an 80-bit register seeded with the instance (prime field, `x^α` S-box, field size, width,
/// full and partial rounds), 160 bits discarded, then bits kept in pairs whose first bit is 1.
struct Grain {
    bits: [bool; 80],
    head: usize,
}

impl Grain {
    fn new(t: u16, full: u16, partial: u16) -> Self {
        let mut bits = [true; 80];
        let mut put = |offset: usize, len: usize, value: u16| {
            for i in 0..len {
                bits[offset + i] = (value >> (len - 1 - i)) & 1 == 1;
            }
        };
        put(0, 2, 1); // prime field
        put(2, 4, 0); // x^alpha S-box
        put(6, 12, Fr::NUM_BITS as u16);
        put(18, 12, t);
        put(30, 10, full);
        put(40, 10, partial);
        let mut grain = Grain { bits, head: 0 };
        for _ in 0..160 {
            grain.step();
        }
        grain
    }

    /// Shifts the register by one and returns the bit shifted out.
    fn step(&mut self) -> bool {
        let at = |k: usize| self.bits[(self.head + k) % 80];
        let new = at(62) ^ at(51) ^ at(38) ^ at(23) ^ at(13) ^ at(0);
        // The oldest bit leaves, the new one becomes the register's last.
        self.bits[self.head] = new;
        self.head = (self.head + 1) % 80;
        new
    }

    fn next_bit(&mut self) -> bool {
        loop {
            let keep = self.step();
            let bit = self.step();
            if keep {
                return bit;
            }
        }
    }

    /// The next `NUM_BITS`-bit big-endian integer below the modulus.
    fn next_field_element(&mut self) -> Fr {
        loop {
            let mut repr = <Fr as PrimeField>::Repr::default();
            let bytes = repr.as_mut();
            let n = Fr::NUM_BITS as usize;
            for i in (0..n).rev() {
                if self.next_bit() {
                    bytes[i / 8] |= 1 << (i % 8);
                }
            }
            if let Some(f) = Option::<Fr>::from(Fr::from_repr(repr)) {
                return f;
            }
        }
    }
}

/// The permutation's constants, drawn once from the Grain LFSR in round order: three per full
/// round, one per partial round (`8 · 3 + 56 = 80` elements).
pub fn params() -> &'static Params {
    static PARAMS: OnceLock<Params> = OnceLock::new();
    PARAMS.get_or_init(|| {
        let mut grain = Grain::new(
            POSEIDON_WIDTH as u16,
            POSEIDON_FULL_ROUNDS as u16,
            POSEIDON_PARTIAL_ROUNDS as u16,
        );
        let round_constants = (0..ROUNDS)
            .map(|r| {
                let mut row = [Fr::ZERO; POSEIDON_WIDTH];
                let drawn = if is_full_round(r) { POSEIDON_WIDTH } else { 1 };
                for c in &mut row[..drawn] {
                    *c = grain.next_field_element();
                }
                row
            })
            .collect();
        Params { round_constants }
    })
}

/// A matrix of small integers as field elements.
pub fn matrix(m: &[[u64; POSEIDON_WIDTH]; POSEIDON_WIDTH]) -> [State; POSEIDON_WIDTH] {
    m.map(|row| row.map(Fr::from))
}

#[inline(always)]
fn sbox(x: Fr) -> Fr {
    let x2 = x.square();
    x2.square() * x
}

/// Multiplies by `M_E = circ(2, 1, 1)`: every element plus the sum of all three.
#[inline(always)]
pub fn external_layer(state: &mut State) {
    let sum = state[0] + state[1] + state[2];
    for s in state.iter_mut() {
        *s += sum;
    }
}

/// Multiplies by `M_I = J + diag(1, 1, 2)`: the sum plus the element, doubled for element 2.
#[inline(always)]
fn internal_layer(state: &mut State) {
    let sum = state[0] + state[1] + state[2];
    state[0] += sum;
    state[1] += sum;
    state[2] = state[2].double() + sum;
}

/// Whether round `r` is a full round (the first and last `POSEIDON_FULL_ROUNDS / 2`).
pub fn is_full_round(r: usize) -> bool {
    let half = POSEIDON_FULL_ROUNDS / 2;
    r < half || r >= half + POSEIDON_PARTIAL_ROUNDS
}

/// Round `r` as specified: add the round's constants, apply the S-box (to all three elements in a
/// full round, to element 0 in a partial round), multiply by `M_E` (full) or `M_I` (partial). The
/// permutation is [`external_layer`] followed by rounds `0 … ROUNDS − 1`; the chunk circuit lays out
/// one row per round and takes its witness from here.
pub fn round(state: &mut State, r: usize) {
    let c = &params().round_constants[r];
    if is_full_round(r) {
        for (s, c) in state.iter_mut().zip(c) {
            *s = sbox(*s + c);
        }
        external_layer(state);
    } else {
        state[0] = sbox(state[0] + c[0]);
        internal_layer(state);
    }
}

/// Applies the Poseidon2 permutation in place.
pub fn permute(state: &mut State) {
    external_layer(state);
    for r in 0..ROUNDS {
        round(state, r);
    }
}

/// The permutation with both linear layers as full matrix products: the specification written
/// the long way, against which [`permute`] is tested.
pub fn permute_reference(state: &mut State) {
    let mul = |m: &[State; POSEIDON_WIDTH], x: &State| -> State {
        std::array::from_fn(|i| (0..POSEIDON_WIDTH).map(|j| m[i][j] * x[j]).sum())
    };
    let (me, mi) = (matrix(&EXTERNAL_MATRIX), matrix(&INTERNAL_MATRIX));
    *state = mul(&me, state);
    for (r, c) in params().round_constants.iter().enumerate() {
        let full = is_full_round(r);
        for (j, (s, c)) in state.iter_mut().zip(c).enumerate() {
            *s += c;
            if full || j == 0 {
                *s = s.pow_vartime([5]);
            }
        }
        *state = mul(if full { &me } else { &mi }, state);
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

    /// The Poseidon2 paper's reference implementation permutes `[0, 1, 2]` to these three
    /// elements for this instance. Matching them pins the constants (and the Grain LFSR that
    /// draws them) and both matrices to the published instance.
    #[test]
    fn permutation_matches_the_reference_vector() {
        let expected = [
            "0x0bb61d24daca55eebcb1929a82650f328134334da98ea4f847f760054f4a3033",
            "0x303b6f7c86d043bfcbcc80214f26a30277a15d3f74ca654992defe7ff8d03570",
            "0x1ed25194542b12eef8617361c3ba7c52e660b145994427cc86296242cf766ec8",
        ];
        let mut s = [Fr::ZERO, Fr::from(1u64), Fr::from(2u64)];
        permute(&mut s);
        assert_eq!(s.map(|x| to_hex(&x)), expected);
        let mut r = [Fr::ZERO, Fr::from(1u64), Fr::from(2u64)];
        permute_reference(&mut r);
        assert_eq!(r, s);
    }

    /// The same generator seeded for Poseidon (57 partial rounds) draws that instance's first
    /// round constant, the one circomlib and the Poseidon reference publish.
    #[test]
    fn grain_draws_the_poseidon_reference_constants() {
        let mut g = Grain::new(3, 8, 57);
        assert_eq!(
            to_hex(&g.next_field_element()),
            "0x0ee9a592ba9a9518d05986d656f40c2114c4993c11bb29938d21d47304cd8e6e"
        );
    }

    #[test]
    fn fast_linear_layers_equal_the_matrices() {
        let mut x = [Fr::from(3u64), Fr::from(1u64), Fr::from(4u64)];
        for _ in 0..20 {
            let mut a = x;
            let mut b = x;
            permute(&mut a);
            permute_reference(&mut b);
            assert_eq!(a, b);
            x = [a[1], a[2] + Fr::ONE, a[0].square()];
        }
    }

    #[test]
    fn partial_rounds_carry_one_constant() {
        let p = params();
        assert_eq!(p.round_constants.len(), ROUNDS);
        for (r, c) in p.round_constants.iter().enumerate() {
            assert_ne!(c[0], Fr::ZERO, "round {r}");
            assert_eq!(c[1] == Fr::ZERO, !is_full_round(r), "round {r}");
            assert_eq!(c[2] == Fr::ZERO, !is_full_round(r), "round {r}");
        }
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
