//! Proof tasks and artifacts as bytes: what the proof queue (`rollup-prover-queue`) carries between
//! a coordinator and prover workers on other machines, and the form the operator stores artifacts
//! in. JSON, with field elements, proofs and key digests as hex, so that a row stays readable with
//! any JSON tool; decoding checks every field element is canonical and every array its length.

use rollup_circuits::Fr;
use rollup_circuits::batch::{BATCH_INPUTS, CHUNK_INPUTS};
use rollup_protocol::Chunk;
use rollup_protocol::codec::Record;
use rollup_protocol::field;
use serde::{Deserialize, Serialize};

use crate::node::NodeRecords;
use crate::{ProofArtifact, ProofKind, ProofTask, ProverError, Result};

fn bad(what: impl std::fmt::Display) -> ProverError {
    ProverError::Wire(what.to_string())
}

fn hex_bytes(s: &str) -> Result<Vec<u8>> {
    alloy_primitives::hex::decode(s).map_err(|e| bad(format!("hex: {e}")))
}

fn fr(s: &str) -> Result<Fr> {
    field::from_hex(s).map_err(bad)
}

fn frs<const N: usize>(xs: &[String]) -> Result<[Fr; N]> {
    let v = xs.iter().map(|x| fr(x)).collect::<Result<Vec<_>>>()?;
    v.try_into()
        .map_err(|v: Vec<Fr>| bad(format!("{} field elements where {N} belong", v.len())))
}

fn hexes(xs: &[Fr]) -> Vec<String> {
    xs.iter().map(field::to_hex).collect()
}

fn chunk_kind() -> ProofKind {
    ProofKind::Chunk
}

/// A [`ProofArtifact`] as stored and sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireArtifact {
    /// Its kind; absent in the operator's rows written before kinds were stored, which are all L1
    /// chunk proofs.
    #[serde(default = "chunk_kind")]
    pub kind: ProofKind,
    /// The proof bytes, hex.
    pub proof: String,
    /// Its public inputs, `0x…` hex.
    pub public_inputs: Vec<String>,
    /// The digest of the verifying key it verifies against, hex.
    pub vk_digest: String,
}

impl From<&ProofArtifact> for WireArtifact {
    fn from(a: &ProofArtifact) -> WireArtifact {
        WireArtifact {
            kind: a.kind,
            proof: alloy_primitives::hex::encode(&a.proof),
            public_inputs: hexes(&a.public_inputs),
            vk_digest: alloy_primitives::hex::encode(a.vk_digest),
        }
    }
}

impl TryFrom<&WireArtifact> for ProofArtifact {
    type Error = ProverError;

    fn try_from(w: &WireArtifact) -> Result<ProofArtifact> {
        Ok(ProofArtifact {
            kind: w.kind,
            public_inputs: w
                .public_inputs
                .iter()
                .map(|x| fr(x))
                .collect::<Result<_>>()?,
            proof: hex_bytes(&w.proof)?,
            vk_digest: hex_bytes(&w.vk_digest)?
                .try_into()
                .map_err(|_| bad("a key digest is 32 bytes"))?,
        })
    }
}

/// A [`ProofTask`] as sent: `{"<kind>": {...}}`. Externally tagged, not internally (`"task":
/// "<kind>"` inside): serde buffers an internally tagged value before it decodes it, and that
/// buffer has no `u128`, which a chunk's records hold.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", rename_all_fields = "camelCase")]
enum WireTask {
    Chunk {
        index: u64,
        chunk: Box<Chunk>,
    },
    RecursiveChunk {
        index: u64,
        chunk: Box<Chunk>,
    },
    Batch {
        index: u64,
        chunks: Vec<WireArtifact>,
        records: Vec<Vec<Record>>,
        expected: Vec<String>,
        recursive: bool,
    },
    Node {
        batch: u64,
        level: u32,
        position: u32,
        children: Vec<WireArtifact>,
        carried: Vec<Vec<String>>,
        records: NodeRecords,
    },
    Compress {
        index: u64,
        batch: WireArtifact,
        expected: Vec<String>,
    },
}

/// `task` as bytes.
pub fn encode_task(task: &ProofTask) -> Result<Vec<u8>> {
    let wire = match task {
        ProofTask::Chunk { index, chunk } => WireTask::Chunk {
            index: *index,
            chunk: chunk.clone(),
        },
        ProofTask::RecursiveChunk { index, chunk } => WireTask::RecursiveChunk {
            index: *index,
            chunk: chunk.clone(),
        },
        ProofTask::Batch {
            index,
            chunks,
            records,
            expected,
            recursive,
        } => WireTask::Batch {
            index: *index,
            chunks: chunks.iter().map(WireArtifact::from).collect(),
            records: records.clone(),
            expected: hexes(expected),
            recursive: *recursive,
        },
        ProofTask::Node {
            batch,
            level,
            position,
            children,
            carried,
            records,
        } => WireTask::Node {
            batch: *batch,
            level: *level,
            position: *position,
            children: children.iter().map(WireArtifact::from).collect(),
            carried: carried.iter().map(|c| hexes(c)).collect(),
            records: records.as_ref().clone(),
        },
        ProofTask::Compress {
            index,
            batch,
            expected,
        } => WireTask::Compress {
            index: *index,
            batch: WireArtifact::from(batch.as_ref()),
            expected: hexes(expected),
        },
    };
    serde_json::to_vec(&wire).map_err(bad)
}

