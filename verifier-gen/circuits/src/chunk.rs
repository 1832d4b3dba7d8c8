//! The chunk circuit: `CHUNK_SLOTS` transaction slots, each executed under the
//! rules of `docs/protocol.md` (section 5), their records packed into the data
//! elements of the data binding (section 7), with the public inputs
//! `old_state_root`, `new_state_root` and the binding's commitment `C` (Poseidon
//! of the elements), challenge `z` (drawn by L1, taken as given) and evaluation
//! `y` (the elements as a polynomial at `z`).
//!
//! Every slot has the same shape, whatever its type: three balance updates
//! ([`crate::update`]), one EdDSA verification ([`crate::eddsa`]) and the rule
//! rows ([`crate::arith`]). Six boolean type flags, exactly one set, choose which
//! relations bind:
//!
//! - update 0 (the slot's account): the balance moves by `+amount` (deposit),
//!   `−(amount + fee)` (transfer, withdrawal) or to 0 (forced exit, whose record
//!   amount is the old balance); the nonce goes up by one for signed types and is
//!   never `2^32 − 1` before; a deposit to an empty leaf creates the account with
//!   the record's owner and key, a deposit to an existing one must name its
//!   owner; a key change sets the record's key, on token 0; every type but a
//!   deposit needs the account to exist; a no-op reads account 0, token 0;
//! - update 1: the receiver of a transfer (exists, same token, `+amount`); a no-op
//!   on account 0, token 0 otherwise;
//! - update 2: the fee account 0, `+fee` on the token of a signed transaction; a
//!   no-op on token 0 otherwise (it must exist when credited);
//! - keys and owners never change except as above; every balance written is
//!   below `2^128`, as are amounts, fees and `amount + fee`;
//! - signed types verify the sender's signature on
//!   `Poseidon(TAG_TX; header, amount, fee)` under the key in its leaf (which must
//!   be a curve point, so `NONE` never signs); the other types verify a fixed
//!   padding signature instead, so every slot has the same rows;
//! - a record key is `NONE` or a curve point, and is packed as its compressed
//!   bytes (`y` and the parity of canonical `x`).
//!
//! The record of each slot is packed from the same words, cut into the three
//! 31-byte integers of the data commitment, so the proof binds exactly the data
//! posted on L1. The witness comes from the core's [`TxWitness`]es.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use alloy_primitives::U256;
use halo2_base::halo2_proofs::circuit::{Layouter, Region, SimpleFloorPlanner, Value};
use halo2_base::halo2_proofs::halo2curves::ff::{Field, PrimeField};
use halo2_base::halo2_proofs::plonk::{Circuit, Column, ConstraintSystem, Error, Instance};
use rollup_protocol::codec::{Placement, TYPE_SHIFT, field_placement};
use rollup_protocol::constants::{ACCOUNT_TREE_DEPTH, BALANCE_TREE_DEPTH, TAG_DATA, TAG_TX};
use rollup_protocol::eddsa::{A as CURVE_A, D as CURVE_D, Point, SecretKey};
use rollup_protocol::field;
use rollup_protocol::float::{self, FloatFormat};
use rollup_protocol::transition::{CHUNK_PUBLIC_INPUTS, Chunk, TxWitness};
use rollup_protocol::tx::{Tx, TxType, header};

use snark_verifier_sdk::CircuitExt;

use crate::Fr;
use crate::arith::{ArithConfig, Term, pow2};
use crate::eddsa::{EddsaConfig, PointWord};
use crate::layout::Columns;
use crate::layout::Word;
use crate::merkle::MerkleConfig;
use crate::poseidon::PoseidonConfig;
use crate::update::{UpdateConfig, UpdateWitness, UpdateWords};

/// Why a chunk cannot be turned into a circuit witness.
#[derive(Debug, thiserror::Error)]
pub enum ChunkError {
    /// The chunk has a different number of slots from the circuit.
    #[error("chunk has {got} slots, the circuit {expected}")]
    SlotCount {
        /// The circuit's slots.
        expected: usize,
        /// The chunk's.
        got: usize,
    },
    /// A slot's witness does not have three balance updates.
    #[error("slot {slot} has {got} balance updates, not 3")]
    Updates {
        /// The slot.
        slot: usize,
        /// Its updates.
        got: usize,
    },
}

/// The witness of one slot, as field elements (negative tests tamper with them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotWitness {
    /// The transaction type.
    pub tx_type: TxType,
    /// Amount (deposit, transfer, withdrawal; the withdrawn balance of a forced exit).
    pub amount: Fr,
    /// Fee (transfer, withdrawal).
    pub fee: Fr,
    /// The deposit's owner address.
    pub owner: Fr,
    /// The record's key (deposit, key change); `NONE` otherwise.
    pub pubkey: Point,
    /// Signature `R` (the padding signature's for unsigned types).
    pub sig_r: Point,
    /// Signature `s`.
    pub sig_s: Fr,
    /// A transfer's amount as its record packs it; zero otherwise.
    pub packed_amount: Packed,
    /// A signed transaction's fee as its record packs it; zero otherwise.
    pub packed_fee: Packed,
    /// The three balance updates.
    pub updates: [UpdateWitness; 3],
}

/// A packed amount's parts (`rollup_protocol::float`): `value = mantissa · 10^exponent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Packed {
    /// The mantissa (in range only if the packing is valid).
    pub mantissa: Fr,
    /// The exponent; the circuit reads its low bits only (as many as the format has).
    pub exponent: u32,
}

