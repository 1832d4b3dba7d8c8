//! Byte encodings: the wire form of transactions (what the L2 RPC accepts) and
//! the pubdata records posted to L1 (what the L1 contract parses and the escape
//! client replays). Every integer is big-endian; every encoding starts with the
//! [`TxType`] byte.
//!
//! | type | pubdata record | bytes |
//! | --- | --- | --- |
//! | Noop | `type` | 1 |
//! | Deposit | `type account:3 owner:20 token:1 amount:16 pubkey:32` | 73 |
//! | Transfer | `type from:3 to:3 token:1 amount:5f fee:2f` | 15 |
//! | Withdraw | `type account:3 token:1 amount:16 fee:2f` | 23 |
//! | ForcedExit | `type account:3 token:1 amount:16` | 21 |
//! | ChangeKey | `type account:3 pubkey:32` | 36 |
//!
//! `5f` and `2f` are packed amounts ([`crate::float`]): a transfer's amount and a signed
//! transaction's fee must be representable there. Account ids are as wide as the account tree
//! allows (3 bytes, below `2^20`). The table is [`record_layout`], the one definition the encoder,
//! the circuit and the generated Solidity follow.
//!
//! The wire form of an L2 transaction appends `nonce:4 signature:64` to its record;
//! the wire form of a forced exit omits the amount (the transition sets it).

use alloy_primitives::{Address, keccak256};
use ff::Field;
use serde::{Deserialize, Serialize};

use crate::blob::BlsFr;
use crate::constants::{
    BATCH_INPUTS, MAX_ACCOUNTS, RECORD_FIELD_BYTES, RECORD_FIELDS, RECORD_PADDED_BYTES, TAG_BATCH,
    TAG_DATA,
};
use crate::eddsa::{Point, Signature};
use crate::error::{Error, Result};
use crate::field::{self, Fr};
use crate::float::{self, FloatFormat};
use crate::poseidon::hash;
use crate::state::{AccountId, TokenId};
use crate::tx::{ChangeKey, Deposit, ForcedExit, Transfer, Tx, TxType, Withdraw};

/// A pubdata record: what one executed slot posts to L1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    /// Padding.
    Noop,
    /// A processed deposit request.
    Deposit(Deposit),
    /// A transfer.
    Transfer {
        /// Sender.
        from: AccountId,
        /// Receiver.
        to: AccountId,
        /// Token.
        token: TokenId,
        /// Amount.
        #[serde(with = "crate::field::serde_u128")]
        amount: u128,
        /// Fee.
        #[serde(with = "crate::field::serde_u128")]
        fee: u128,
    },
    /// A withdrawal to the account's owner.
    Withdraw {
        /// Account debited.
        from: AccountId,
        /// Token.
        token: TokenId,
        /// Amount paid on L1.
        #[serde(with = "crate::field::serde_u128")]
        amount: u128,
        /// Fee.
        #[serde(with = "crate::field::serde_u128")]
        fee: u128,
    },
    /// A processed forced exit, with the amount it withdrew.
    ForcedExit {
        /// Account.
        account_id: AccountId,
        /// Token.
        token: TokenId,
        /// The whole balance, paid on L1.
        #[serde(with = "crate::field::serde_u128")]
        amount: u128,
    },
    /// A processed key change request.
    ChangeKey(ChangeKey),
}

/// What a record field holds, which fixes how L1 reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// A big-endian unsigned integer.
    Uint,
    /// An L1 address (20 bytes).
    Address,
    /// A compressed Baby Jubjub key (32 bytes: `y`, the parity of `x` in the top bit).
    Key,
    /// A packed amount ([`crate::float`]) in this format.
    Float(FloatFormat),
}

/// One field of a pubdata record: its name, width and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordField {
    /// Its name (the generated Solidity's `Records.<TYPE>_<NAME>` offset and reader).
    pub name: &'static str,
    /// Its width in bytes.
    pub bytes: usize,
    /// What it holds.
    pub kind: FieldKind,
}

const fn uint(name: &'static str, bytes: usize) -> RecordField {
    RecordField {
        name,
        bytes,
        kind: FieldKind::Uint,
    }
}

const fn packed(name: &'static str, format: FloatFormat) -> RecordField {
    RecordField {
        name,
        bytes: format.bytes(),
        kind: FieldKind::Float(format),
    }
}

/// The width of an account id in a record: the account tree's ids fit.
pub const ACCOUNT_BYTES: usize = 3;
/// The width of a token id in a record.
pub const TOKEN_BYTES: usize = 1;
/// The width of an exact amount in a record (deposits, withdrawals, forced exits).
pub const AMOUNT_BYTES: usize = 16;

const _: () = assert!(MAX_ACCOUNTS <= 1 << (8 * ACCOUNT_BYTES));

const ACCOUNT: RecordField = uint("account", ACCOUNT_BYTES);
const FROM: RecordField = uint("from", ACCOUNT_BYTES);
const TO: RecordField = uint("to", ACCOUNT_BYTES);
const TOKEN: RecordField = uint("token", TOKEN_BYTES);
const AMOUNT: RecordField = uint("amount", AMOUNT_BYTES);
const PACKED_AMOUNT: RecordField = packed("amount", float::AMOUNT);
const PACKED_FEE: RecordField = packed("fee", float::FEE);
const OWNER: RecordField = RecordField {
    name: "owner",
    bytes: 20,
    kind: FieldKind::Address,
};
const PUBKEY: RecordField = RecordField {
    name: "pubkey",
    bytes: 32,
    kind: FieldKind::Key,
};

