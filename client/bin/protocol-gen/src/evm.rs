//! The Poseidon2 permutation as hand-scheduled EVM bytecode: the runtime of a contract that
//! takes `(s0, s1, s2)` as 96 bytes of calldata and returns the permuted state as 96 bytes, each
//! element reduced. `StateProof` calls it once per permutation (`docs/benchmarks.md`: 8,844 gas a
//! call against 11,775 for the same rounds in Yul, where solc's stack scheduling spends a third
//! of the gas on DUP, SWAP and POP).
//!
//! The code is emitted through a symbolic stack: every slot has a name and an upper bound, as a
//! multiple of the modulus `q`, of the integer it holds. `DUPn` and `SWAPn` are computed from the
//! names, and every unreduced `ADD` is checked at generation time to stay below `2^256`
//! (`bound · q < 2^256`, so at most `5q`): overflow is ruled out by construction, not by testing.

use alloy_primitives::U256;

use rollup_protocol::field::{self, Fr};
use rollup_protocol::poseidon::{is_full_round, params};

const ADD: u8 = 0x01;
const MOD: u8 = 0x06;
const ADDMOD: u8 = 0x08;
const MULMOD: u8 = 0x09;
const CALLDATALOAD: u8 = 0x35;
const CODECOPY: u8 = 0x39;
const POP: u8 = 0x50;
const MSTORE: u8 = 0x52;
const PUSH0: u8 = 0x5f;
const PUSH1: u8 = 0x60;
const PUSH2: u8 = 0x61;
const PUSH32: u8 = 0x7f;
const DUP1: u8 = 0x80;
const SWAP1: u8 = 0x90;
const RETURN: u8 = 0xf3;

/// A stack slot: a name (empty for a value about to be consumed) and its bound in multiples of `q`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    name: &'static str,
    bound: u32,
}

/// Bytecode under construction with its symbolic stack (top last).
#[derive(Debug, Default)]
struct Asm {
    code: Vec<u8>,
    stack: Vec<Slot>,
}

impl Asm {
    /// Depth of `name` from the top (1 for the top slot).
    fn depth(&self, name: &str) -> usize {
        let pos = self.stack.iter().rposition(|s| s.name == name);
        // The schedule below is fixed: a name missing here is a bug of this generator.
        assert!(pos.is_some(), "{name} is not on the stack");
        self.stack.len() - pos.unwrap_or(0)
    }

    fn bound(&self, name: &str) -> u32 {
        self.stack[self.stack.len() - self.depth(name)].bound
    }

    fn dup(&mut self, name: &'static str) {
        let d = self.depth(name);
        assert!(d <= 16, "{name} is too deep to DUP");
        self.code.push(DUP1 + d as u8 - 1);
        let slot = self.stack[self.stack.len() - d];
        self.stack.push(slot);
    }

    /// Exchanges the top slot with the slot at depth `d + 1`.
    fn swap(&mut self, d: usize) {
        assert!((1..=16).contains(&d), "SWAP{d}");
        self.code.push(SWAP1 + d as u8 - 1);
        let n = self.stack.len();
        self.stack.swap(n - 1, n - 1 - d);
    }

    /// Brings `name` to the top (a no-op when it is there).
    fn bring_up(&mut self, name: &str) {
        let d = self.depth(name);
        if d > 1 {
            self.swap(d - 1);
        }
    }

    fn push32(&mut self, x: &Fr, name: &'static str) {
        self.code.push(PUSH32);
        self.code.extend_from_slice(&field::to_be_bytes(x));
        self.stack.push(Slot { name, bound: 1 });
    }

    fn push_small(&mut self, x: u8) {
        if x == 0 {
            self.code.push(PUSH0);
        } else {
            self.code.extend_from_slice(&[PUSH1, x]);
        }
        self.stack.push(Slot { name: "", bound: 1 });
    }

    fn raw(&mut self, op: u8, pops: usize, pushes: Option<Slot>) {
        self.code.push(op);
        for _ in 0..pops {
            self.stack.pop();
        }
        if let Some(s) = pushes {
            self.stack.push(s);
        }
    }

    /// `ADD` of the two top slots, checked not to overflow.
    fn add(&mut self, name: &'static str) {
        let n = self.stack.len();
        let bound = self.stack[n - 1].bound + self.stack[n - 2].bound;
        let q = field::MODULUS;
        assert!(
            q.checked_mul(U256::from(bound)).is_some(),
            "an unreduced sum of bound {bound}q would overflow"
        );
        self.raw(ADD, 2, Some(Slot { name, bound }));
    }

    /// A modular operation of the three top slots (`MULMOD`, `ADDMOD`): any inputs, result below q.
    fn modular(&mut self, op: u8, name: &'static str) {
        self.raw(op, 3, Some(Slot { name, bound: 1 }));
    }

    /// Renames the top slot.
    fn name_top(&mut self, name: &'static str) {
        if let Some(top) = self.stack.last_mut() {
            top.name = name;
        }
    }