impl Packed {
    /// The canonical packing of `value` in `format`; zero if the format does not hold it (the
    /// circuit then fails, as it must for such a value).
    pub fn of(format: FloatFormat, value: u128) -> Packed {
        format
            .pack(value)
            .map(|p| {
                let (mantissa, exponent) = format.split(p);
                Packed {
                    mantissa: Fr::from(mantissa),
                    exponent,
                }
            })
            .unwrap_or_default()
    }
}

/// The fixed key and signature that unsigned slots verify (message 0): any valid pair would do.
fn padding_signature() -> (Point, Point, Fr) {
    let key = SecretKey::from_seed(b"zkr.circuit.padding-signature");
    let sig = key.sign(Fr::ZERO);
    let s = field::from_u256(sig.s).unwrap_or(Fr::ZERO);
    (key.public(), sig.r, s)
}

impl SlotWitness {
    /// From the core's witness of one slot.
    pub fn from_core(w: &TxWitness, slot: usize) -> Result<SlotWitness, ChunkError> {
        let updates: Vec<UpdateWitness> = w.updates.iter().map(UpdateWitness::from).collect();
        let updates: [UpdateWitness; 3] = updates
            .try_into()
            .map_err(|u: Vec<UpdateWitness>| ChunkError::Updates { slot, got: u.len() })?;
        let (_, pad_r, pad_s) = padding_signature();
        let mut out = SlotWitness {
            tx_type: w.tx.tx_type(),
            amount: Fr::ZERO,
            fee: Fr::ZERO,
            owner: Fr::ZERO,
            pubkey: Point::NONE,
            sig_r: pad_r,
            sig_s: pad_s,
            packed_amount: Packed::default(),
            packed_fee: Packed::default(),
            updates,
        };
        match &w.tx {
            Tx::Noop => {}
            Tx::Deposit(d) => {
                out.amount = field::from_u128(d.amount);
                out.owner = field::from_address(&d.owner);
                out.pubkey = d.pubkey;
            }
            Tx::Transfer { tx, sig } => {
                out.amount = field::from_u128(tx.amount);
                out.fee = field::from_u128(tx.fee);
                out.packed_amount = Packed::of(float::AMOUNT, tx.amount);
                out.packed_fee = Packed::of(float::FEE, tx.fee);
                out.sig_r = sig.r;
                out.sig_s = field::from_u256(sig.s).unwrap_or(Fr::ZERO);
            }
            Tx::Withdraw { tx, sig } => {
                out.amount = field::from_u128(tx.amount);
                out.fee = field::from_u128(tx.fee);
                out.packed_fee = Packed::of(float::FEE, tx.fee);
                out.sig_r = sig.r;
                out.sig_s = field::from_u256(sig.s).unwrap_or(Fr::ZERO);
            }
            Tx::ForcedExit(_) => {
                out.amount = out.updates[0].balance[0];
            }
            Tx::ChangeKey(c) => out.pubkey = c.pubkey,
        }
        Ok(out)
    }
}

/// The chunk circuit for a fixed number of slots and chain id.
#[derive(Debug, Clone)]
pub struct ChunkCircuit {
    slots: usize,
    chain_id: u64,
    old_root: Value<Fr>,
    challenge: Value<Fr>,
    public: [Fr; CHUNK_PUBLIC_INPUTS],
    witness: Option<Vec<SlotWitness>>,
    /// Rows the last synthesis laid out (shared by clones: a measurement, not part of the circuit).
    rows: Arc<AtomicUsize>,
}

impl ChunkCircuit {
    /// The circuit without a witness, for key generation.
    pub fn keygen(slots: usize, chain_id: u64) -> ChunkCircuit {
        ChunkCircuit {
            slots,
            chain_id,
            old_root: Value::unknown(),
            challenge: Value::unknown(),
            public: [Fr::ZERO; CHUNK_PUBLIC_INPUTS],
            witness: None,
            rows: Arc::default(),
        }
    }

    /// The circuit for a chunk the core executed.
    pub fn new(chunk: &Chunk, slots: usize, chain_id: u64) -> Result<ChunkCircuit, ChunkError> {
        if chunk.witnesses.len() != slots {
            return Err(ChunkError::SlotCount {
                expected: slots,
                got: chunk.witnesses.len(),
            });
        }
        let witness = chunk
            .witnesses
            .iter()
            .enumerate()
            .map(|(i, w)| SlotWitness::from_core(w, i))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ChunkCircuit {
            slots,
            chain_id,
            old_root: Value::known(chunk.old_root),
            challenge: Value::known(chunk.binding.challenge),
            public: chunk.public_inputs(),
            witness: Some(witness),
            rows: Arc::default(),
        })
    }

    /// The slots' witnesses (for tampering in negative tests).
    pub fn slots_mut(&mut self) -> Option<&mut Vec<SlotWitness>> {
        self.witness.as_mut()
    }

    /// The number of slots.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// The chain id baked into the signed messages.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The rows of the circuit's one region as the last synthesis (a MockProver run, key generation,
    /// proving) laid them out; 0 before any. What a chunk costs the prover, measured.
    pub fn rows_used(&self) -> usize {
        self.rows.load(Ordering::Relaxed)
    }
}

/// Columns and chips of the chunk circuit.
#[derive(Debug, Clone)]
pub struct ChunkConfig {
    pool: Columns,
    poseidon: PoseidonConfig,
    update: UpdateConfig,
    eddsa: EddsaConfig,
    arith: ArithConfig,
    public: Column<Instance>,
}

/// Integer helpers on field elements for the witness of the splits.
fn shr(x: Fr, n: usize) -> Fr {
    field::from_u256(field::to_u256(&x) >> n).unwrap_or(Fr::ZERO)
}
fn low(x: Fr, n: usize) -> Fr {
    let mask = (U256::from(1u8) << n) - U256::from(1u8);
    field::from_u256(field::to_u256(&x) & mask).unwrap_or(Fr::ZERO)
}

