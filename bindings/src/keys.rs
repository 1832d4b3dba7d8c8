//! Loading the L1 key a command or service signs with: a hex private key, or an encrypted JSON
//! keystore (geth, `cast wallet`, MetaMask export) whose password comes from a file, an
//! environment variable or a prompt on the terminal.

use std::path::{Path, PathBuf};

use alloy::signers::local::PrivateKeySigner;

/// Why no key could be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Neither a key nor a keystore was given.
    #[error(
        "no L1 key: pass --keystore <file> or --private-key, or set {keystore_env} or {key_env}"
    )]
    Missing {
        /// The environment variable of the keystore path.
        keystore_env: String,
        /// The environment variable of the hex key.
        key_env: String,
    },
    /// The hex key does not parse.
    #[error("the private key is not 32 bytes of hex")]
    BadKey,
    /// The password could not be read.
    #[error("no keystore password ({0}): pass --password-file or set {1}")]
    Password(String, String),
    /// The L2 key could not be derived from the L1 key.
    #[error("deriving the L2 key: {0}")]
    Derive(String),
    /// The keystore does not open.
    #[error("cannot open the keystore {path}: wrong password, or not a keystore file ({reason})")]
    Keystore {
        /// The file.
        path: PathBuf,
        /// The cause.
        reason: String,
    },
}

/// Where a key comes from; `env_prefix` names the environment variables (`<PREFIX>_KEYSTORE`,
/// `<PREFIX>_PRIVATE_KEY`, `<PREFIX>_KEYSTORE_PASSWORD`) in the messages and the password lookup.
#[derive(Debug, Clone, Default)]
pub struct KeySource<'a> {
    /// A hex private key.
    pub private_key: Option<&'a str>,
    /// A keystore file.
    pub keystore: Option<&'a Path>,
    /// A file holding the keystore's password.
    pub password_file: Option<&'a Path>,
    /// The environment prefix, such as `ESCAPE` or `OPERATOR`.
    pub env_prefix: &'a str,
}

impl KeySource<'_> {
    /// The signer: the keystore if given (password from the file, the environment or a prompt),
    /// else the hex key.
    pub fn signer(&self) -> Result<PrivateKeySigner, KeyError> {
        let password_env = format!("{}_KEYSTORE_PASSWORD", self.env_prefix);
        if let Some(path) = self.keystore {
            let password = match (self.password_file, std::env::var(&password_env)) {
                (Some(file), _) => std::fs::read_to_string(file)
                    .map_err(|e| {
                        KeyError::Password(format!("{}: {e}", file.display()), password_env.clone())
                    })?
                    .trim_end_matches(['\r', '\n'])
                    .to_string(),
                (None, Ok(p)) => p,
                (None, Err(_)) => {
                    rpassword::prompt_password(format!("password of {}: ", path.display()))
                        .map_err(|e| KeyError::Password(e.to_string(), password_env.clone()))?
                }
            };
            return PrivateKeySigner::decrypt_keystore(path, password).map_err(|e| {
                KeyError::Keystore {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                }
            });
        }
        let key = self.private_key.ok_or_else(|| KeyError::Missing {
            keystore_env: format!("{}_KEYSTORE", self.env_prefix),
            key_env: format!("{}_PRIVATE_KEY", self.env_prefix),
        })?;
        key.parse().map_err(|_| KeyError::BadKey)
    }
}

/// The L2 key a wallet derives from an L1 key: its EIP-191 signature of the fixed key message,
/// through the core's `SecretKey::from_l1_signature` (`docs/protocol.md`, section 4).
pub fn l2_key(signer: &PrivateKeySigner) -> Result<rollup_protocol::eddsa::SecretKey, KeyError> {
    let sig = alloy::signers::SignerSync::sign_message_sync(
        signer,
        rollup_protocol::constants::L2_KEY_MESSAGE.as_bytes(),
    )
    .map_err(|e| KeyError::Derive(e.to_string()))?;
    rollup_protocol::eddsa::SecretKey::from_l1_signature(&sig.as_bytes())
        .map_err(|e| KeyError::Derive(e.to_string()))
}