/// The byte layout of a record of type `ty`, after its type byte: the one definition of the
/// record format. The encoder and decoder below follow it (a test checks every field's bytes), the
/// circuit packs records by it ([`field_placement`]), and `protocol-gen` generates the Solidity
/// `Records` library (offsets and readers) from it.
pub const fn record_layout(ty: TxType) -> &'static [RecordField] {
    match ty {
        TxType::Noop => &[],
        TxType::Deposit => &[ACCOUNT, OWNER, TOKEN, AMOUNT, PUBKEY],
        TxType::Transfer => &[FROM, TO, TOKEN, PACKED_AMOUNT, PACKED_FEE],
        TxType::Withdraw => &[ACCOUNT, TOKEN, AMOUNT, PACKED_FEE],
        TxType::ForcedExit => &[ACCOUNT, TOKEN, AMOUNT],
        TxType::ChangeKey => &[ACCOUNT, PUBKEY],
    }
}

/// The byte offset of field `name` in a record of type `ty` (the type byte is at 0), and the field.
pub fn field_offset(ty: TxType, name: &str) -> Option<(usize, RecordField)> {
    let mut offset = 1;
    for f in record_layout(ty) {
        if f.name == name {
            return Some((offset, *f));
        }
        offset += f.bytes;
    }
    None
}

/// The length in bytes of a record of type `ty`.
pub const fn record_len(ty: TxType) -> usize {
    let layout = record_layout(ty);
    let mut len = 1;
    let mut i = 0;
    while i < layout.len() {
        len += layout[i].bytes;
        i += 1;
    }
    len
}

/// The longest record: every record fits the [`RECORD_PADDED_BYTES`] its elements cover, which
/// `Record::fields`, the circuit and the generated `DataBinding.evaluate` (whose last element's mask
/// is `93 − len` bytes) rely on.
pub const MAX_RECORD_LEN: usize = {
    let mut max = 0;
    let mut i = 0;
    while i < TxType::ALL.len() {
        let len = record_len(TxType::ALL[i]);
        if len > max {
            max = len;
        }
        i += 1;
    }
    max
};
const _: () = assert!(MAX_RECORD_LEN <= RECORD_PADDED_BYTES);
const _: () = assert!(RECORD_PADDED_BYTES == RECORD_FIELDS * RECORD_FIELD_BYTES);

/// The length of a forced-exit request as the L1 queue records it: the forced-exit record without
/// its amount, which the transition sets.
pub const FORCED_EXIT_REQUEST_LEN: usize = record_len(TxType::ForcedExit) - AMOUNT_BYTES;

/// Where a field lands when the record is zero-padded and cut into the [`RECORD_FIELDS`] field
/// elements of [`RECORD_FIELD_BYTES`] bytes each ([`Record::fields`]): its high part is the low
/// `hi_bits` bits of element `word`, and its low `lo_bits` bits (zero unless the field straddles
/// two elements) start element `word + 1` at bit `lo_shift`. A field within one element has
/// `lo_bits = 0` and sits at bit `shift` of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// The element holding the field (or its high part).
    pub word: usize,
    /// The bit its lowest bit (of the part in `word`) is at.
    pub shift: u32,
    /// Bits of the field in `word`.
    pub hi_bits: u32,
    /// Bits of the field in `word + 1`.
    pub lo_bits: u32,
    /// The bit the part in `word + 1` starts at (its lowest bit).
    pub lo_shift: u32,
}

/// Where field `name` of a `ty` record lands in the record's field elements ([`Placement`]).
pub fn field_placement(ty: TxType, name: &str) -> Option<Placement> {
    let (offset, f) = field_offset(ty, name)?;
    let end = offset + f.bytes;
    let word = offset / RECORD_FIELD_BYTES;
    let word_end = (word + 1) * RECORD_FIELD_BYTES;
    let bits = |bytes: usize| (8 * bytes) as u32;
    if end <= word_end {
        return Some(Placement {
            word,
            shift: bits(word_end - end),
            hi_bits: bits(f.bytes),
            lo_bits: 0,
            lo_shift: 0,
        });
    }
    // Straddles two elements (no field is wider than one element).
    Some(Placement {
        word,
        shift: 0,
        hi_bits: bits(word_end - offset),
        lo_bits: bits(end - word_end),
        lo_shift: bits(word_end + RECORD_FIELD_BYTES - end),
    })
}

/// The bit of element 0 the type byte occupies (its lowest bit).
pub const TYPE_SHIFT: u32 = (8 * (RECORD_FIELD_BYTES - 1)) as u32;

/// What L1 must do for one record when the batch holding it is committed or executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OnchainOp {
    /// Consume the next L1 request, which must be this one.
    ConsumeRequest {
        /// The request, as the transition saw it.
        request: L1Request,
    },
    /// Pay `amount` of `token` to the owner of `account_id` (on execution).
    Withdrawal {
        /// Account whose owner is paid.
        account_id: AccountId,
        /// Token.
        token: TokenId,
        /// Amount.
        #[serde(with = "crate::field::serde_u128")]
        amount: u128,
    },
}

/// An L1 request as the queue holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum L1Request {
    /// Deposit.
    Deposit(Deposit),
    /// Forced exit.
    ForcedExit(ForcedExit),
    /// Key change.
    ChangeKey(ChangeKey),
}