impl Circuit<Fr> for ChunkCircuit {
    type Config = ChunkConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ();

    fn without_witnesses(&self) -> Self {
        ChunkCircuit::keygen(self.slots, self.chain_id)
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> ChunkConfig {
        // Every gate has degree at most 5 (the Poseidon S-box and the Edwards `d·x1x2y1y2` term keep
        // their squares and products in cells of their own). The degree is pinned to 5: halo2-axiom
        // 0.5.3 proves wrongly when the quotient does not fill its extended domain exactly (measured:
        // MockProver satisfied, proof rejected, for a one-gate circuit of degree 6; 5 and 9 work), so
        // the degree must be one more than a power of two.
        meta.set_minimum_degree(MIN_DEGREE);
        let pool = Columns::configure(meta);
        let poseidon = PoseidonConfig::configure(meta, &pool);
        let merkle = MerkleConfig::configure(meta, &pool, poseidon.clone());
        let update = UpdateConfig::new(pool, poseidon.clone(), merkle);
        let eddsa = EddsaConfig::configure(meta, &pool, poseidon.clone());
        let arith = ArithConfig::configure(meta, &pool);
        let public = meta.instance_column();
        meta.enable_equality(public);
        ChunkConfig {
            pool,
            poseidon,
            update,
            eddsa,
            arith,
            public,
        }
    }

    fn synthesize(&self, cfg: ChunkConfig, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        cfg.arith.load_table(&mut layouter)?;
        let (old, new, commitment, challenge, evaluation) = layouter.assign_region(
            || "chunk",
            |mut region| {
                let mut row = 0;
                let old = cfg.pool.word(&mut region, &mut row, self.old_root);
                let mut root = old;
                let mut fields = Vec::with_capacity(3 * self.slots);
                for i in 0..self.slots {
                    let slot = match &self.witness {
                        Some(w) => Value::known(w.get(i).ok_or(Error::Synthesis)?),
                        None => Value::unknown(),
                    };
                    let (next, f) = self.slot(&cfg, &mut region, &mut row, slot, root)?;
                    root = next;
                    fields.extend(f);
                }
                let commitment = cfg
                    .poseidon
                    .hash(&mut region, &mut row, TAG_DATA, &fields)?;
                // The data binding's evaluation `Σ eᵢ·zⁱ` at the challenge L1 drew (Horner's
                // rule, from the highest coefficient down): one row per element.
                let challenge = cfg.pool.word(&mut region, &mut row, self.challenge);
                let (last, rest) = fields.split_last().ok_or(Error::Synthesis)?;
                let mut evaluation = *last;
                for e in rest.iter().rev() {
                    evaluation =
                        cfg.arith
                            .mul_add(&mut region, &mut row, evaluation, challenge, *e)?;
                }
                self.rows.store(row, Ordering::Relaxed);
                Ok((old, root, commitment, challenge, evaluation))
            },
        )?;
        for (i, w) in [old, new, commitment, challenge, evaluation]
            .iter()
            .enumerate()
        {
            layouter.constrain_instance(w.cell, cfg.public, i);
        }
        Ok(())
    }
}

/// The chunk circuit's version: part of the name of every cached key (`rollup_prover`'s artifact
/// cache), so that keys of two circuit versions never share a file (a loaded key is also checked
/// against the circuit, `rollup_prover::cached_pk`). Bump it with any change to the circuit's
/// constraints or layout; `verifier-gen`'s `generated` test pins the reference verifying key's
/// digest next to it, so that a change to the circuit fails there until both are updated.
/// 2: the data binding `(C, z, y)` (five public inputs).
/// 3: compact records (3-byte account ids, packed transfer amounts and fees).
/// 4: the fee equals its packing in every slot, not only in signed ones.
/// 5: Poseidon2 instead of Poseidon (the absorb row applies the initial linear layer).
/// 6: four partial rounds per row (23 rows per permutation, was 65) and a fourth fixed column.
pub const VERSION: u32 = 6;

/// The circuit degree the chunk circuit is padded to (see `configure`).
pub const MIN_DEGREE: usize = 5;

/// The six type flags, in type-byte order.
const TYPES: [TxType; 6] = TxType::ALL;

/// Where the record fields the circuit splits land in the record's field elements: the core's
/// layout (`codec::field_placement`).
#[derive(Debug, Clone, Copy)]
struct Places {
    dep_amount: Placement,
    dep_key: Placement,
    ck_key: Placement,
}

impl Places {
    fn new() -> Result<Places, Error> {
        let place = |ty: TxType, name: &str| field_placement(ty, name).ok_or(Error::Synthesis);
        Ok(Places {
            dep_amount: place(TxType::Deposit, "amount")?,
            dep_key: place(TxType::Deposit, "pubkey")?,
            ck_key: place(TxType::ChangeKey, "pubkey")?,
        })
    }
}

/// The words one slot's rules read: its type flags, the transaction's values and the splits that
/// pack its record (each `(high, low)`).
#[derive(Debug, Clone, Copy)]
struct SlotWords {
    /// Noop, deposit, transfer, withdraw, forced exit, key change.
    flags: [Word; 6],
    /// Transfer or withdrawal: a signed transaction.
    signed: Word,
    amount: Word,
    fee: Word,
    owner: Word,
    pkx: Word,
    pky: Word,
    sig_r: PointWord,
    sig_s: Word,
    /// Update 0's owner and nonce, split out of their packed leaf field.
    owner0: Word,
    nonce0: Word,
    /// A transfer's amount and a signed transaction's fee as their records pack them.
    packed_amount: Word,
    packed_fee: Word,
    amt: (Word, Word),
    dep_y: (Word, Word),
    ck_y: (Word, Word),
    x_hi: Word,
    x_lo: Word,
    x_par: Word,
    borrow: Word,
}

impl ChunkCircuit {
    /// One slot from `root`; returns the root after it and its record's three fields. The slot's
    /// three balance updates, then its rules in named phases: its words (witnesses, type flags and
    /// the record's splits), the record key, each update's rules, the signature, the record.
    fn slot(
        &self,
        cfg: &ChunkConfig,
        region: &mut Region<'_, Fr>,
        row: &mut usize,
        w: Value<&SlotWitness>,
        root: Word,
    ) -> Result<(Word, [Word; 3]), Error> {
        let update = |region: &mut Region<'_, Fr>, row: &mut usize, i: usize, root: Word| {
            cfg.update.assign(
                region,
                row,
                w.map(|w| &w.updates[i]),
                root,
                BALANCE_TREE_DEPTH,
                ACCOUNT_TREE_DEPTH,
            )
        };
        let u0: UpdateWords = update(region, row, 0, root)?;
        let u1 = update(region, row, 1, u0.root_after)?;
        let u2 = update(region, row, 2, u1.root_after)?;
        let places = Places::new()?;
        let s = self.slot_words(cfg, region, row, w, &u0, &places)?;
        self.record_key(cfg, region, row, &s)?;
        self.account_rules(cfg, region, row, &s, &u0)?;
        self.receiver_rules(cfg, region, row, &s, &u0, &u1)?;
        self.fee_rules(cfg, region, row, &s, &u0, &u2)?;
        self.signature(cfg, region, row, &s, &u0, &u1)?;
        let record = self.pack_record(cfg, region, row, &s, &places, &u0, &u1)?;
        Ok((u2.root_after, record))
    }

