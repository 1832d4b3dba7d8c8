//! Byte encodings: the wire form of transactions (what the L2 RPC accepts) and
//! the pubdata records posted to L1 (what the L1 contract parses and the escape
//! client replays). Every integer is big-endian; every encoding starts with the
//! [`TxType`] byte.
//!
//! | type | pubdata record | bytes |
//! | --- | --- | --- |
//! | Noop | `type` | 1 |
//! | Deposit | `type account:4 owner:20 token:1 amount:16 pubkey:32` | 74 |
//! | Transfer | `type from:4 to:4 token:1 amount:16 fee:16` | 42 |
//! | Withdraw | `type from:4 token:1 amount:16 fee:16` | 38 |
//! | ForcedExit | `type account:4 token:1 amount:16` | 22 |
//! | ChangeKey | `type account:4 pubkey:32` | 37 |
//!
//! The wire form of an L2 transaction appends `nonce:4 signature:64` to its record;
//! the wire form of a forced exit omits the amount (the transition sets it).

use alloy_primitives::Address;
use serde::{Deserialize, Serialize};

use crate::constants::{RECORD_FIELD_BYTES, RECORD_FIELDS, RECORD_PADDED_BYTES, TAG_DATA};
use crate::eddsa::{Point, Signature};
use crate::error::{Error, Result};
use crate::field::{self, Fr};
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

    /// Length of the encoding of a record of type `ty`.
    pub fn encoded_len(ty: TxType) -> usize {
        match ty {
            TxType::Noop => 1,
            TxType::Deposit => 74,
            TxType::Transfer => 42,
            TxType::Withdraw => 38,
            TxType::ForcedExit => 22,
            TxType::ChangeKey => 37,
        }
    }

    /// Appends the encoding to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.push(self.tx_type() as u8);
        match *self {
            Record::Noop => {}
            Record::Deposit(d) => {
                out.extend_from_slice(&d.account_id.to_be_bytes());
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
                out.extend_from_slice(&from.to_be_bytes());
                out.extend_from_slice(&to.to_be_bytes());
                out.push(token);
                out.extend_from_slice(&amount.to_be_bytes());
                out.extend_from_slice(&fee.to_be_bytes());
            }
            Record::Withdraw {
                from,
                token,
                amount,
                fee,
            } => {
                out.extend_from_slice(&from.to_be_bytes());
                out.push(token);
                out.extend_from_slice(&amount.to_be_bytes());
                out.extend_from_slice(&fee.to_be_bytes());
            }
            Record::ForcedExit {
                account_id,
                token,
                amount,
            } => {
                out.extend_from_slice(&account_id.to_be_bytes());
                out.push(token);
                out.extend_from_slice(&amount.to_be_bytes());
            }
            Record::ChangeKey(c) => {
                out.extend_from_slice(&c.account_id.to_be_bytes());
                out.extend_from_slice(&c.pubkey.compress());
            }
        }
    }

    /// The encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::encoded_len(self.tx_type()));
        self.encode_into(&mut out);
        out
    }

    fn read(r: &mut Reader<'_>) -> Result<Record> {
        Ok(match r.tx_type()? {
            TxType::Noop => Record::Noop,
            TxType::Deposit => Record::Deposit(Deposit {
                account_id: r.u32()?,
                owner: r.address()?,
                token: r.u8()?,
                amount: r.u128()?,
                pubkey: r.pubkey()?,
            }),
            TxType::Transfer => Record::Transfer {
                from: r.u32()?,
                to: r.u32()?,
                token: r.u8()?,
                amount: r.u128()?,
                fee: r.u128()?,
            },
            TxType::Withdraw => Record::Withdraw {
                from: r.u32()?,
                token: r.u8()?,
                amount: r.u128()?,
                fee: r.u128()?,
            },
            TxType::ForcedExit => Record::ForcedExit {
                account_id: r.u32()?,
                token: r.u8()?,
                amount: r.u128()?,
            },
            TxType::ChangeKey => Record::ChangeKey(ChangeKey {
                account_id: r.u32()?,
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

    /// The record zero-padded to 93 bytes and cut into three 31-byte big-endian field elements.
    pub fn fields(&self) -> [Fr; RECORD_FIELDS] {
        let mut padded = [0u8; RECORD_PADDED_BYTES];
        let enc = self.encode();
        padded[..enc.len()].copy_from_slice(&enc);
        let mut out = [Fr::from(0u64); RECORD_FIELDS];
        for (i, chunk) in padded.chunks(RECORD_FIELD_BYTES).enumerate() {
            out[i] = field::from_be_bytes_short(chunk);
        }
        out
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

/// Encodes a chunk's records back to back.
pub fn encode_chunk(records: &[Record]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in records {
        r.encode_into(&mut out);
    }
    out
}

/// The data commitment of a chunk: `Poseidon(TAG_DATA; fields of every record, in order)`.
pub fn data_commitment(records: &[Record]) -> Fr {
    let inputs: Vec<Fr> = records.iter().flat_map(|r| r.fields()).collect();
    hash(TAG_DATA, &inputs)
}

impl Tx {
    /// The wire encoding (see the module docs).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match *self {
            Tx::Noop => Record::Noop.encode_into(&mut out),
            Tx::Deposit(d) => Record::Deposit(d).encode_into(&mut out),
            Tx::ChangeKey(c) => Record::ChangeKey(c).encode_into(&mut out),
            Tx::ForcedExit(f) => {
                out.push(TxType::ForcedExit as u8);
                out.extend_from_slice(&f.account_id.to_be_bytes());
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
                .encode_into(&mut out);
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
                .encode_into(&mut out);
                out.extend_from_slice(&tx.nonce.to_be_bytes());
                out.extend_from_slice(&sig.to_bytes());
            }
        }
        out
    }

    /// Decodes the wire encoding; errs on any malformed, truncated or over-long input.
    pub fn decode(bytes: &[u8]) -> Result<Tx> {
        let mut r = Reader::new(bytes);
        let tx = match r.tx_type()? {
            TxType::Noop => Tx::Noop,
            TxType::ForcedExit => Tx::ForcedExit(ForcedExit {
                account_id: r.u32()?,
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
