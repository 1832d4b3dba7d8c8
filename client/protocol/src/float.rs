//! Packed amounts: the short decimal floating-point form that L2 transfers and fees take in
//! pubdata records (`docs/protocol.md`, "Packed amounts").
//!
//! A value is `mantissa · 10^exponent`, packed big-endian as `mantissa · 2^exponent_bits + exponent`.
//! Each value has one packing, its *canonical* one: the smallest exponent that holds it, so either
//! the exponent is 0 or `10 · mantissa` does not fit the mantissa's bits. Decoders accept only
//! canonical packings, as the chunk circuit does, so a record's bytes are a function of its values.
//!
//! An L2 transaction must carry amounts this form holds exactly; [`FloatFormat::round_down`] gives a
//! wallet the nearest one below. Deposits, withdrawals and forced exits keep exact 16-byte amounts:
//! L1 pays or received exactly them, and a withdrawal must be able to empty a balance.

use crate::error::{Error, Result};

/// A decimal floating-point format (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FloatFormat {
    /// Bits of the mantissa.
    pub mantissa_bits: u32,
    /// Bits of the exponent (base 10).
    pub exponent_bits: u32,
}

/// A transfer's amount: 35-bit mantissa, 5-bit exponent, 5 bytes (10 significant decimal digits).
pub const AMOUNT: FloatFormat = FloatFormat {
    mantissa_bits: 35,
    exponent_bits: 5,
};

/// A signed transaction's fee: 11-bit mantissa, 5-bit exponent, 2 bytes (3 significant digits).
pub const FEE: FloatFormat = FloatFormat {
    mantissa_bits: 11,
    exponent_bits: 5,
};

const _: () = assert!((AMOUNT.mantissa_bits + AMOUNT.exponent_bits).is_multiple_of(8));
const _: () = assert!((FEE.mantissa_bits + FEE.exponent_bits).is_multiple_of(8));

impl FloatFormat {
    /// Its width in bytes.
    pub const fn bytes(self) -> usize {
        ((self.mantissa_bits + self.exponent_bits) / 8) as usize
    }

    /// One more than the largest mantissa.
    pub const fn mantissa_limit(self) -> u128 {
        1 << self.mantissa_bits
    }

    /// One more than the largest exponent.
    pub const fn exponent_limit(self) -> u32 {
        1 << self.exponent_bits
    }

    /// The canonical packing of `value`, or `None` if the format does not hold it exactly.
    pub fn pack(self, value: u128) -> Option<u64> {
        let (mut mantissa, mut exponent) = (value, 0u32);
        // The smallest exponent that holds the value: divide by ten while the mantissa is too wide,
        // and only while the division is exact.
        while mantissa >= self.mantissa_limit() {
            if mantissa % 10 != 0 {
                return None;
            }
            mantissa /= 10;
            exponent += 1;
        }
        if exponent >= self.exponent_limit() {
            return None;
        }
        let mantissa = u64::try_from(mantissa).ok()?;
        Some((mantissa << self.exponent_bits) | u64::from(exponent))
    }

    /// The packing's mantissa and exponent, without any check.
    pub const fn split(self, packed: u64) -> (u64, u32) {
        let exponent = (packed & ((1 << self.exponent_bits) - 1)) as u32;
        (packed >> self.exponent_bits, exponent)
    }

    /// The value of a packing; errs if it is wider than the format, not canonical, or above `u128`.
    pub fn unpack(self, packed: u64) -> Result<u128> {
        let decode = |why: String| Err(Error::Decode(format!("packed value {packed:#x}: {why}")));
        if packed >> (self.mantissa_bits + self.exponent_bits) != 0 {
            return decode(format!("wider than {} bytes", self.bytes()));
        }
        let (mantissa, exponent) = self.split(packed);
        let mantissa = u128::from(mantissa);
        if exponent != 0 && mantissa * 10 < self.mantissa_limit() {
            return decode("not canonical (its exponent is not the smallest)".into());
        }
        match 10u128
            .checked_pow(exponent)
            .and_then(|p| mantissa.checked_mul(p))
        {
            Some(v) => Ok(v),
            None => decode("above 2^128".into()),
        }
    }

    /// Whether the format holds `value` exactly.
    pub fn holds(self, value: u128) -> bool {
        self.pack(value).is_some()
    }

    /// The largest value at most `value` that the format holds: what a wallet rounds an amount to.
    pub fn round_down(self, value: u128) -> u128 {
        (0..self.exponent_limit())
            .filter_map(|e| {
                let scale = 10u128.checked_pow(e)?;
                let mantissa = (value / scale).min(self.mantissa_limit() - 1);
                mantissa.checked_mul(scale)
            })
            .max()
            .unwrap_or(0)
    }

    /// `value` if the format holds it, else [`Error::Unrepresentable`] naming `what`.
    pub fn check(self, what: &'static str, value: u128) -> Result<u128> {
        if self.holds(value) {
            Ok(value)
        } else {
            Err(Error::Unrepresentable {
                what,
                value,
                nearest: self.round_down(value),
            })
        }
    }
}