    /// The slot's free witnesses in the pool, its type flags (booleans, exactly one set) and the
    /// splits that pack its record (each half in range, the halves recombine).
    fn slot_words(
        &self,
        cfg: &ChunkConfig,
        region: &mut Region<'_, Fr>,
        row: &mut usize,
        w: Value<&SlotWitness>,
        u0: &UpdateWords,
        p: &Places,
    ) -> Result<SlotWords, Error> {
        let a = &cfg.arith;
        let one = Term::Const(Fr::ONE);
        let zero = Term::Const(Fr::ZERO);
        // Free witnesses of the slot, and the splits that pack its record.
        let Places {
            dep_amount,
            dep_key,
            ck_key,
        } = *p;
        let on0 = w.map(|w| w.updates[0].before[0]);
        let x = w.map(|w| w.pubkey.x);
        let y = w.map(|w| w.pubkey.y);
        let x_par = x.map(|x| low(x, 1));
        let x_lo = x.map(|x| shr(low(x, 128), 1));
        let x_hi = x.map(|x| shr(x, 128));
        let borrow = x.map(|x| {
            if field::to_u256(&low(x, 128)) > field::to_u256(&low(Fr::ZERO - Fr::ONE, 128)) {
                Fr::ONE
            } else {
                Fr::ZERO
            }
        });
        let flags: Vec<Value<Fr>> = TYPES
            .iter()
            .map(|t| w.map(|w| if w.tx_type == *t { Fr::ONE } else { Fr::ZERO }))
            .collect();
        let amount = w.map(|w| w.amount);
        let fee = w.map(|w| w.fee);
        let mut values = flags.clone();
        values.extend([
            amount,
            fee,
            w.map(|w| w.owner),
            x,
            y,
            w.map(|w| w.sig_r.x),
            w.map(|w| w.sig_r.y),
            w.map(|w| w.sig_s),
            on0.map(|v| low(v, 160)),
            on0.map(|v| shr(v, 160)),
            amount.map(|v| shr(v, dep_amount.lo_bits as usize)),
            amount.map(|v| low(v, dep_amount.lo_bits as usize)),
            y.map(|y| shr(y, dep_key.lo_bits as usize)),
            y.map(|y| low(y, dep_key.lo_bits as usize)),
            y.map(|y| shr(y, ck_key.lo_bits as usize)),
            y.map(|y| low(y, ck_key.lo_bits as usize)),
            x_hi,
            x_lo,
            x_par,
            borrow,
        ]);
        let v = cfg.pool.witness(region, row, &values);
        let f: [Word; 6] = [v[0], v[1], v[2], v[3], v[4], v[5]];
        let [_, _, f_tr, f_wd, _, _] = f;
        let (amount, fee, owner, pkx, pky) = (v[6], v[7], v[8], v[9], v[10]);
        let sig_r = PointWord { x: v[11], y: v[12] };
        let sig_s = v[13];
        let (owner0, nonce0) = (v[14], v[15]);
        let (amt_hi, amt_lo) = (v[16], v[17]);
        let (dep_y_hi, dep_y_lo, ck_y_hi, ck_y_lo) = (v[18], v[19], v[20], v[21]);
        let (x_hi, x_lo, x_par, borrow) = (v[22], v[23], v[24], v[25]);

        // Type flags: booleans, exactly one set.
        for flag in f {
            a.assert_bool(region, row, flag)?;
        }
        let flag_terms: Vec<(Fr, Term)> = f.iter().map(|w| (Fr::ONE, Term::Word(*w))).collect();
        let flag_sum = a.sum(region, row, &flag_terms)?;
        a.assert_mul_add(region, row, flag_sum, one, zero, one)?;
        let signed = a.add(region, row, f_tr, f_wd)?;

        // Splits: each half in range, the halves recombine.
        let split = |region: &mut Region<'_, Fr>,
                     row: &mut usize,
                     whole: Word,
                     hi: Word,
                     lo: Word,
                     at: usize,
                     hi_bits: usize|
         -> Result<(), Error> {
            a.range(region, row, hi, hi_bits)?;
            a.range(region, row, lo, at)?;
            a.assert_mul_add(region, row, hi, Term::Const(pow2(at)), lo, whole)
        };
        split(region, row, u0.owner_nonce[0], nonce0, owner0, 160, 32)?;
        // A compressed key is `y` (254 bits) with the parity of `x` in the top bit of 256: the part of
        // `y` in a record's first element has two bits fewer than the field's.
        let key_gap = 256 - Fr::NUM_BITS as usize;
        let bits = |b: u32| b as usize;
        split(
            region,
            row,
            amount,
            amt_hi,
            amt_lo,
            bits(dep_amount.lo_bits),
            bits(dep_amount.hi_bits),
        )?;
        split(
            region,
            row,
            pky,
            dep_y_hi,
            dep_y_lo,
            bits(dep_key.lo_bits),
            bits(dep_key.hi_bits) - key_gap,
        )?;
        split(
            region,
            row,
            pky,
            ck_y_hi,
            ck_y_lo,
            bits(ck_key.lo_bits),
            bits(ck_key.hi_bits) - key_gap,
        )?;
        // Packed values: a transfer's amount is its packing's value.
        let (packed_amount, amount_value) =
            self.unpack(cfg, region, row, float::AMOUNT, w.map(|w| w.packed_amount))?;
        let (packed_fee, fee_value) =
            self.unpack(cfg, region, row, float::FEE, w.map(|w| w.packed_fee))?;
        let amount_gap = a.sub(region, row, amount, amount_value)?;
        a.assert_zero_product(region, row, f_tr, amount_gap)?;
        // The fee is its packing's value in every slot (0 in unsigned ones, whose witness has no
        // fee): so every slot's fee is below 2^128, as the amount is, whatever uses it later.
        region.constrain_equal(fee.cell, fee_value.cell);
        Ok(SlotWords {
            flags: f,
            signed,
            amount,
            fee,
            owner,
            pkx,
            pky,
            sig_r,
            sig_s,
            owner0,
            nonce0,
            packed_amount,
            packed_fee,
            amt: (amt_hi, amt_lo),
            dep_y: (dep_y_hi, dep_y_lo),
            ck_y: (ck_y_hi, ck_y_lo),
            x_hi,
            x_lo,
            x_par,
            borrow,
        })
    }

