//! A batch's pubdata as an EIP-4844 blob.
//!
//! A blob is [`FIELD_ELEMENTS_PER_BLOB`] elements of BLS12-381's scalar field, 32 bytes each,
//! big-endian: the evaluations of a polynomial `p` of degree below 4096 at the 4096th roots of
//! unity, in bit-reversed order, which is what its KZG commitment (and so its versioned hash)
//! commits to. This rollup chooses `p` by its **coefficients**: the batch's pubdata (its chunks'
//! records back to back, `docs/protocol.md` section 6) cut into 31-byte big-endian integers
//! `c₀, c₁, …`, zero-padded at the end, so `p(z) = Σ cₖ zᵏ`. A blob is then the FFT of the
//! coefficients ([`blob_of_pubdata`]) and the pubdata is read back by the inverse FFT
//! ([`pubdata_of_blob`]). Why the coefficients and not the evaluations: a circuit evaluates `p` at
//! a challenge with one multiplication per *used* coefficient (Horner's rule), padding costing
//! nothing, where the evaluation form needs a division per element of the whole blob.
//!
//! A coefficient is below `2²⁴⁸`, hence canonical in both BLS12-381's and BN254's scalar fields.

use ff::{Field, PrimeField};
use halo2curves_axiom::bls12_381;
use halo2curves_axiom::fft::best_fft;

use crate::error::{Error, Result};

/// BLS12-381's scalar field, the field of blobs.
pub type BlsFr = bls12_381::Fr;

/// Field elements per blob (EIP-4844).
pub const FIELD_ELEMENTS_PER_BLOB: usize = 4096;

/// Bytes of a blob.
pub const BYTES_PER_BLOB: usize = 32 * FIELD_ELEMENTS_PER_BLOB;

/// Pubdata bytes per coefficient.
pub const BYTES_PER_COEFFICIENT: usize = 31;

/// Pubdata bytes one blob holds: 126,976.
pub const BLOB_DATA_BYTES: usize = BYTES_PER_COEFFICIENT * FIELD_ELEMENTS_PER_BLOB;

const LOG_N: u32 = FIELD_ELEMENTS_PER_BLOB.trailing_zeros();

/// The 4096th root of unity of EIP-4844: `7^((r − 1)/4096)` (halo2curves' 2³²th root of unity is
/// `7^((r − 1)/2³²)`).
fn omega() -> BlsFr {
    let mut w = BlsFr::ROOT_OF_UNITY;
    for _ in LOG_N..BlsFr::S {
        w = w.square();
    }
    w
}

fn bit_reverse(i: usize) -> usize {
    i.reverse_bits() >> (usize::BITS - LOG_N)
}

/// A field element from 32 big-endian bytes, if below the modulus.
pub fn bls_from_be(bytes: &[u8; 32]) -> Option<BlsFr> {
    let mut le = *bytes;
    le.reverse();
    BlsFr::from_repr(le).into()
}

/// A field element's 32 big-endian bytes.
pub fn bls_to_be(x: &BlsFr) -> [u8; 32] {
    let mut be = x.to_repr();
    be.reverse();
    be
}

/// The coefficients of a blob holding `pubdata` (at most [`BLOB_DATA_BYTES`]), zero-padded to
/// [`FIELD_ELEMENTS_PER_BLOB`].
pub fn coefficients(pubdata: &[u8]) -> Result<Vec<BlsFr>> {
    if pubdata.len() > BLOB_DATA_BYTES {
        return Err(Error::Decode(format!(
            "{} bytes of pubdata do not fit one blob ({BLOB_DATA_BYTES} at most)",
            pubdata.len()
        )));
    }
    let mut out = vec![BlsFr::ZERO; FIELD_ELEMENTS_PER_BLOB];
    for (c, piece) in out.iter_mut().zip(pubdata.chunks(BYTES_PER_COEFFICIENT)) {
        let mut word = [0u8; 32];
        word[1..1 + piece.len()].copy_from_slice(piece);
        // Below 2^248 < r: always canonical.
        *c = bls_from_be(&word).unwrap_or(BlsFr::ZERO);
    }
    Ok(out)
}

/// `p(z)` for the coefficients `c` (Horner's rule, highest degree first).
pub fn evaluate(c: &[BlsFr], z: &BlsFr) -> BlsFr {
    c.iter().rev().fold(BlsFr::ZERO, |acc, ci| acc * z + ci)
}