/// The task `bytes` encode ([`encode_task`]).
pub fn decode_task(bytes: &[u8]) -> Result<ProofTask> {
    let artifacts = |ws: &[WireArtifact]| {
        ws.iter()
            .map(ProofArtifact::try_from)
            .collect::<Result<Vec<_>>>()
    };
    Ok(
        match serde_json::from_slice::<WireTask>(bytes).map_err(bad)? {
            WireTask::Chunk { index, chunk } => ProofTask::Chunk { index, chunk },
            WireTask::RecursiveChunk { index, chunk } => ProofTask::RecursiveChunk { index, chunk },
            WireTask::Batch {
                index,
                chunks,
                records,
                expected,
                recursive,
            } => ProofTask::Batch {
                index,
                chunks: artifacts(&chunks)?,
                records,
                expected: frs::<BATCH_INPUTS>(&expected)?,
                recursive,
            },
            WireTask::Node {
                batch,
                level,
                position,
                children,
                carried,
                records,
            } => ProofTask::Node {
                batch,
                level,
                position,
                children: artifacts(&children)?,
                carried: carried
                    .iter()
                    .map(|c| frs::<CHUNK_INPUTS>(c))
                    .collect::<Result<_>>()?,
                records: Box::new(records),
            },
            WireTask::Compress {
                index,
                batch,
                expected,
            } => ProofTask::Compress {
                index,
                batch: Box::new(ProofArtifact::try_from(&batch)?),
                expected: frs::<BATCH_INPUTS>(&expected)?,
            },
        },
    )
}

/// `artifact` as bytes.
pub fn encode_artifact(artifact: &ProofArtifact) -> Result<Vec<u8>> {
    serde_json::to_vec(&WireArtifact::from(artifact)).map_err(bad)
}

/// The artifact `bytes` encode ([`encode_artifact`]).
pub fn decode_artifact(bytes: &[u8]) -> Result<ProofArtifact> {
    ProofArtifact::try_from(&serde_json::from_slice::<WireArtifact>(bytes).map_err(bad)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(kind: ProofKind, n: u64) -> ProofArtifact {
        ProofArtifact {
            kind,
            public_inputs: vec![Fr::from(n), Fr::from(n + 1)],
            proof: vec![0, 1, 2, n as u8],
            vk_digest: [n as u8; 32],
        }
    }

    #[test]
    fn every_task_and_artifact_round_trips() -> Result<()> {
        let expected: [Fr; BATCH_INPUTS] = std::array::from_fn(|i| Fr::from(i as u64 + 10));
        let carried: [Fr; CHUNK_INPUTS] = std::array::from_fn(|i| Fr::from(i as u64 + 20));
        let chunk = rollup_circuits::sample::full_chunk(2, 7).map_err(bad)?;
        let tasks = [
            ProofTask::RecursiveChunk {
                index: 5,
                chunk: Box::new(chunk.clone()),
            },
            ProofTask::Chunk {
                index: 6,
                chunk: Box::new(chunk),
            },
            ProofTask::Batch {
                index: 3,
                chunks: vec![artifact(ProofKind::RecursiveChunk, 1)],
                records: vec![vec![Record::Noop]],
                expected,
                recursive: true,
            },
            ProofTask::Node {
                batch: 3,
                level: 1,
                position: 2,
                children: vec![
                    artifact(ProofKind::RecursiveChunk, 1),
                    artifact(ProofKind::RecursiveChunk, 2),
                ],
                carried: vec![carried, carried],
                records: Box::new(NodeRecords {
                    records: vec![vec![Record::Noop; 2]; 2],
                    start: rollup_protocol::blob::StreamState::after(&[7; 40]),
                }),
            },
            ProofTask::Compress {
                index: 3,
                batch: Box::new(artifact(ProofKind::RecursiveBatch, 4)),
                expected,
            },
        ];
        for task in &tasks {
            let back = decode_task(&encode_task(task)?)?;
            assert_eq!(format!("{back:?}"), format!("{task:?}"));
        }
        let a = artifact(ProofKind::Compressed, 9);
        assert_eq!(decode_artifact(&encode_artifact(&a)?)?, a);
        Ok(())
    }

    #[test]
    fn malformed_bytes_are_refused_with_what_is_wrong() -> Result<()> {
        let task = ProofTask::Compress {
            index: 3,
            batch: Box::new(artifact(ProofKind::RecursiveBatch, 4)),
            expected: [Fr::from(1u64); BATCH_INPUTS],
        };
        let text = String::from_utf8(encode_task(&task)?).map_err(bad)?;
        // One public input short, a field element past the modulus, a digest of 31 bytes.
        let short = text.replacen(&format!("\"{}\",", field::to_hex(&Fr::from(1u64))), "", 1);
        let big = text.replacen(
            &field::to_hex(&Fr::from(1u64)),
            &format!("0x{}", "ff".repeat(32)),
            1,
        );
        let digest = text.replacen(&"04".repeat(32), &"04".repeat(31), 1);
        for (bytes, what) in [
            (short, "field elements where"),
            (big, "canonical field element"),
            (digest, "32 bytes"),
            ("{\"task\":\"nope\"}".into(), "unknown variant"),
        ] {
            let e = decode_task(bytes.as_bytes())
                .err()
                .ok_or_else(|| bad("accepted"))?;
            assert!(e.to_string().contains(what), "{e}");
        }
        Ok(())
    }
}