    /// A packed value in `format` (`docs/protocol.md`, "Packed amounts"): the packing
    /// `mantissa · 2^exponent_bits + exponent` and its value `mantissa · 10^exponent`. The mantissa is
    /// range-checked, the exponent is its bits (booleans), and the packing is canonical: the exponent
    /// is 0 or `10 · mantissa ≥ 2^mantissa_bits` (no smaller exponent holds the value), so a value has
    /// one record encoding. The value is below `2^mantissa_bits · 10^(2^exponent_bits − 1)` (below
    /// 2^139 for either format), far below `r`: it never wraps, and the balance rules range-check it to
    /// 128 bits.
    fn unpack(
        &self,
        cfg: &ChunkConfig,
        region: &mut Region<'_, Fr>,
        row: &mut usize,
        format: FloatFormat,
        w: Value<Packed>,
    ) -> Result<(Word, Word), Error> {
        let a = &cfg.arith;
        let eb = format.exponent_bits as usize;
        let mb = format.mantissa_bits as usize;
        let mut values = vec![w.map(|p| p.mantissa)];
        values.extend((0..eb).map(|i| {
            w.map(|p| {
                if (p.exponent >> i) & 1 == 1 {
                    Fr::ONE
                } else {
                    Fr::ZERO
                }
            })
        }));
        let v = cfg.pool.witness(region, row, &values);
        let (mantissa, bits) = (v[0], &v[1..]);
        a.range(region, row, mantissa, mb)?;
        let mut exponent_terms = Vec::with_capacity(eb);
        let mut scale = Term::Const(Fr::ONE);
        for (i, bit) in bits.iter().enumerate() {
            a.assert_bool(region, row, *bit)?;
            exponent_terms.push((pow2(i), Term::Word(*bit)));
            // 10^(2^i) if the bit is set, else 1.
            let step = Fr::from(10u64).pow_vartime([1u64 << i]);
            let factor = a.mul_add(
                region,
                row,
                *bit,
                Term::Const(step - Fr::ONE),
                Term::Const(Fr::ONE),
            )?;
            scale = Term::Word(a.mul(region, row, scale, factor)?);
        }
        let exponent = a.sum(region, row, &exponent_terms)?;
        let value = a.mul(region, row, mantissa, scale)?;
        let packed = a.mul_add(region, row, mantissa, Term::Const(pow2(eb)), exponent)?;
        // Canonical: exponent 0, or 10·mantissa − 2^mb ≥ 0 (below 9·2^mb < 2^(mb+4) if so; a
        // negative difference wraps to near r and fails the range check).
        let zero_exponent = a.is_zero(region, row, exponent)?;
        let nonzero_exponent = a.sub(region, row, Term::Const(Fr::ONE), zero_exponent)?;
        let gap = a.mul_add(
            region,
            row,
            mantissa,
            Term::Const(Fr::from(10u64)),
            Term::Const(Fr::ZERO - pow2(mb)),
        )?;
        let checked = a.mul(region, row, nonzero_exponent, gap)?;
        a.range(region, row, checked, mb + 4)?;
        Ok((packed, value))
    }