/// A challenge (a BN254 element below `2²⁵³`, [`crate::codec::data_challenge`]) as the same
/// integer in BLS12-381's scalar field. Every BN254 element is below BLS12-381's modulus, so the
/// embedding is defined for all; the challenge's bound is what makes the integer the circuit
/// loads unique (`docs/protocol.md`, section 7).
pub fn embed(z: &crate::field::Fr) -> BlsFr {
    BlsFr::from_repr(ff::PrimeField::to_repr(z))
        .into_option()
        .unwrap_or(BlsFr::ZERO)
}

/// `p(z)` of the blob holding `pubdata`, at the challenge `z` ([`embed`]).
pub fn evaluate_pubdata(pubdata: &[u8], z: &crate::field::Fr) -> Result<BlsFr> {
    Ok(evaluate(&coefficients(pubdata)?, &embed(z)))
}

/// Bits of the low half of an evaluation as a batch proof exposes it: two 88-bit limbs.
pub const LOW_BITS: usize = 176;

/// An evaluation `y` as the batch proof's two public inputs: `y mod 2¹⁷⁶` and `y >> 176` (79 bits).
pub fn halves(y: &BlsFr) -> [crate::field::Fr; 2] {
    let bytes = y.to_repr();
    let mut lo = [0u8; 32];
    lo[..LOW_BITS / 8].copy_from_slice(&bytes[..LOW_BITS / 8]);
    let mut hi = [0u8; 32];
    hi[..32 - LOW_BITS / 8].copy_from_slice(&bytes[LOW_BITS / 8..]);
    // Both below 2^176 < r.
    [lo, hi].map(|b| {
        crate::field::Fr::from_repr(b)
            .into_option()
            .unwrap_or_default()
    })
}

/// Where the stream of 31-byte words stands after some pubdata: the open word's bytes so far
/// (`fill` of them, `fill < 31`) and zeros after. A batch's pubdata can be cut anywhere and its
/// pieces' [`Segment`]s joined: the aggregation tree evaluates the blob polynomial that way, each
/// level-1 node over its chunks' records from the state the records before them left
/// (`docs/protocol.md`, section 7, "Where the evaluation lives").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct StreamState {
    /// The open word, left-aligned: its first `fill` bytes are the pubdata's, the rest zero.
    pub window: [u8; BYTES_PER_COEFFICIENT],
    /// Bytes of the open word so far, below 31.
    pub fill: usize,
}

impl StreamState {
    /// The state after `bytes`, from the start of a batch's pubdata.
    pub fn after(bytes: &[u8]) -> StreamState {
        let fill = bytes.len() % BYTES_PER_COEFFICIENT;
        let mut window = [0u8; BYTES_PER_COEFFICIENT];
        window[..fill].copy_from_slice(&bytes[bytes.len() - fill..]);
        StreamState { window, fill }
    }

    /// The open word as an integer (below `2²⁴⁸`), in BLS12-381's scalar field.
    pub fn window_value(&self) -> BlsFr {
        let mut word = [0u8; 32];
        word[1..].copy_from_slice(&self.window);
        bls_from_be(&word).unwrap_or(BlsFr::ZERO)
    }

    /// The open word as the same integer in BN254's scalar field, as a circuit holds it.
    pub fn window_native(&self) -> crate::field::Fr {
        let mut word = [0u8; 32];
        word[1..].copy_from_slice(&self.window);
        word.reverse();
        crate::field::Fr::from_repr(word)
            .into_option()
            .unwrap_or_default()
    }
}

/// A piece of the blob polynomial: the words a run of pubdata completes, `c₀ … c_{n−1}` (the
/// first one holding the open word it started from), as `value = Σ cₖ zᵏ` and `shift = zⁿ`.
/// Pieces join in order ([`Segment::then`]), and a batch's evaluation is the joined segment of all
/// its pubdata closed with the open word left at its end ([`Segment::close`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// `Σ cₖ zᵏ` over the completed words.
    pub value: BlsFr,
    /// `zⁿ`, `n` the completed words.
    pub shift: BlsFr,
}

impl Segment {
    /// No words.
    pub const EMPTY: Segment = Segment {
        value: BlsFr::ZERO,
        shift: BlsFr::ONE,
    };

