//! EIP-4844 blobs on the L1 side: a blob's KZG commitment and versioned hash recomputed locally
//! (c-kzg with Ethereum's trusted setup, through alloy), so that whoever reads a blob from anywhere
//! checks it against the versioned hash L1 holds before using a byte of it; and the sidecar of a
//! blob transaction built from a batch's pubdata in this rollup's encoding
//! (`rollup_protocol::blob`).

use alloy::consensus::BlobTransactionSidecar;
use alloy::eips::eip4844::c_kzg::{Blob, KzgSettings};
use alloy::eips::eip4844::env_settings::EnvKzgSettings;
use alloy::eips::eip4844::kzg_to_versioned_hash;
use alloy::eips::eip7594::BlobTransactionSidecarEip7594;
use alloy::primitives::B256;
use rollup_protocol::blob::{BYTES_PER_BLOB, blob_of_pubdata};

/// Why a blob could not be committed to.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// Not a blob: the wrong size, or an element not below the modulus.
    #[error("not a blob: {0}")]
    Malformed(String),
    /// The pubdata does not fit this rollup's blob encoding.
    #[error(transparent)]
    Encoding(#[from] rollup_protocol::Error),
}

/// Ethereum's KZG settings (the trusted setup shipped with c-kzg).
pub fn kzg_settings() -> &'static KzgSettings {
    EnvKzgSettings::Default.get()
}

/// The versioned hash of `blob`: `0x01 ‖ sha256(commitment)[1..]`, the commitment computed here.
pub fn versioned_hash(blob: &[u8]) -> Result<B256, BlobError> {
    if blob.len() != BYTES_PER_BLOB {
        return Err(BlobError::Malformed(format!(
            "{} bytes, a blob is {BYTES_PER_BLOB}",
            blob.len()
        )));
    }
    let blob = Blob::from_bytes(blob).map_err(|e| BlobError::Malformed(e.to_string()))?;
    let commitment = kzg_settings()
        .blob_to_kzg_commitment(&blob)
        .map_err(|e| BlobError::Malformed(e.to_string()))?;
    Ok(kzg_to_versioned_hash(commitment.as_slice()))
}

/// What `commitBatchBlob` takes to check a blob's polynomial at a challenge with the point
/// evaluation precompile: the blob's KZG commitment and versioned hash, `y = p(z)` and the KZG
/// proof of that opening.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opening {
    /// The blob's versioned hash.
    pub versioned_hash: B256,
    /// Its KZG commitment (48 bytes, compressed G1).
    pub commitment: [u8; 48],
    /// `p(z)`, 32 bytes big-endian, below BLS12-381's scalar modulus.
    pub y: [u8; 32],
    /// The KZG proof that `p(z) = y` (48 bytes, compressed G1).
    pub proof: [u8; 48],
}

/// The opening at `z` of the blob holding `pubdata` (`rollup_protocol::blob`): `z` is the batch's
/// challenge, below `2²⁵³`, the same integer in BLS12-381's scalar field. `y` is
/// `rollup_protocol::blob::evaluate_pubdata(pubdata, z)` (c-kzg computes it from the blob's
/// evaluations; a test checks that they agree).
pub fn opening(pubdata: &[u8], z: &rollup_protocol::Fr) -> Result<Opening, BlobError> {
    let blob = Blob::from_bytes(&blob_of_pubdata(pubdata)?)
        .map_err(|e| BlobError::Malformed(e.to_string()))?;
    let settings = kzg_settings();
    let commitment = settings
        .blob_to_kzg_commitment(&blob)
        .map_err(|e| BlobError::Malformed(e.to_string()))?;
    let point = rollup_protocol::blob::bls_to_be(&rollup_protocol::blob::embed(z));
    let (proof, y) = settings
        .compute_kzg_proof(&blob, &point.into())
        .map_err(|e| BlobError::Malformed(e.to_string()))?;
    let mut out = Opening {
        versioned_hash: kzg_to_versioned_hash(commitment.as_slice()),
        commitment: [0; 48],
        y: [0; 32],
        proof: [0; 48],
    };
    out.commitment.copy_from_slice(commitment.as_slice());
    out.y.copy_from_slice(y.as_slice());
    out.proof.copy_from_slice(proof.as_slice());
    Ok(out)
}