impl L1Request {
    /// The transaction that processes this request.
    pub fn to_tx(&self) -> Tx {
        match *self {
            L1Request::Deposit(d) => Tx::Deposit(d),
            L1Request::ForcedExit(f) => Tx::ForcedExit(f),
            L1Request::ChangeKey(c) => Tx::ChangeKey(c),
        }
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    fn take<const N: usize>(&mut self) -> Result<[u8; N]> {
        let end = self.pos + N;
        let s = self.buf.get(self.pos..end).ok_or_else(|| {
            Error::Decode(format!(
                "truncated at byte {}: need {N} more, have {}",
                self.pos,
                self.buf.len() - self.pos
            ))
        })?;
        self.pos = end;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take::<1>()?[0])
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.take()?))
    }
    /// An account id: [`ACCOUNT_BYTES`] bytes, below [`MAX_ACCOUNTS`].
    fn account(&mut self) -> Result<u32> {
        let b = self.take::<ACCOUNT_BYTES>()?;
        let id = b.iter().fold(0u32, |acc, x| (acc << 8) | u32::from(*x));
        if u64::from(id) >= MAX_ACCOUNTS {
            return Err(Error::Decode(format!(
                "account id {id} is outside the account tree (below {MAX_ACCOUNTS})"
            )));
        }
        Ok(id)
    }
    /// A packed amount in `format`, canonical.
    fn float(&mut self, format: FloatFormat) -> Result<u128> {
        let width = format.bytes();
        let b = self.buf.get(self.pos..self.pos + width).ok_or_else(|| {
            Error::Decode(format!("truncated at byte {}: need {width} more", self.pos))
        })?;
        let packed = b.iter().fold(0u64, |acc, x| (acc << 8) | u64::from(*x));
        self.pos += width;
        format.unpack(packed)
    }
    fn u128(&mut self) -> Result<u128> {
        Ok(u128::from_be_bytes(self.take()?))
    }
    fn address(&mut self) -> Result<Address> {
        Ok(Address::from(self.take::<20>()?))
    }
    fn pubkey(&mut self) -> Result<Point> {
        Point::decompress_key(&self.take()?)
    }
    fn signature(&mut self) -> Result<Signature> {
        Signature::from_bytes(&self.take()?)
    }
    fn tx_type(&mut self) -> Result<TxType> {
        let b = self.u8()?;
        TxType::from_byte(b).ok_or_else(|| Error::Decode(format!("unknown transaction type {b}")))
    }
    fn finish(self) -> Result<()> {
        if self.pos != self.buf.len() {
            return Err(Error::Decode(format!(
                "{} trailing bytes",
                self.buf.len() - self.pos
            )));
        }
        Ok(())
    }
}

impl Record {
    /// The record's type.
    pub fn tx_type(&self) -> TxType {
        match self {
            Record::Noop => TxType::Noop,
            Record::Deposit(_) => TxType::Deposit,
            Record::Transfer { .. } => TxType::Transfer,
            Record::Withdraw { .. } => TxType::Withdraw,
            Record::ForcedExit { .. } => TxType::ForcedExit,
            Record::ChangeKey(_) => TxType::ChangeKey,
        }
    }

    /// Length of the encoding of a record of type `ty` ([`record_len`]).
    pub fn encoded_len(ty: TxType) -> usize {
        record_len(ty)
    }

    /// Appends the encoding to `out`; errs (leaving `out` as it was) if an amount or fee is not
    /// representable in its packed form or an account id is outside the tree.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<()> {
        let start = out.len();
        let result = self.write(out);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn write(&self, out: &mut Vec<u8>) -> Result<()> {
        out.push(self.tx_type() as u8);
        match *self {
            Record::Noop => {}
            Record::Deposit(d) => {
                put_account(out, d.account_id)?;
                out.extend_from_slice(d.owner.as_slice());
                out.push(d.token);
                out.extend_from_slice(&d.amount.to_be_bytes());
                out.extend_from_slice(&d.pubkey.compress());
            }
            Record::Transfer {
                from,
                to,
                token,
                amount,
                fee,
            } => {
                put_account(out, from)?;
                put_account(out, to)?;
                out.push(token);
                put_float(out, float::AMOUNT, "amount", amount)?;
                put_float(out, float::FEE, "fee", fee)?;
            }
            Record::Withdraw {
                from,
                token,
                amount,
                fee,
            } => {
                put_account(out, from)?;
                out.push(token);
                out.extend_from_slice(&amount.to_be_bytes());
                put_float(out, float::FEE, "fee", fee)?;
            }
            Record::ForcedExit {
                account_id,
                token,
                amount,
            } => {
                put_account(out, account_id)?;
                out.push(token);
                out.extend_from_slice(&amount.to_be_bytes());
            }
            Record::ChangeKey(c) => {
                put_account(out, c.account_id)?;
                out.extend_from_slice(&c.pubkey.compress());
            }
        }
        Ok(())
    }