    /// The words `bytes` completes when appended at `start`, at `z`, and the state after them.
    pub fn of(start: &StreamState, bytes: &[u8], z: &BlsFr) -> (Segment, StreamState) {
        let mut stream: Vec<u8> = start.window[..start.fill].to_vec();
        stream.extend_from_slice(bytes);
        let complete = stream.len() / BYTES_PER_COEFFICIENT * BYTES_PER_COEFFICIENT;
        let mut segment = Segment::EMPTY;
        for word in stream[..complete].chunks_exact(BYTES_PER_COEFFICIENT) {
            let mut w = [0u8; 32];
            w[1..].copy_from_slice(word);
            let c = bls_from_be(&w).unwrap_or(BlsFr::ZERO);
            segment.value += segment.shift * c;
            segment.shift *= z;
        }
        (segment, StreamState::after(&stream))
    }

    /// This segment's words followed by `next`'s.
    pub fn then(&self, next: &Segment) -> Segment {
        Segment {
            value: self.value + self.shift * next.value,
            shift: self.shift * next.shift,
        }
    }

    /// The evaluation of the whole stream: these words, then the open word `end` left (a last
    /// coefficient, zero when the stream ends on a word boundary).
    pub fn close(&self, end: &StreamState) -> BlsFr {
        self.value + self.shift * end.window_value()
    }
}

/// Serde helpers: a blob field element as `0x…` hex of its 32 big-endian bytes.
pub mod serde_hex {
    use super::{BlsFr, bls_from_be, bls_to_be};
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    /// Serializes as `0x…` hex.
    pub fn serialize<S: Serializer>(x: &BlsFr, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&format!(
            "0x{}",
            alloy_primitives::hex::encode(bls_to_be(x))
        ))
    }

    /// Deserializes from hex, rejecting values at or above the modulus.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<BlsFr, D::Error> {
        let s = String::deserialize(d)?;
        let bytes: [u8; 32] = alloy_primitives::hex::decode(&s)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| D::Error::custom(format!("{s:?} is not 32 bytes of hex")))?;
        bls_from_be(&bytes)
            .ok_or_else(|| D::Error::custom(format!("{s} is not below BLS12-381's scalar modulus")))
    }
}

/// The blob whose polynomial has `pubdata`'s coefficients.
pub fn blob_of_pubdata(pubdata: &[u8]) -> Result<Vec<u8>> {
    let mut values = coefficients(pubdata)?;
    best_fft(&mut values, omega(), LOG_N);
    let mut blob = vec![0u8; BYTES_PER_BLOB];
    for (i, word) in blob.chunks_exact_mut(32).enumerate() {
        word.copy_from_slice(&bls_to_be(&values[bit_reverse(i)]));
    }
    Ok(blob)
}

/// The coefficients of a blob's polynomial: every element must be canonical.
pub fn blob_coefficients(blob: &[u8]) -> Result<Vec<BlsFr>> {
    if blob.len() != BYTES_PER_BLOB {
        return Err(Error::Decode(format!(
            "a blob is {BYTES_PER_BLOB} bytes, not {}",
            blob.len()
        )));
    }
    let mut values = vec![BlsFr::ZERO; FIELD_ELEMENTS_PER_BLOB];
    for (i, word) in blob.chunks_exact(32).enumerate() {
        let mut w = [0u8; 32];
        w.copy_from_slice(word);
        values[bit_reverse(i)] = bls_from_be(&w).ok_or_else(|| {
            Error::Decode(format!(
                "blob element {i} is not below BLS12-381's scalar modulus"
            ))
        })?;
    }
    let inverse_n = BlsFr::from(FIELD_ELEMENTS_PER_BLOB as u64)
        .invert()
        .unwrap_or(BlsFr::ZERO);
    best_fft(&mut values, omega().invert().unwrap_or(BlsFr::ZERO), LOG_N);
    for v in &mut values {
        *v *= inverse_n;
    }
    Ok(values)
}

