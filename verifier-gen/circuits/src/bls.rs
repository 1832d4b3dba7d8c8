//! BLS12-381's scalar field, as halo2-base's non-native chips take a field: the field of EIP-4844
//! blobs (`rollup_protocol::blob`), whose polynomial a circuit evaluates at a challenge to bind a
//! blob's contents to the records it proves (issue 17).
//!
//! halo2-base implements its `ScalarField` for a fixed list of fields, BLS12-381's scalar field
//! not among them, and neither trait nor type is this crate's: [`BlsScalar`] wraps halo2curves'
//! type and forwards every operation to it, so that `halo2_ecc::fields::fp::FpChip<Fr, BlsScalar>`
//! does arithmetic modulo BLS12-381's `r` in limbs over BN254's scalar field.

use core::iter::{Product, Sum};
use core::ops::{Add, AddAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use halo2_base::halo2_proofs::halo2curves::ff::{Field, FromUniformBytes, PrimeField};
use halo2_base::utils::ScalarField;
use rand_core::RngCore;
use rollup_protocol::blob::BlsFr;
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq, CtOption};

/// An element of BLS12-381's scalar field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlsScalar(pub BlsFr);

impl From<BlsFr> for BlsScalar {
    fn from(x: BlsFr) -> Self {
        BlsScalar(x)
    }
}

impl ConditionallySelectable for BlsScalar {
    fn conditional_select(a: &Self, b: &Self, choice: Choice) -> Self {
        BlsScalar(BlsFr::conditional_select(&a.0, &b.0, choice))
    }
}

impl ConstantTimeEq for BlsScalar {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

macro_rules! binary {
    ($trait:ident, $method:ident, $assign:ident, $assign_method:ident) => {
        impl $trait for BlsScalar {
            type Output = BlsScalar;
            fn $method(self, rhs: BlsScalar) -> BlsScalar {
                BlsScalar($trait::$method(self.0, rhs.0))
            }
        }
        impl<'a> $trait<&'a BlsScalar> for BlsScalar {
            type Output = BlsScalar;
            fn $method(self, rhs: &'a BlsScalar) -> BlsScalar {
                BlsScalar($trait::$method(self.0, rhs.0))
            }
        }
        impl $assign for BlsScalar {
            fn $assign_method(&mut self, rhs: BlsScalar) {
                $assign::$assign_method(&mut self.0, rhs.0);
            }
        }
        impl<'a> $assign<&'a BlsScalar> for BlsScalar {
            fn $assign_method(&mut self, rhs: &'a BlsScalar) {
                $assign::$assign_method(&mut self.0, rhs.0);
            }
        }
    };
}

binary!(Add, add, AddAssign, add_assign);
binary!(Sub, sub, SubAssign, sub_assign);
binary!(Mul, mul, MulAssign, mul_assign);

impl Neg for BlsScalar {
    type Output = BlsScalar;
    fn neg(self) -> BlsScalar {
        BlsScalar(-self.0)
    }
}

impl Sum for BlsScalar {
    fn sum<I: Iterator<Item = BlsScalar>>(iter: I) -> Self {
        iter.fold(BlsScalar(BlsFr::ZERO), |a, b| a + b)
    }
}

impl<'a> Sum<&'a BlsScalar> for BlsScalar {
    fn sum<I: Iterator<Item = &'a BlsScalar>>(iter: I) -> Self {
        iter.fold(BlsScalar(BlsFr::ZERO), |a, b| a + b)
    }
}

impl Product for BlsScalar {
    fn product<I: Iterator<Item = BlsScalar>>(iter: I) -> Self {
        iter.fold(BlsScalar(BlsFr::ONE), |a, b| a * b)
    }
}

impl<'a> Product<&'a BlsScalar> for BlsScalar {
    fn product<I: Iterator<Item = &'a BlsScalar>>(iter: I) -> Self {
        iter.fold(BlsScalar(BlsFr::ONE), |a, b| a * b)
    }
}

impl Field for BlsScalar {
    const ZERO: Self = BlsScalar(BlsFr::ZERO);
    const ONE: Self = BlsScalar(BlsFr::ONE);