    /// The encoding (see [`Record::encode_into`] for when it errs).
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(Self::encoded_len(self.tx_type()));
        self.encode_into(&mut out)?;
        Ok(out)
    }

    fn read(r: &mut Reader<'_>) -> Result<Record> {
        Ok(match r.tx_type()? {
            TxType::Noop => Record::Noop,
            TxType::Deposit => Record::Deposit(Deposit {
                account_id: r.account()?,
                owner: r.address()?,
                token: r.u8()?,
                amount: r.u128()?,
                pubkey: r.pubkey()?,
            }),
            TxType::Transfer => Record::Transfer {
                from: r.account()?,
                to: r.account()?,
                token: r.u8()?,
                amount: r.float(float::AMOUNT)?,
                fee: r.float(float::FEE)?,
            },
            TxType::Withdraw => Record::Withdraw {
                from: r.account()?,
                token: r.u8()?,
                amount: r.u128()?,
                fee: r.float(float::FEE)?,
            },
            TxType::ForcedExit => Record::ForcedExit {
                account_id: r.account()?,
                token: r.u8()?,
                amount: r.u128()?,
            },
            TxType::ChangeKey => Record::ChangeKey(ChangeKey {
                account_id: r.account()?,
                pubkey: r.pubkey()?,
            }),
        })
    }

    /// Decodes exactly one record.
    pub fn decode(bytes: &[u8]) -> Result<Record> {
        let mut r = Reader::new(bytes);
        let rec = Record::read(&mut r)?;
        r.finish()?;
        Ok(rec)
    }

    /// The record zero-padded to 93 bytes and cut into three 31-byte big-endian field elements
    /// (errs as [`Record::encode`] does).
    pub fn fields(&self) -> Result<[Fr; RECORD_FIELDS]> {
        let mut padded = [0u8; RECORD_PADDED_BYTES];
        let enc = self.encode()?;
        padded[..enc.len()].copy_from_slice(&enc);
        let mut out = [Fr::from(0u64); RECORD_FIELDS];
        for (i, chunk) in padded.chunks(RECORD_FIELD_BYTES).enumerate() {
            out[i] = field::from_be_bytes_short(chunk);
        }
        Ok(out)
    }

    /// What L1 does for this record.
    pub fn onchain_ops(&self) -> Vec<OnchainOp> {
        match *self {
            Record::Noop | Record::Transfer { .. } => vec![],
            Record::Deposit(d) => vec![OnchainOp::ConsumeRequest {
                request: L1Request::Deposit(d),
            }],
            Record::Withdraw {
                from,
                token,
                amount,
                ..
            } => {
                vec![OnchainOp::Withdrawal {
                    account_id: from,
                    token,
                    amount,
                }]
            }
            Record::ForcedExit {
                account_id,
                token,
                amount,
            } => vec![
                OnchainOp::ConsumeRequest {
                    request: L1Request::ForcedExit(ForcedExit { account_id, token }),
                },
                OnchainOp::Withdrawal {
                    account_id,
                    token,
                    amount,
                },
            ],
            Record::ChangeKey(c) => vec![OnchainOp::ConsumeRequest {
                request: L1Request::ChangeKey(c),
            }],
        }
    }
}

/// Decodes a chunk's pubdata: exactly `slots` records, back to back.
pub fn decode_chunk(bytes: &[u8], slots: usize) -> Result<Vec<Record>> {
    let mut r = Reader::new(bytes);
    let mut out = Vec::with_capacity(slots);
    for _ in 0..slots {
        out.push(Record::read(&mut r)?);
    }
    r.finish()?;
    Ok(out)
}

/// Encodes a chunk's records back to back (errs as [`Record::encode`] does).
pub fn encode_chunk(records: &[Record]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for r in records {
        r.encode_into(&mut out)?;
    }
    Ok(out)
}

/// The data elements of a chunk: the fields of every record, in order (what its data binding
/// covers).
pub fn data_elements(records: &[Record]) -> Result<Vec<Fr>> {
    let mut out = Vec::with_capacity(RECORD_FIELDS * records.len());
    for r in records {
        out.extend(r.fields()?);
    }
    Ok(out)
}

/// The data elements of a chunk's bytes as L1 reads them: each record found by its type byte and
/// length alone ([`record_len`]), zero-padded to 93 bytes and cut into three 31-byte elements. For
/// well-formed records this is [`data_elements`] of the decoded chunk; unlike decoding it never looks
/// inside a record, so it accepts every chunk `commitBatch` accepts (a committed chunk whose records
/// do not decode can never be proven, but it must not stop a reader of L1 either).
pub fn chunk_elements(bytes: &[u8], slots: usize) -> Result<Vec<Fr>> {
    let mut out = Vec::with_capacity(RECORD_FIELDS * slots);
    let mut offset = 0;
    for _ in 0..slots {
        let ty = bytes
            .get(offset)
            .ok_or_else(|| Error::Decode(format!("chunk ends before its {slots} records")))?;
        let ty = TxType::from_byte(*ty)
            .ok_or_else(|| Error::Decode(format!("unknown record type {ty} at byte {offset}")))?;
        let record = bytes
            .get(offset..offset + record_len(ty))
            .ok_or_else(|| Error::Decode(format!("truncated {ty:?} record at byte {offset}")))?;
        let mut padded = [0u8; RECORD_PADDED_BYTES];
        padded[..record.len()].copy_from_slice(record);
        out.extend(
            padded
                .chunks(RECORD_FIELD_BYTES)
                .map(field::from_be_bytes_short),
        );
        offset += record.len();
    }
    if offset != bytes.len() {
        return Err(Error::Decode(format!(
            "{} trailing bytes after {slots} records",
            bytes.len() - offset
        )));
    }
    Ok(out)
}

/// The data commitment of a chunk: `Poseidon(TAG_DATA; fields of every record, in order)`.
pub fn data_commitment(records: &[Record]) -> Result<Fr> {
    Ok(hash(TAG_DATA, &data_elements(records)?))
}

fn put_account(out: &mut Vec<u8>, id: AccountId) -> Result<()> {
    if u64::from(id) >= MAX_ACCOUNTS {
        return Err(Error::UnknownAccount { account: id });
    }
    out.extend_from_slice(&id.to_be_bytes()[4 - ACCOUNT_BYTES..]);
    Ok(())
}