    /// Moves the top slot into the place of `name`, dropping the old value (`SWAPn POP`).
    fn replace(&mut self, name: &'static str) {
        let d = self.depth(name);
        self.swap(d - 1);
        self.raw(POP, 1, None);
        self.name_top_at(d - 1, name);
    }

    fn name_top_at(&mut self, depth: usize, name: &'static str) {
        let n = self.stack.len();
        self.stack[n - depth].name = name;
    }

    /// `x^5 mod q` of the top slot, which is consumed: 3 MULMOD and 8 stack operations.
    fn sbox(&mut self, name: &'static str) {
        self.name_top("t");
        // t^2
        self.dup("q");
        self.dup("t");
        self.dup("t");
        self.modular(MULMOD, "u");
        // t^4
        self.dup("q");
        self.swap(1);
        self.dup("u");
        self.modular(MULMOD, "u");
        // t^5
        self.dup("q");
        self.swap(2);
        self.modular(MULMOD, name);
    }

    /// `M_E`: every element plus the sum of the three, in place.
    fn external_layer(&mut self) {
        self.dup("s0");
        self.dup("s1");
        self.add("");
        self.dup("s2");
        self.add("sum");
        for s in ["s0", "s1", "s2"] {
            self.dup("sum");
            self.dup(s);
            self.add("new");
            self.replace(s);
        }
        self.raw(POP, 1, None);
    }
}

/// The permutation contract's runtime bytecode.
pub fn permutation_runtime() -> Vec<u8> {
    let q = field::MODULUS.to_be_bytes::<32>();
    let mut a = Asm::default();
    a.code.push(PUSH32);
    a.code.extend_from_slice(&q);
    a.stack.push(Slot {
        name: "q",
        bound: 1,
    });
    // Inputs, reduced: s2, s1, s0 (s0 on top).
    for (name, offset) in [("s2", 0x40u8), ("s1", 0x20), ("s0", 0)] {
        a.dup("q");
        a.push_small(offset);
        a.raw(
            CALLDATALOAD,
            1,
            Some(Slot {
                name: "",
                bound: u32::MAX,
            }),
        );
        a.raw(MOD, 2, Some(Slot { name, bound: 1 }));
    }
    a.external_layer();
    let rc = &params().round_constants;
    let mut first_partial = true;
    for (r, c) in rc.iter().enumerate() {
        if is_full_round(r) {
            for (j, s) in ["s0", "s1", "s2"].into_iter().enumerate() {
                a.bring_up(s);
                a.push32(&c[j], "");
                a.add("");
                a.sbox(s);
            }
            a.external_layer();
        } else {
            a.bring_up("s0");
            a.push32(&c[0], "");
            a.add("");
            a.sbox("x0");
            if first_partial || a.bound("s1") + a.bound("s2") + 1 > 3 {
                // s1 and s2 may be up to 4q after a full round: reduce the sum.
                a.dup("q");
                a.dup("s2");
                a.dup("s1");
                a.dup("x0");
                a.add("");
                a.modular(ADDMOD, "sum");
            } else {
                a.dup("s2");
                a.dup("s1");
                a.add("");
                a.dup("x0");
                a.add("sum");
            }
            first_partial = false;
            // s1' = s1 + sum, s2' = 2 s2 + sum, both reduced.
            a.dup("q");
            a.dup("sum");
            a.dup("s1");
            a.modular(ADDMOD, "new");
            a.replace("s1");
            a.dup("q");
            a.dup("sum");
            a.dup("s2");
            a.add("");
            a.dup("s2");
            a.modular(ADDMOD, "new");
            a.replace("s2");
            // s0' = x0 + sum (the two top slots).
            assert_eq!(a.depth("sum"), 1);
            assert_eq!(a.depth("x0"), 2);
            a.add("s0");
            // The next round adds a constant to s0: keep that sum below 5q.
            assert!(a.bound("s0") <= 4);
        }
    }
    // Reduce and return (s0, s1, s2).
    for (s, offset) in [("s0", 0u8), ("s1", 0x20), ("s2", 0x40)] {
        a.dup("q");
        a.dup(s);
        a.raw(MOD, 2, Some(Slot { name: "", bound: 1 }));
        a.push_small(offset);
        a.raw(MSTORE, 2, None);
    }
    a.push_small(0x60);
    a.push_small(0);
    a.raw(RETURN, 2, None);
    a.code
}

/// Creation code: a 10-byte prefix that copies the runtime to memory and returns it.
pub fn permutation_creation() -> Vec<u8> {
    let runtime = permutation_runtime();
    let len = u16::try_from(runtime.len()).unwrap_or(u16::MAX);
    let mut code = vec![PUSH2];
    code.extend_from_slice(&len.to_be_bytes());
    code.extend_from_slice(&[DUP1, PUSH1, 10, PUSH0, CODECOPY, PUSH0, RETURN]);
    code.extend_from_slice(&runtime);
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_fits_a_contract() {
        let n = permutation_runtime().len();
        assert!(n < 24_576, "{n} bytes");
        assert_eq!(permutation_creation().len(), n + 10);
    }
}
