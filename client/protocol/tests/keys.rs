//! L2 keys derived from real L1 (secp256k1, EIP-191) signatures.

use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use rollup_protocol::constants::L2_KEY_MESSAGE;
use rollup_protocol::eddsa::{SecretKey, verify};
use rollup_protocol::{Fr, Result};

fn l1_signer(n: u8) -> Result<PrivateKeySigner, Box<dyn std::error::Error>> {
    Ok(PrivateKeySigner::from_slice(&[n; 32])?)
}

#[test]
fn derivation_is_deterministic_and_per_signer() -> Result<(), Box<dyn std::error::Error>> {
    let alice = l1_signer(1)?;
    let sig1 = alice.sign_message_sync(L2_KEY_MESSAGE.as_bytes())?;
    let sig2 = alice.sign_message_sync(L2_KEY_MESSAGE.as_bytes())?;
    let k1 = SecretKey::from_l1_signature(&sig1.as_bytes())?;
    let k2 = SecretKey::from_l1_signature(&sig2.as_bytes())?;
    assert_eq!(k1.public(), k2.public(), "RFC 6979 signatures give one key");
    let bob = l1_signer(2)?;
    let kb = SecretKey::from_l1_signature(
        &bob.sign_message_sync(L2_KEY_MESSAGE.as_bytes())?.as_bytes(),
    )?;
    assert_ne!(k1.public(), kb.public());
    let msg = Fr::from(99u64);
    assert!(verify(&k1.public(), msg, &k1.sign(msg)));
    Ok(())
}

#[test]
fn high_s_encoding_derives_the_same_key() -> Result<(), Box<dyn std::error::Error>> {
    let sig = l1_signer(3)?.sign_message_sync(L2_KEY_MESSAGE.as_bytes())?;
    let low = sig.as_bytes();
    // The same signature with s' = n - s and the other parity.
    let n = alloy_primitives::U256::from_str_radix(
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
        16,
    )?;
    let s = alloy_primitives::U256::from_be_slice(&low[32..64]);
    let mut high = low;
    high[32..64].copy_from_slice(&(n - s).to_be_bytes::<32>());
    high[64] = if low[64] == 27 { 28 } else { 27 };
    assert_eq!(
        SecretKey::from_l1_signature(&low)?.public(),
        SecretKey::from_l1_signature(&high)?.public()
    );
    Ok(())
}

#[test]
fn malformed_signatures_are_rejected() {
    assert!(SecretKey::from_l1_signature(&[0u8; 64]).is_err());
    assert!(SecretKey::from_l1_signature(&[0u8; 65]).is_err());
    let mut bad_v = [1u8; 65];
    bad_v[64] = 5;
    assert!(SecretKey::from_l1_signature(&bad_v).is_err());
}