    /// The record key: `x`'s parity bit is that of the canonical `x`, and the key is `NONE` or a
    /// curve point other than the small-order ones with `y = 0`.
    fn record_key(
        &self,
        cfg: &ChunkConfig,
        region: &mut Region<'_, Fr>,
        row: &mut usize,
        s: &SlotWords,
    ) -> Result<(), Error> {
        let a = &cfg.arith;
        let one = Term::Const(Fr::ONE);
        let SlotWords {
            pkx,
            pky,
            x_hi,
            x_lo,
            x_par,
            borrow,
            ..
        } = *s;
        let r_lo = low(Fr::ZERO - Fr::ONE, 128) + Fr::ONE; // r mod 2^128 (r − 1 has the same high bits)
        // x = x_hi·2^128 + 2·x_lo + parity, and x < r (so the parity is that of the canonical x).
        a.assert_bool(region, row, x_par)?;
        a.assert_bool(region, row, borrow)?;
        a.range(region, row, x_hi, 126)?;
        a.range(region, row, x_lo, 127)?;
        let x_low = a.mul_add(region, row, x_lo, Term::Const(Fr::from(2u64)), x_par)?;
        a.assert_mul_add(region, row, x_hi, Term::Const(pow2(128)), x_low, pkx)?;
        let r_hi = shr(Fr::ZERO - Fr::ONE, 128);
        let lo_diff = a.sum(
            region,
            row,
            &[
                (Fr::ONE, Term::Const(r_lo - Fr::ONE)),
                (-Fr::ONE, Term::Word(x_low)),
                (pow2(128), Term::Word(borrow)),
            ],
        )?;
        a.range(region, row, lo_diff, 128)?;
        let hi_diff = a.sum(
            region,
            row,
            &[
                (Fr::ONE, Term::Const(r_hi)),
                (-Fr::ONE, Term::Word(x_hi)),
                (-Fr::ONE, Term::Word(borrow)),
            ],
        )?;
        a.range(region, row, hi_diff, 126)?;
        // The record key is NONE or on the curve.
        let x2 = a.mul(region, row, pkx, pkx)?;
        let y2 = a.mul(region, row, pky, pky)?;
        let x2y2 = a.mul(region, row, x2, y2)?;
        let curve = a.sum(
            region,
            row,
            &[
                (Fr::from(CURVE_A), Term::Word(x2)),
                (Fr::ONE, Term::Word(y2)),
                (-Fr::from(CURVE_D), Term::Word(x2y2)),
                (-Fr::ONE, one),
            ],
        )?;
        let zx = a.is_zero(region, row, pkx)?;
        let zy = a.is_zero(region, row, pky)?;
        let none = a.mul(region, row, zx, zy)?;
        let some = a.sub(region, row, one, none)?;
        a.assert_zero_product(region, row, curve, some)?;
        // y = 0 forces x = 0: the curve points (±1/√a, 0) are of small order, and the one with an even x
        // compresses to the all-zero bytes of NONE, so without this a record saying NONE could bind it.
        a.assert_zero_product(region, row, zy, pkx)?;

        Ok(())
    }

    /// Update 0's rules: the slot's account.
    fn account_rules(
        &self,
        cfg: &ChunkConfig,
        region: &mut Region<'_, Fr>,
        row: &mut usize,
        s: &SlotWords,
        u0: &UpdateWords,
    ) -> Result<(), Error> {
        let a = &cfg.arith;
        let one = Term::Const(Fr::ONE);
        let SlotWords {
            flags: [f_noop, f_dep, f_tr, f_wd, f_fe, f_ck],
            signed,
            amount,
            fee,
            owner,
            pkx,
            pky,
            owner0,
            nonce0,
            ..
        } = *s;
        // Update 0: the slot's account.
        let new_account = a.is_zero(region, row, u0.owner_nonce[0])?;
        let needs_account = a.sum(
            region,
            row,
            &[
                (Fr::ONE, f_tr.into()),
                (Fr::ONE, f_wd.into()),
                (Fr::ONE, f_fe.into()),
                (Fr::ONE, f_ck.into()),
            ],
        )?;
        a.assert_zero_product(region, row, needs_account, new_account)?;
        a.assert_nonzero_if(region, row, owner, f_dep)?;
        // An address: without this bound a prover could move value between the owner and the amount's
        // high bytes, which share the record's first field, and credit an amount L1 never received.
        a.range(region, row, owner, 160)?;
        let existing = a.sub(region, row, one, new_account)?;
        let dep_existing = a.mul(region, row, f_dep, existing)?;
        let owner_diff = a.sub(region, row, owner0, owner)?;
        a.assert_zero_product(region, row, dep_existing, owner_diff)?;
        let dep_new = a.mul(region, row, f_dep, new_account)?;
        let to_owner = a.sub(region, row, owner, u0.owner_nonce[0])?;
        let created = a.mul_add(region, row, dep_new, to_owner, u0.owner_nonce[0])?;
        a.assert_mul_add(
            region,
            row,
            signed,
            Term::Const(pow2(160)),
            created,
            u0.owner_nonce[1],
        )?;
        let nonce_gap = a.sub(
            region,
            row,
            nonce0,
            Term::Const(Fr::from(u64::from(u32::MAX))),
        )?;
        a.assert_nonzero_if(region, row, nonce_gap, signed)?;
        let set_key = a.add(region, row, dep_new, f_ck)?;
        for (before, after, new) in [
            (u0.pubkey_x[0], u0.pubkey_x[1], pkx),
            (u0.pubkey_y[0], u0.pubkey_y[1], pky),
        ] {
            let d = a.sub(region, row, new, before)?;
            a.assert_mul_add(region, row, set_key, d, before, after)?;
        }
        let amount_fee = a.add(region, row, amount, fee)?;
        a.range(region, row, amount_fee, 128)?;
        let credited = a.mul_add(region, row, f_dep, amount, u0.balance[0])?;
        let debit = a.mul(region, row, signed, amount_fee)?;
        let debited = a.sub(region, row, credited, debit)?;
        let emptied = a.mul(region, row, f_fe, u0.balance[0])?;
        let bal0 = a.sub(region, row, debited, emptied)?;
        region.constrain_equal(bal0.cell, u0.balance[1].cell);
        a.range(region, row, u0.balance[1], 128)?;
        let exit_diff = a.sub(region, row, amount, u0.balance[0])?;
        a.assert_zero_product(region, row, f_fe, exit_diff)?;
        a.assert_zero_product(region, row, f_noop, u0.account_id)?;
        let token_zero = a.add(region, row, f_noop, f_ck)?;
        a.assert_zero_product(region, row, token_zero, u0.token)?;

        Ok(())
    }