    fn random(rng: impl RngCore) -> Self {
        BlsScalar(BlsFr::random(rng))
    }

    fn square(&self) -> Self {
        BlsScalar(self.0.square())
    }

    fn double(&self) -> Self {
        BlsScalar(self.0.double())
    }

    fn invert(&self) -> CtOption<Self> {
        self.0.invert().map(BlsScalar)
    }

    fn sqrt_ratio(num: &Self, div: &Self) -> (Choice, Self) {
        let (is_square, root) = BlsFr::sqrt_ratio(&num.0, &div.0);
        (is_square, BlsScalar(root))
    }

    fn sqrt(&self) -> CtOption<Self> {
        self.0.sqrt().map(BlsScalar)
    }
}

impl PrimeField for BlsScalar {
    type Repr = <BlsFr as PrimeField>::Repr;

    const MODULUS: &'static str = BlsFr::MODULUS;
    const NUM_BITS: u32 = BlsFr::NUM_BITS;
    const CAPACITY: u32 = BlsFr::CAPACITY;
    const TWO_INV: Self = BlsScalar(BlsFr::TWO_INV);
    const MULTIPLICATIVE_GENERATOR: Self = BlsScalar(BlsFr::MULTIPLICATIVE_GENERATOR);
    const S: u32 = BlsFr::S;
    const ROOT_OF_UNITY: Self = BlsScalar(BlsFr::ROOT_OF_UNITY);
    const ROOT_OF_UNITY_INV: Self = BlsScalar(BlsFr::ROOT_OF_UNITY_INV);
    const DELTA: Self = BlsScalar(BlsFr::DELTA);

    fn from_repr(repr: Self::Repr) -> CtOption<Self> {
        BlsFr::from_repr(repr).map(BlsScalar)
    }

    fn to_repr(&self) -> Self::Repr {
        self.0.to_repr()
    }

    fn is_odd(&self) -> Choice {
        self.0.is_odd()
    }
}

impl FromUniformBytes<64> for BlsScalar {
    fn from_uniform_bytes(bytes: &[u8; 64]) -> Self {
        BlsScalar(BlsFr::from_uniform_bytes(bytes))
    }
}

impl From<u64> for BlsScalar {
    fn from(x: u64) -> Self {
        BlsScalar(BlsFr::from(x))
    }
}

impl From<bool> for BlsScalar {
    fn from(x: bool) -> Self {
        BlsScalar(BlsFr::from(x))
    }
}

/// The integer whose little-endian 64-bit digits these are (below the modulus), as halo2-base's
/// `BigPrimeField::from_u64_digits` takes it.
impl From<[u64; 4]> for BlsScalar {
    fn from(digits: [u64; 4]) -> Self {
        BlsScalar(BlsFr::from_raw(digits))
    }
}

impl ScalarField for BlsScalar {
    /// The first `num_limbs` little-endian limbs of `bit_len` bits (below 64) of the element.
    fn to_u64_limbs(self, num_limbs: usize, bit_len: usize) -> Vec<u64> {
        let bytes = self.to_bytes_le();
        let bit = |i: usize| bytes.get(i / 8).is_some_and(|b| (b >> (i % 8)) & 1 == 1);
        (0..num_limbs)
            .map(|limb| {
                (0..bit_len)
                    .filter(|b| bit(limb * bit_len + b))
                    .fold(0u64, |acc, b| acc | (1u64 << b))
            })
            .collect()
    }

    fn to_bytes_le(&self) -> Vec<u8> {
        self.0.to_repr().as_ref().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limbs_and_digits_are_the_integer_little_end_first() {
        let x = BlsScalar::from([0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210, 7, 0]);
        assert_eq!(
            x.to_u64_limbs(4, 32),
            [0x89ab_cdef, 0x0123_4567, 0x7654_3210, 0xfedc_ba98]
        );
        assert_eq!(x.to_u64_limbs(5, 48)[2], 0x7_fedc_ba98);
        let back = (0..4)
            .map(|i| u128::from(x.to_u64_limbs(4, 32)[i]) << (32 * i))
            .sum::<u128>();
        assert_eq!(back, 0xfedc_ba98_7654_3210_0123_4567_89ab_cdef);
    }
}