fn put_float(out: &mut Vec<u8>, format: FloatFormat, what: &'static str, v: u128) -> Result<()> {
    let packed = format.pack(v).ok_or(Error::Unrepresentable {
        what,
        value: v,
        nearest: format.round_down(v),
    })?;
    out.extend_from_slice(&packed.to_be_bytes()[8 - format.bytes()..]);
    Ok(())
}

/// Bits of a challenge: `z < 2²⁵³`, so that `z` is canonical in BN254's scalar field and in
/// BLS12-381's (the field of blobs) at once, where the batch proof evaluates at it.
pub const CHALLENGE_BITS: usize = 253;

/// The challenge of a data binding: `keccak256(keccak256(pubdata) ‖ commitment)` read as a
/// big-endian integer, its top three bits cleared (below `2²⁵³`: [`CHALLENGE_BITS`]). It depends on
/// the bytes L1 received and on the commitment the proof is bound to, so it is drawn after both are
/// fixed. A batch's challenge is this over the batch's pubdata (its chunks back to back) and `C_B`.
pub fn data_challenge(pubdata: &[u8], commitment: &Fr) -> Fr {
    let mut preimage = [0u8; 64];
    preimage[..32].copy_from_slice(keccak256(pubdata).as_slice());
    preimage[32..].copy_from_slice(&field::to_be_bytes(commitment));
    challenge_of(keccak256(preimage).0)
}

/// A keccak output as a challenge: its top three bits cleared, read big-endian.
fn challenge_of(mut digest: [u8; 32]) -> Fr {
    digest[0] &= 0xff >> (256 - CHALLENGE_BITS);
    // Below 2^253 < r: canonical.
    field::from_u256(alloy_primitives::U256::from_be_bytes(digest)).unwrap_or_default()
}

/// `Σ eᵢ · zⁱ` over the field (Horner's rule): the data elements read as a polynomial's
/// coefficients, lowest degree first, evaluated at `z`.
pub fn evaluate(elements: &[Fr], z: &Fr) -> Fr {
    elements.iter().rev().fold(Fr::ZERO, |acc, e| acc * z + e)
}

/// What binds a chunk proof to the data L1 received (`docs/protocol.md`, section 7): the
/// Poseidon commitment to the records, the challenge drawn from the pubdata and the commitment,
/// and the records' evaluation at the challenge. L1 computes the last two from the calldata; the
/// circuit proves the first and the last from the records it executes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataBinding {
    /// `C`: the Poseidon commitment to the data elements ([`data_commitment`]).
    #[serde(with = "field::serde_hex")]
    pub commitment: Fr,
    /// `z`: [`data_challenge`].
    #[serde(with = "field::serde_hex")]
    pub challenge: Fr,
    /// `y`: the data elements evaluated at `z` ([`evaluate`]).
    #[serde(with = "field::serde_hex")]
    pub evaluation: Fr,
}

impl DataBinding {
    /// The binding of a chunk of `records` (errs as [`Record::encode`] does).
    pub fn of(records: &[Record]) -> Result<DataBinding> {
        let elements = data_elements(records)?;
        let commitment = hash(TAG_DATA, &elements);
        let challenge = data_challenge(&encode_chunk(records)?, &commitment);
        Ok(DataBinding {
            commitment,
            challenge,
            evaluation: evaluate(&elements, &challenge),
        })
    }
}

/// What binds a batch proof to the data L1 received (`docs/protocol.md`, section 7, "Batches"): the
/// chain of its chunks' data commitments, one challenge drawn from the batch's pubdata and the chain,
/// and two evaluations at it: of the records L1 acts on, over BN254's field, and of the blob
/// polynomial of the whole pubdata, over BLS12-381's. Each chunk proof is made for its own
/// commitment and evaluation at the batch's challenge ([`BatchBinding::chunk`]); the batch circuit
/// ties its records to them and computes both evaluations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchBinding {
    /// `C_B`: [`batch_commitment`] of the chunks' data commitments.
    #[serde(with = "field::serde_hex")]
    pub commitment: Fr,
    /// `z`: [`data_challenge`] of the batch's pubdata and `C_B`.
    #[serde(with = "field::serde_hex")]
    pub challenge: Fr,
    /// `Y_L1`: [`l1_evaluation`] of the batch's records at `z`.
    #[serde(with = "field::serde_hex")]
    pub l1_evaluation: Fr,
    /// `y`: the blob polynomial of the batch's pubdata at `z`
    /// ([`crate::blob::evaluate_pubdata`]).
    #[serde(with = "crate::blob::serde_hex")]
    pub blob_evaluation: BlsFr,
}

/// `Y_L1`: the data elements of a batch's records, chunk after chunk, those of a record L1 does not
/// act on ([`TxType::acts_on_l1`]: transfers and noops) counted as zeros, evaluated at `z`: the record in
/// slot `t` of the batch (counting from 0 across its chunks) contributes
/// `(f₀ + f₁·z + f₂·z²)·z^(3t)` if L1 acts on it.
pub fn l1_evaluation(records: &[Record], z: &Fr) -> Result<Fr> {
    let encoded = records
        .iter()
        .map(Record::encode)
        .collect::<Result<Vec<_>>>()?;
    let listed: Vec<(usize, &[u8])> = encoded
        .iter()
        .enumerate()
        .filter(|(_, r)| acts_on_l1(r))
        .map(|(slot, r)| (slot, r.as_slice()))
        .collect();
    Ok(l1_evaluation_of(&listed, z))
}