    /// Update 1's rules: the receiver of a transfer, else a no-op on account 0, token 0.
    fn receiver_rules(
        &self,
        cfg: &ChunkConfig,
        region: &mut Region<'_, Fr>,
        row: &mut usize,
        s: &SlotWords,
        u0: &UpdateWords,
        u1: &UpdateWords,
    ) -> Result<(), Error> {
        let a = &cfg.arith;
        let one = Term::Const(Fr::ONE);
        let SlotWords {
            flags: [_, _, f_tr, _, _, _],
            amount,
            ..
        } = *s;
        // Update 1: the receiver of a transfer, else a no-op on account 0, token 0.
        self.keep_leaf(region, u1);
        a.assert_mul_add(region, row, f_tr, amount, u1.balance[0], u1.balance[1])?;
        a.range(region, row, u1.balance[1], 128)?;
        let not_tr = a.sub(region, row, one, f_tr)?;
        a.assert_zero_product(region, row, not_tr, u1.account_id)?;
        a.assert_zero_product(region, row, not_tr, u1.token)?;
        let tok1 = a.sub(region, row, u1.token, u0.token)?;
        a.assert_zero_product(region, row, f_tr, tok1)?;
        a.assert_nonzero_if(region, row, u1.owner_nonce[0], f_tr)?;

        Ok(())
    }

    /// Update 2's rules: the fee account, credited the fee of a signed transaction.
    fn fee_rules(
        &self,
        cfg: &ChunkConfig,
        region: &mut Region<'_, Fr>,
        row: &mut usize,
        s: &SlotWords,
        u0: &UpdateWords,
        u2: &UpdateWords,
    ) -> Result<(), Error> {
        let a = &cfg.arith;
        let one = Term::Const(Fr::ONE);
        let zero = Term::Const(Fr::ZERO);
        let SlotWords { signed, fee, .. } = *s;
        // Update 2: the fee account, credited the fee of a signed transaction.
        self.keep_leaf(region, u2);
        a.assert_mul_add(region, row, signed, fee, u2.balance[0], u2.balance[1])?;
        a.range(region, row, u2.balance[1], 128)?;
        a.assert_mul_add(region, row, u2.account_id, one, zero, zero)?;
        let not_signed = a.sub(region, row, one, signed)?;
        a.assert_zero_product(region, row, not_signed, u2.token)?;
        let tok2 = a.sub(region, row, u2.token, u0.token)?;
        a.assert_zero_product(region, row, signed, tok2)?;
        a.assert_nonzero_if(region, row, u2.owner_nonce[0], signed)?;

        Ok(())
    }

    /// The signature: the sender's key on the signed message, or the padding pair.
    fn signature(
        &self,
        cfg: &ChunkConfig,
        region: &mut Region<'_, Fr>,
        row: &mut usize,
        s: &SlotWords,
        u0: &UpdateWords,
        u1: &UpdateWords,
    ) -> Result<(), Error> {
        let a = &cfg.arith;
        let zero = Term::Const(Fr::ZERO);
        let SlotWords {
            flags: [_, _, f_tr, f_wd, _, _],
            signed,
            amount,
            fee,
            sig_r,
            sig_s,
            nonce0,
            ..
        } = *s;
        // The signature: the sender's key on the signed message, or the padding pair.
        let header = a.sum(
            region,
            row,
            &[
                (Fr::from(TxType::Transfer as u64), f_tr.into()),
                (Fr::from(TxType::Withdraw as u64), f_wd.into()),
                (pow2(header::FROM), u0.account_id.into()),
                (pow2(header::TO), u1.account_id.into()),
                (pow2(header::TOKEN), u0.token.into()),
                (pow2(header::NONCE), nonce0.into()),
                (pow2(header::CHAIN_ID), Term::Const(Fr::from(self.chain_id))),
            ],
        )?;
        let msg = cfg
            .poseidon
            .hash(region, row, TAG_TX, &[header, amount, fee])?;
        let (pad_key, _, _) = padding_signature();
        let key = PointWord {
            x: a.select(region, row, signed, u0.pubkey_x[0], Term::Const(pad_key.x))?,
            y: a.select(region, row, signed, u0.pubkey_y[0], Term::Const(pad_key.y))?,
        };
        let msg = a.select(region, row, signed, msg, zero)?;
        cfg.eddsa.assert_on_curve(region, row, key)?;
        cfg.eddsa.verify(region, row, key, sig_r, sig_s, msg)?;

        Ok(())
    }