/// The sidecar of a transaction posting `pubdata` in one blob, in the format L1 takes since
/// Fusaka (EIP-7594: the commitment and the 128 cell proofs of the extended blob, for peer
/// sampling), which anvil takes too.
pub fn sidecar_7594(pubdata: &[u8]) -> Result<BlobTransactionSidecarEip7594, BlobError> {
    let blob = alloy::eips::eip4844::Blob::try_from(blob_of_pubdata(pubdata)?.as_slice())
        .map_err(|e| BlobError::Malformed(e.to_string()))?;
    BlobTransactionSidecarEip7594::try_from_blobs_with_settings(vec![blob], kzg_settings())
        .map_err(|e| BlobError::Malformed(e.to_string()))
}

/// The sidecar of a transaction posting `pubdata` in one blob, in the EIP-4844 format (the
/// commitment and one blob proof), as L1 took it before Fusaka.
pub fn sidecar(pubdata: &[u8]) -> Result<BlobTransactionSidecar, BlobError> {
    let blob = alloy::eips::eip4844::Blob::try_from(blob_of_pubdata(pubdata)?.as_slice())
        .map_err(|e| BlobError::Malformed(e.to_string()))?;
    BlobTransactionSidecar::try_from_blobs_with_settings(vec![blob], kzg_settings())
        .map_err(|e| BlobError::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_opening_is_the_cores_evaluation_and_verifies() -> Result<(), Box<dyn std::error::Error>>
    {
        let pubdata = b"\x02some records".repeat(50);
        let z = rollup_protocol::codec::data_challenge(&pubdata, &rollup_protocol::Fr::from(7u64));
        let o = opening(&pubdata, &z)?;
        let y = rollup_protocol::blob::evaluate_pubdata(&pubdata, &z)?;
        assert_eq!(o.y, rollup_protocol::blob::bls_to_be(&y));
        assert_eq!(
            o.versioned_hash,
            versioned_hash(&blob_of_pubdata(&pubdata)?)?
        );
        let point = rollup_protocol::blob::bls_to_be(&rollup_protocol::blob::embed(&z));
        let ok = kzg_settings().verify_kzg_proof(
            &alloy::eips::eip4844::c_kzg::Bytes48::from(o.commitment),
            &point.into(),
            &o.y.into(),
            &alloy::eips::eip4844::c_kzg::Bytes48::from(o.proof),
        )?;
        assert!(ok);
        Ok(())
    }

    #[test]
    fn the_sidecar_commits_to_the_blob_whose_versioned_hash_is_recomputed() -> Result<(), BlobError>
    {
        let pubdata = b"\x02some records".repeat(50);
        let sidecar = sidecar(&pubdata)?;
        let hashes: Vec<B256> = sidecar.versioned_hashes().collect();
        assert_eq!(hashes.len(), 1);
        let peer_das: Vec<B256> = sidecar_7594(&pubdata)?.versioned_hashes().collect();
        assert_eq!(peer_das, hashes, "both formats commit to the same blob");
        let blob = blob_of_pubdata(&pubdata)?;
        assert_eq!(versioned_hash(&blob)?, hashes[0]);
        assert_eq!(hashes[0][0], 1, "version byte");
        let mut other = blob.clone();
        other[40] ^= 1;
        assert_ne!(versioned_hash(&other)?, hashes[0]);
        assert!(versioned_hash(&blob[1..]).is_err());
        let mut high = blob;
        high[..32].fill(0xff);
        assert!(
            versioned_hash(&high).is_err(),
            "an element above the modulus"
        );
        Ok(())
    }
}