/// The pubdata a blob holds ([`BLOB_DATA_BYTES`] bytes, its zero padding included): refused
/// unless every coefficient is below `2²⁴⁸` (a blob this encoding did not write).
pub fn pubdata_of_blob(blob: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(BLOB_DATA_BYTES);
    for (k, c) in blob_coefficients(blob)?.iter().enumerate() {
        let word = bls_to_be(c);
        if word[0] != 0 {
            return Err(Error::Decode(format!(
                "blob coefficient {k} is not below 2^248: not a blob of this rollup's encoding"
            )));
        }
        out.extend_from_slice(&word[1..]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_of_any_cut_join_to_the_whole_evaluation() -> Result<()> {
        let pubdata: Vec<u8> = (0..2_000u32).map(|i| (i * 13 + 5) as u8).collect();
        let z = BlsFr::from(0x1234_5678_9abc_def1u64).square();
        let whole = evaluate(&coefficients(&pubdata)?, &z);
        // Cuts at word boundaries, inside words, at the ends, and empty pieces.
        for cuts in [
            vec![],
            vec![0],
            vec![31, 62],
            vec![1, 2, 3, 700],
            vec![15, 15, 46, 1_999, 2_000],
            vec![30, 93, 124, 500, 1_000, 1_500],
        ] {
            let mut state = StreamState::default();
            let mut joined = Segment::EMPTY;
            let mut from = 0;
            for to in cuts.iter().copied().chain([pubdata.len()]) {
                assert_eq!(state, StreamState::after(&pubdata[..from]));
                let (piece, next) = Segment::of(&state, &pubdata[from..to], &z);
                joined = joined.then(&piece);
                state = next;
                from = to;
            }
            assert_eq!(joined.close(&state), whole, "cuts {cuts:?}");
        }
        Ok(())
    }

    #[test]
    fn the_open_word_is_the_same_integer_in_both_fields() {
        let state = StreamState::after(&[0xff; 40]);
        assert_eq!(state.fill, 9);
        let bls = bls_to_be(&state.window_value());
        let mut bn = ff::PrimeField::to_repr(&state.window_native());
        bn.reverse();
        assert_eq!(bls, bn);
        assert_eq!(&bls[1..10], &[0xff; 9]);
        assert!(bls[10..].iter().all(|b| *b == 0));
    }

    #[test]
    fn omega_has_order_exactly_4096() {
        let w = omega();
        assert_eq!(
            Field::pow_vartime(&w, [FIELD_ELEMENTS_PER_BLOB as u64]),
            BlsFr::ONE
        );
        assert_ne!(
            Field::pow_vartime(&w, [FIELD_ELEMENTS_PER_BLOB as u64 / 2]),
            BlsFr::ONE
        );
    }

    #[test]
    fn pubdata_round_trips_through_a_blob_and_the_blob_evaluates_its_coefficients() -> Result<()> {
        let pubdata: Vec<u8> = (0..5_000u32).map(|i| (i * 7 + 3) as u8).collect();
        let blob = blob_of_pubdata(&pubdata)?;
        let back = pubdata_of_blob(&blob)?;
        assert_eq!(&back[..pubdata.len()], &pubdata[..]);
        assert!(back[pubdata.len()..].iter().all(|b| *b == 0));
        // Element i of the blob is p(ω^bitrev(i)).
        let c = coefficients(&pubdata)?;
        for i in [0, 1, 2, 4095] {
            let x = Field::pow_vartime(&omega(), [bit_reverse(i) as u64]);
            let mut w = [0u8; 32];
            w.copy_from_slice(&blob[32 * i..32 * i + 32]);
            assert_eq!(bls_from_be(&w), Some(evaluate(&c, &x)), "element {i}");
        }
        Ok(())
    }

    #[test]
    fn too_much_pubdata_and_foreign_blobs_are_refused() {
        assert!(blob_of_pubdata(&vec![1u8; BLOB_DATA_BYTES + 1]).is_err());
        assert!(blob_of_pubdata(&vec![1u8; BLOB_DATA_BYTES]).is_ok());
        // A blob whose coefficient reaches 2^248.
        let mut big = vec![BlsFr::ZERO; FIELD_ELEMENTS_PER_BLOB];
        big[3] = Field::pow_vartime(&BlsFr::from(2u64), [248u64]);
        best_fft(&mut big, omega(), LOG_N);
        let mut blob = vec![0u8; BYTES_PER_BLOB];
        for (i, word) in blob.chunks_exact_mut(32).enumerate() {
            word.copy_from_slice(&bls_to_be(&big[bit_reverse(i)]));
        }
        assert!(
            matches!(pubdata_of_blob(&blob), Err(Error::Decode(m)) if m.contains("coefficient 3"))
        );
        // A non-canonical element, and a blob of the wrong size.
        let mut bad = vec![0u8; BYTES_PER_BLOB];
        bad[..32].fill(0xff);
        assert!(matches!(pubdata_of_blob(&bad), Err(Error::Decode(m)) if m.contains("element 0")));
        assert!(pubdata_of_blob(&bad[1..]).is_err());
    }
}