/// A batch's pubdata cut into its records' bytes by type bytes and lengths alone, as L1 reads it
/// ([`record_len`]): it never looks inside a record, so it accepts every pubdata `commitBatch`
/// accepts (a committed batch whose records do not decode can never be proven, but it must not
/// stop a reader of L1 either).
pub fn split_records(pubdata: &[u8]) -> Result<Vec<&[u8]>> {
    let mut out = Vec::new();
    let mut offset = 0;
    while offset < pubdata.len() {
        let ty = pubdata[offset];
        let ty = TxType::from_byte(ty)
            .ok_or_else(|| Error::Decode(format!("unknown record type {ty} at byte {offset}")))?;
        let record = pubdata
            .get(offset..offset + record_len(ty))
            .ok_or_else(|| Error::Decode(format!("truncated {ty:?} record at byte {offset}")))?;
        out.push(record);
        offset += record.len();
    }
    Ok(out)
}

/// A batch's pubdata cut into chunks of `slots` records ([`split_records`]); errs unless the records
/// fill whole chunks.
pub fn split_chunks(pubdata: &[u8], slots: usize) -> Result<Vec<&[u8]>> {
    let records = split_records(pubdata)?;
    if slots == 0 || records.len() % slots != 0 {
        return Err(Error::Decode(format!(
            "{} records do not fill whole chunks of {slots}",
            records.len()
        )));
    }
    let mut out = Vec::with_capacity(records.len() / slots);
    let mut offset = 0;
    for chunk in records.chunks(slots) {
        let len: usize = chunk.iter().map(|r| r.len()).sum();
        out.push(&pubdata[offset..offset + len]);
        offset += len;
    }
    Ok(out)
}

/// A batch's chunks of `slots` records from the data its blob holds ([`crate::blob::pubdata_of_blob`]:
/// the pubdata, then zero bytes to the blob's end), read as L1 data is read ([`split_records`]). The
/// zero padding reads as Noop records, so the chunks end with the last chunk that holds a record other
/// than a Noop (at least one chunk), completed with Noops where the blob ends inside it. Noops change
/// nothing, so the records applied, and the state, are the batch's; only a batch whose last chunks hold
/// nothing but Noops comes back with fewer chunks than it was proven with.
///
/// A record that the blob's end cuts off is completed with zero bytes: the batch proof's stream of
/// words equals the blob's polynomial, so every word past the blob is zero (`docs/protocol.md`,
/// section 6), and a record whose last bytes are zero (a fee of 0) may end a batch that fills a blob.
pub fn split_blob_chunks(data: &[u8], slots: usize) -> Result<Vec<Vec<u8>>> {
    if slots == 0 {
        return Err(Error::Decode("a chunk holds at least one slot".into()));
    }
    // The zeros past the blob's end, as many as a record cut off at its type byte needs; any left
    // over read as Noops, dropped below with the blob's own padding.
    let data: Vec<u8> = data
        .iter()
        .copied()
        .chain(std::iter::repeat_n(0, MAX_RECORD_LEN - 1))
        .collect();
    let records = split_records(&data)?;
    let used = records
        .iter()
        .rposition(|r| r.first() != Some(&(TxType::Noop as u8)))
        .map_or(0, |last| last + 1);
    let chunks = used.div_ceil(slots).max(1);
    let noop = [TxType::Noop as u8];
    Ok((0..chunks)
        .map(|c| {
            (c * slots..(c + 1) * slots)
                .flat_map(|i| records.get(i).copied().unwrap_or(&noop[..]))
                .copied()
                .collect()
        })
        .collect())
}

/// The binding L1 computes at commit from a batch's `pubdata` and the sequencer's `commitment`,
/// reading records by type bytes and lengths only ([`split_records`]): the challenge, `Y_L1` and the
/// blob polynomial at the challenge. For the pubdata of well-formed records this is
/// [`BatchBinding::of`] (with the records' own commitment).
pub fn l1_binding(pubdata: &[u8], commitment: Fr) -> Result<BatchBinding> {
    let challenge = data_challenge(pubdata, &commitment);
    let listed = listed_records(pubdata)?;
    Ok(BatchBinding {
        commitment,
        challenge,
        l1_evaluation: l1_evaluation_of(&listed, &challenge),
        blob_evaluation: crate::blob::evaluate_pubdata(pubdata, &challenge)?,
    })
}

/// Whether L1 acts on the record whose bytes are `record` (by its type byte).
fn acts_on_l1(record: &[u8]) -> bool {
    record
        .first()
        .and_then(|t| TxType::from_byte(*t))
        .is_some_and(TxType::acts_on_l1)
}

/// The records of `pubdata` L1 acts on, with their slots in the batch.
fn listed_records(pubdata: &[u8]) -> Result<Vec<(usize, &[u8])>> {
    Ok(split_records(pubdata)?
        .into_iter()
        .enumerate()
        .filter(|(_, r)| acts_on_l1(r))
        .collect())
}

/// `Y_L1` of records L1 acts on, given with their slots: `Σ (f₀ + f₁·z + f₂·z²)·z^(3·slot)`, each
/// record zero-padded to 93 bytes and cut into three elements. The one definition of `Y_L1`'s terms:
/// [`l1_evaluation`] is this over every slot of the batch, the others contributing nothing.
fn l1_evaluation_of(records: &[(usize, &[u8])], z: &Fr) -> Fr {
    let z3 = *z * z * z;
    records.iter().fold(Fr::ZERO, |acc, (slot, record)| {
        let mut padded = [0u8; RECORD_PADDED_BYTES];
        let len = record.len().min(RECORD_PADDED_BYTES);
        padded[..len].copy_from_slice(&record[..len]);
        let elements: Vec<Fr> = padded
            .chunks(RECORD_FIELD_BYTES)
            .map(field::from_be_bytes_short)
            .collect();
        acc + evaluate(&elements, z) * z3.pow_vartime([*slot as u64])
    })
}