    /// The record, cut into three 31-byte integers, each field where the core's layout puts it.
    #[allow(clippy::too_many_arguments)]
    fn pack_record(
        &self,
        cfg: &ChunkConfig,
        region: &mut Region<'_, Fr>,
        row: &mut usize,
        s: &SlotWords,
        p: &Places,
        u0: &UpdateWords,
        u1: &UpdateWords,
    ) -> Result<[Word; 3], Error> {
        let a = &cfg.arith;
        let SlotWords {
            flags: [_, f_dep, f_tr, f_wd, f_fe, f_ck],
            amount,
            owner,
            packed_amount,
            packed_fee,
            amt: (amt_hi, amt_lo),
            dep_y: (dep_y_hi, dep_y_lo),
            ck_y: (ck_y_hi, ck_y_lo),
            x_par,
            ..
        } = *s;
        let Places {
            dep_amount,
            dep_key,
            ck_key,
        } = *p;
        let place = |ty: TxType, name: &str| field_placement(ty, name).ok_or(Error::Synthesis);
        // The record, cut into three 31-byte integers, each field where the core's layout puts it.
        let ty = |t: TxType| Term::Const(Fr::from(t as u64) * pow2(TYPE_SHIFT as usize));
        let (id, token, to) = (
            Term::Word(u0.account_id),
            Term::Word(u0.token),
            Term::Word(u1.account_id),
        );
        let (amount_t, par) = (Term::Word(amount), Term::Word(x_par));
        // A field within one element: its term at its bit.
        let at = |t: TxType, name: &str, term: Term| -> Result<(Fr, Term), Error> {
            Ok((pow2(place(t, name)?.shift as usize), term))
        };
        // A field split over two elements: the high part ends element `word`, the low part starts
        // element `word + 1`; a key's parity is the high part's top bit.
        let hi = |p: Placement, term: Term| (pow2(p.shift as usize), term);
        let lo = |p: Placement, term: Term| (pow2(p.lo_shift as usize), term);
        let parity = |p: Placement| (pow2((p.shift + p.hi_bits - 1) as usize), par);
        let by_type = [
            (
                f_dep,
                [
                    vec![
                        (Fr::ONE, ty(TxType::Deposit)),
                        at(TxType::Deposit, "account", id)?,
                        at(TxType::Deposit, "owner", owner.into())?,
                        at(TxType::Deposit, "token", token)?,
                        hi(dep_amount, amt_hi.into()),
                    ],
                    vec![
                        lo(dep_amount, amt_lo.into()),
                        hi(dep_key, dep_y_hi.into()),
                        parity(dep_key),
                    ],
                    vec![lo(dep_key, dep_y_lo.into())],
                ],
            ),
            (
                f_tr,
                [
                    vec![
                        (Fr::ONE, ty(TxType::Transfer)),
                        at(TxType::Transfer, "from", id)?,
                        at(TxType::Transfer, "to", to)?,
                        at(TxType::Transfer, "token", token)?,
                        at(TxType::Transfer, "amount", packed_amount.into())?,
                        at(TxType::Transfer, "fee", packed_fee.into())?,
                    ],
                    vec![],
                    vec![],
                ],
            ),
            (
                f_wd,
                [
                    vec![
                        (Fr::ONE, ty(TxType::Withdraw)),
                        at(TxType::Withdraw, "account", id)?,
                        at(TxType::Withdraw, "token", token)?,
                        at(TxType::Withdraw, "amount", amount_t)?,
                        at(TxType::Withdraw, "fee", packed_fee.into())?,
                    ],
                    vec![],
                    vec![],
                ],
            ),
            (
                f_fe,
                [
                    vec![
                        (Fr::ONE, ty(TxType::ForcedExit)),
                        at(TxType::ForcedExit, "account", id)?,
                        at(TxType::ForcedExit, "token", token)?,
                        at(TxType::ForcedExit, "amount", amount_t)?,
                    ],
                    vec![],
                    vec![],
                ],
            ),
            (
                f_ck,
                [
                    vec![
                        (Fr::ONE, ty(TxType::ChangeKey)),
                        at(TxType::ChangeKey, "account", id)?,
                        hi(ck_key, ck_y_hi.into()),
                        parity(ck_key),
                    ],
                    vec![lo(ck_key, ck_y_lo.into())],
                    vec![],
                ],
            ),
        ];
        let mut record = [Term::Const(Fr::ZERO); 3];
        for (flag, parts) in by_type {
            for (k, terms) in parts.iter().enumerate() {
                if terms.is_empty() {
                    continue;
                }
                let packed = a.sum(region, row, terms)?;
                record[k] = Term::Word(a.mul_add(region, row, flag, packed, record[k])?);
            }
        }
        let mut out = Vec::with_capacity(3);
        for r in record {
            out.push(match r {
                Term::Word(w) => w,
                Term::Const(c) => a.constant(region, row, c)?,
            });
        }
        Ok([out[0], out[1], out[2]])
    }

    /// Owner, nonce and key of an update's leaf stay as they were.
    fn keep_leaf(&self, region: &mut Region<'_, Fr>, u: &UpdateWords) {
        for pair in [u.owner_nonce, u.pubkey_x, u.pubkey_y] {
            region.constrain_equal(pair[0].cell, pair[1].cell);
        }
    }
}

impl CircuitExt<Fr> for ChunkCircuit {
    fn num_instance(&self) -> Vec<usize> {
        vec![CHUNK_PUBLIC_INPUTS]
    }

    fn instances(&self) -> Vec<Vec<Fr>> {
        vec![self.public.to_vec()]
    }
}

/// The public inputs of a chunk proof, as `docs/protocol.md` orders them.
pub fn instances(chunk: &Chunk) -> Vec<Vec<Fr>> {
    vec![chunk.public_inputs().to_vec()]
}
