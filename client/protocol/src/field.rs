//! The scalar field of BN254 (`Fr`), in which every protocol value lives, and the
//! conversions between it and the integers and byte strings of L1.

use alloy_primitives::{Address, U256};
use ff::PrimeField;

use crate::error::{Error, Result};

/// The BN254 scalar field; also the base field of Baby Jubjub.
pub use halo2curves_axiom::bn256::Fr;

/// The field modulus `r` of BN254's scalar field, as an L1 integer.
pub const MODULUS: U256 = U256::from_limbs([
    0x43e1f593f0000001,
    0x2833e84879b97091,
    0xb85045b68181585d,
    0x30644e72e131a029,
]);

/// Encodes a field element as 32 big-endian bytes (its canonical integer).
pub fn to_be_bytes(x: &Fr) -> [u8; 32] {
    let mut out = x.to_repr();
    out.as_mut().reverse();
    out
}

/// Decodes 32 big-endian bytes; errs unless the integer is below the modulus.
pub fn from_be_bytes(bytes: &[u8; 32]) -> Result<Fr> {
    let mut le = *bytes;
    le.reverse();
    Option::from(Fr::from_repr(le)).ok_or(Error::NonCanonicalField)
}

/// The field element as an L1 `uint256`.
pub fn to_u256(x: &Fr) -> U256 {
    U256::from_be_bytes(to_be_bytes(x))
}

/// An L1 `uint256` as a field element; errs unless it is below the modulus.
pub fn from_u256(x: U256) -> Result<Fr> {
    from_be_bytes(&x.to_be_bytes())
}

/// Interprets up to 31 big-endian bytes as an integer, always below the modulus.
pub fn from_be_bytes_short(bytes: &[u8]) -> Fr {
    debug_assert!(bytes.len() <= 31);
    let mut buf = [0u8; 32];
    buf[32 - bytes.len()..].copy_from_slice(bytes);
    // At most 248 bits: always canonical.
    from_be_bytes(&buf).unwrap_or(<Fr as ff::Field>::ZERO)
}

/// A `u128` (balances, amounts) as a field element.
pub fn from_u128(x: u128) -> Fr {
    Fr::from_u128(x)
}

/// An L1 address as a field element (its 160-bit integer).
pub fn from_address(a: &Address) -> Fr {
    from_be_bytes_short(a.as_slice())
}

/// `0x`-prefixed, 64-digit hex of the canonical integer: the form used in test vectors.
pub fn to_hex(x: &Fr) -> String {
    format!("0x{}", alloy_primitives::hex::encode(to_be_bytes(x)))
}

/// Parses the form written by [`to_hex`] (or any hex of at most 32 bytes).
pub fn from_hex(s: &str) -> Result<Fr> {
    let u: U256 = s.parse().map_err(|_| Error::NonCanonicalField)?;
    from_u256(u)
}

/// The bit `i` (0 = least significant) of the canonical integer of `x`.
pub fn bit(x: &Fr, i: usize) -> bool {
    let repr = x.to_repr();
    (repr.as_ref()[i / 8] >> (i % 8)) & 1 == 1
}

/// Serde of `u128` amounts in JSON: a number up to `u64::MAX`, a decimal string above (a JSON
/// number beyond 64 bits would be read back as a float). Reading accepts either for any value.
/// Serde's internally tagged enums (`Tx`, `Record`) buffer their fields, and that buffer does not
/// take `u128` at all: every amount in them goes through this.
pub mod serde_u128 {
    pub use super::deserialize_u128 as deserialize;

    /// Writes `v` as a number if it fits 64 bits, else as a decimal string.
    pub fn serialize<S: serde::Serializer>(v: &u128, s: S) -> std::result::Result<S::Ok, S::Error> {
        match u64::try_from(*v) {
            Ok(small) => s.serialize_u64(small),
            Err(_) => s.serialize_str(&v.to_string()),
        }
    }
}

/// Reads a `u128` from a JSON number or a decimal string (see [`serde_u128`]).
pub fn deserialize_u128<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<u128, D::Error> {
    struct V;
    impl serde::de::Visitor<'_> for V {
        type Value = u128;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an unsigned 128-bit integer, as a number or a decimal string")
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<u128, E> {
            Ok(u128::from(v))
        }
        fn visit_u128<E: serde::de::Error>(self, v: u128) -> std::result::Result<u128, E> {
            Ok(v)
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<u128, E> {
            u128::try_from(v).map_err(|_| E::custom("a negative amount"))
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<u128, E> {
            v.parse()
                .map_err(|_| E::custom(format!("{v:?} is not a decimal u128")))
        }
    }
    d.deserialize_any(V)
}

/// Serde helpers: field elements as hex strings.
pub mod serde_hex {
    use super::Fr;
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    /// Serializes as `0x…` hex.
    pub fn serialize<S: Serializer>(x: &Fr, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&super::to_hex(x))
    }

    /// Deserializes from hex, rejecting non-canonical values.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Fr, D::Error> {
        let s = String::deserialize(d)?;
        super::from_hex(&s).map_err(D::Error::custom)
    }

    /// The same for vectors of field elements.
    pub mod vec {
        use super::super::Fr;
        use serde::{Deserialize, Deserializer, Serializer, de::Error as _, ser::SerializeSeq};

        /// Serializes as a list of `0x…` hex strings.
        pub fn serialize<S: Serializer>(xs: &[Fr], s: S) -> std::result::Result<S::Ok, S::Error> {
            let mut seq = s.serialize_seq(Some(xs.len()))?;
            for x in xs {
                seq.serialize_element(&super::super::to_hex(x))?;
            }
            seq.end()
        }

        /// Deserializes a list of hex strings, rejecting non-canonical values.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> std::result::Result<Vec<Fr>, D::Error> {
            let v = Vec::<String>::deserialize(d)?;
            v.iter()
                .map(|s| super::super::from_hex(s).map_err(D::Error::custom))
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ff::Field;

    #[test]
    fn modulus_matches_field() {
        // r - 1 is the largest canonical element.
        let minus_one = -Fr::ONE;
        assert_eq!(to_u256(&minus_one) + U256::from(1), MODULUS);
        assert!(from_u256(MODULUS).is_err());
        assert!(from_u256(MODULUS - U256::from(1)).is_ok());
    }

    #[test]
    fn hex_round_trip() {
        let x = Fr::from(123456789u64) * Fr::from(987654321u64).square();
        assert_eq!(from_hex(&to_hex(&x)).ok(), Some(x));
        assert!(bit(&Fr::from(2u64), 1));
        assert!(!bit(&Fr::from(2u64), 0));
    }
}