/// Bytes of a slot index in a blob batch's list of the records L1 acts on.
pub const SLOT_INDEX_BYTES: usize = 3;

/// The records L1 acts on in a batch's `pubdata`, listed as a blob commit takes them (L1 does not
/// see the blob's bytes): each as its slot in the batch (3 bytes, big-endian, counting from 0 across
/// its chunks) followed by its bytes, in slot order.
pub fn l1_list(pubdata: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for (slot, record) in listed_records(pubdata)? {
        let slot = u32::try_from(slot)
            .ok()
            .filter(|s| *s < 1 << (8 * SLOT_INDEX_BYTES))
            .ok_or_else(|| Error::Decode(format!("slot {slot} does not fit 3 bytes")))?;
        out.extend_from_slice(&slot.to_be_bytes()[4 - SLOT_INDEX_BYTES..]);
        out.extend_from_slice(record);
    }
    Ok(out)
}

/// Reads a list [`l1_list`] writes, as `commitBatchBlob` does: each entry a slot and a whole record
/// of a type L1 acts on, the slots strictly increasing.
pub fn read_l1_list(list: &[u8]) -> Result<Vec<(usize, &[u8])>> {
    let mut out: Vec<(usize, &[u8])> = Vec::new();
    let mut offset = 0;
    while offset < list.len() {
        let slot = list
            .get(offset..offset + SLOT_INDEX_BYTES)
            .ok_or_else(|| Error::Decode(format!("a slot index cut short at byte {offset}")))?;
        let slot = slot.iter().fold(0usize, |s, b| s << 8 | usize::from(*b));
        let at = offset + SLOT_INDEX_BYTES;
        let ty = list
            .get(at)
            .and_then(|t| TxType::from_byte(*t))
            .filter(|t| t.acts_on_l1())
            .ok_or_else(|| {
                Error::Decode(format!("byte {at}: not a record of a type L1 acts on"))
            })?;
        let record = list
            .get(at..at + record_len(ty))
            .ok_or_else(|| Error::Decode(format!("truncated {ty:?} record at byte {at}")))?;
        if out.last().is_some_and(|(last, _)| *last >= slot) {
            return Err(Error::Decode(format!(
                "slot {slot} at byte {offset} is not after the one before"
            )));
        }
        out.push((slot, record));
        offset = at + record.len();
    }
    Ok(out)
}

/// The challenge of a batch posted in a blob: `keccak256(versioned_hash ‖ keccak256(list) ‖ C_B)`,
/// its top three bits cleared (as [`data_challenge`]). The versioned hash fixes the blob, the list
/// the records L1 acts on, both before the challenge is drawn.
pub fn blob_challenge(versioned_hash: &[u8; 32], list: &[u8], commitment: &Fr) -> Fr {
    let mut preimage = [0u8; 96];
    preimage[..32].copy_from_slice(versioned_hash);
    preimage[32..64].copy_from_slice(keccak256(list).as_slice());
    preimage[64..].copy_from_slice(&field::to_be_bytes(commitment));
    challenge_of(keccak256(preimage).0)
}

/// The binding L1 computes at a blob commit from the `list` of records it acts on ([`l1_list`]),
/// the blob's versioned hash, the sequencer's commitment and the blob evaluation `y` the sequencer
/// supplies (and the point evaluation precompile checks against the blob).
pub fn l1_blob_binding(
    versioned_hash: &[u8; 32],
    list: &[u8],
    commitment: Fr,
    blob_evaluation: BlsFr,
) -> Result<BatchBinding> {
    let challenge = blob_challenge(versioned_hash, list, &commitment);
    Ok(BatchBinding {
        commitment,
        challenge,
        l1_evaluation: l1_evaluation_of(&read_l1_list(list)?, &challenge),
        blob_evaluation,
    })
}

/// The chain of a batch's chunk commitments: `h₀ = 0`, `hᵢ = hash2(TAG_BATCH, hᵢ₋₁, Cᵢ)`, the last
/// link is `C_B`. The chain fixes the commitments and their number (a shorter chain ending at the same
/// value would be a collision or a preimage of the hash).
pub fn batch_commitment(commitments: &[Fr]) -> Fr {
    commitments
        .iter()
        .fold(Fr::ZERO, |h, c| crate::poseidon::hash2(TAG_BATCH, h, *c))
}

impl BatchBinding {
    /// The binding of a batch of chunks of `records` (errs as [`Record::encode`] does, on an empty
    /// batch, or on pubdata that does not fit a blob).
    pub fn of(chunks: &[&[Record]]) -> Result<BatchBinding> {
        if chunks.is_empty() {
            return Err(Error::Decode("a batch holds at least one chunk".into()));
        }
        let mut commitments = Vec::with_capacity(chunks.len());
        let mut pubdata = Vec::new();
        for records in chunks {
            commitments.push(data_commitment(records)?);
            pubdata.extend(encode_chunk(records)?);
        }
        let commitment = batch_commitment(&commitments);
        BatchBinding::at(chunks, commitment, data_challenge(&pubdata, &commitment))
    }

    /// The binding of a batch of chunks of `records` posted in the blob whose versioned hash is
    /// `versioned_hash` (its pubdata's blob, `rollup_l1::blob` computes it): the challenge is
    /// [`blob_challenge`] over the batch's [`l1_list`].
    pub fn of_blob(chunks: &[&[Record]], versioned_hash: &[u8; 32]) -> Result<BatchBinding> {
        let mut commitments = Vec::with_capacity(chunks.len());
        let mut pubdata = Vec::new();
        for records in chunks {
            commitments.push(data_commitment(records)?);
            pubdata.extend(encode_chunk(records)?);
        }
        let commitment = batch_commitment(&commitments);
        let challenge = blob_challenge(versioned_hash, &l1_list(&pubdata)?, &commitment);
        BatchBinding::at(chunks, commitment, challenge)
    }

    /// The binding with commitment `commitment` and challenge `challenge` of a batch of chunks of
    /// `records`: the evaluations at `challenge`, whatever it is (the batch circuit's rules, which
    /// take the challenge the chunk proofs carry).
    pub fn at(chunks: &[&[Record]], commitment: Fr, challenge: Fr) -> Result<BatchBinding> {
        let records: Vec<Record> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
        let pubdata = encode_chunk(&records)?;
        Ok(BatchBinding {
            commitment,
            challenge,
            l1_evaluation: l1_evaluation(&records, &challenge)?,
            blob_evaluation: crate::blob::evaluate_pubdata(&pubdata, &challenge)?,
        })
    }

    /// The batch proof's public inputs after its accumulator, for a batch from `old_root` to
    /// `new_root`: `old_root, new_root, C_B, z, Y_L1, y_lo, y_hi` ([`crate::blob::halves`]).
    pub fn public_inputs(&self, old_root: Fr, new_root: Fr) -> [Fr; BATCH_INPUTS] {
        let [lo, hi] = crate::blob::halves(&self.blob_evaluation);
        [
            old_root,
            new_root,
            self.commitment,
            self.challenge,
            self.l1_evaluation,
            lo,
            hi,
        ]
    }

    /// The binding a chunk proof of `records` is made for in this batch: the chunk's own
    /// commitment and evaluation, at the batch's challenge.
    pub fn chunk(&self, records: &[Record]) -> Result<DataBinding> {
        let elements = data_elements(records)?;
        Ok(DataBinding {
            commitment: hash(TAG_DATA, &elements),
            challenge: self.challenge,
            evaluation: evaluate(&elements, &self.challenge),
        })
    }
}

impl Tx {
    /// The wire encoding (see the module docs); errs as [`Record::encode`] does.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        match *self {
            Tx::Noop => Record::Noop.encode_into(&mut out)?,
            Tx::Deposit(d) => Record::Deposit(d).encode_into(&mut out)?,
            Tx::ChangeKey(c) => Record::ChangeKey(c).encode_into(&mut out)?,
            Tx::ForcedExit(f) => {
                out.push(TxType::ForcedExit as u8);
                put_account(&mut out, f.account_id)?;
                out.push(f.token);
            }
            Tx::Transfer { tx, sig } => {
                Record::Transfer {
                    from: tx.from,
                    to: tx.to,
                    token: tx.token,
                    amount: tx.amount,
                    fee: tx.fee,
                }
                .encode_into(&mut out)?;
                out.extend_from_slice(&tx.nonce.to_be_bytes());
                out.extend_from_slice(&sig.to_bytes());
            }
            Tx::Withdraw { tx, sig } => {
                Record::Withdraw {
                    from: tx.from,
                    token: tx.token,
                    amount: tx.amount,
                    fee: tx.fee,
                }
                .encode_into(&mut out)?;
                out.extend_from_slice(&tx.nonce.to_be_bytes());
                out.extend_from_slice(&sig.to_bytes());
            }
        }
        Ok(out)
    }

    /// Decodes the wire encoding; errs on any malformed, truncated or over-long input.
    pub fn decode(bytes: &[u8]) -> Result<Tx> {
        let mut r = Reader::new(bytes);
        let tx = match r.tx_type()? {
            TxType::Noop => Tx::Noop,
            TxType::ForcedExit => Tx::ForcedExit(ForcedExit {
                account_id: r.account()?,
                token: r.u8()?,
            }),
            ty => {
                let mut head = Reader::new(bytes);
                let len = Record::encoded_len(ty);
                let rec = Record::read(&mut Reader::new(bytes.get(..len).ok_or_else(|| {
                    Error::Decode(format!("truncated: a {ty:?} needs at least {len} bytes"))
                })?))?;
                head.pos = len;
                r = head;
                match rec {
                    Record::Deposit(d) => Tx::Deposit(d),
                    Record::ChangeKey(c) => Tx::ChangeKey(c),
                    Record::Transfer {
                        from,
                        to,
                        token,
                        amount,
                        fee,
                    } => {
                        let nonce = r.u32()?;
                        Tx::Transfer {
                            tx: Transfer {
                                from,
                                to,
                                token,
                                amount,
                                fee,
                                nonce,
                            },
                            sig: r.signature()?,
                        }
                    }
                    Record::Withdraw {
                        from,
                        token,
                        amount,
                        fee,
                    } => {
                        let nonce = r.u32()?;
                        Tx::Withdraw {
                            tx: Withdraw {
                                from,
                                token,
                                amount,
                                fee,
                                nonce,
                            },
                            sig: r.signature()?,
                        }
                    }
                    Record::Noop | Record::ForcedExit { .. } => {
                        return Err(Error::Decode("unreachable record type".into()));
                    }
                }
            }
        };
        r.finish()?;
        Ok(tx)
    }
}
