//! Deploying through the production Foundry script, `script/Deploy.s.sol`, as tests and tools do:
//! `forge script` against an RPC, then the created contracts read back from its broadcast log.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, Bytes};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;

/// The script's parameters (see `script/Deploy.s.sol`); every one not given is cleared, so that a
/// deployment never depends on the caller's environment.
pub const PARAMS: [&str; 12] = [
    "OWNER",
    "SEQUENCER",
    "TIMELOCK_ADMIN",
    "TIMELOCK_DELAY",
    "VERIFIER",
    "VERIFIER_BYTECODE",
    "VERIFIER_PARAMS",
    "FEE_RECIPIENT",
    "FEE_PUBKEY_X",
    "FEE_PUBKEY_Y",
    "REQUEST_FEE",
    "UNSAFE_ALLOW_FORGEABLE_VERIFIER",
];

/// How long a deployment may take before it is abandoned instead of hanging.
pub const TIMEOUT: Duration = Duration::from_secs(180);

/// Why a deployment failed.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// Running forge or reading its files.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// forge failed or timed out; its output.
    #[error("forge failed ({what}):\n{output}")]
    Forge {
        /// Exit status, or the timeout.
        what: String,
        /// What forge printed.
        output: String,
    },
    /// The broadcast log is not what forge writes.
    #[error("unexpected broadcast log: {0}")]
    Log(String),
    /// A transaction of the deployment failed.
    #[error("{0}")]
    Rpc(String),
}

/// The contracts one deployment created, by contract name (`None` for raw bytecode, such as the
/// generated verifier).
#[derive(Debug, Clone)]
pub struct Deployed(pub Vec<(Option<String>, Address)>);

impl Deployed {
    /// The address of the contract named `name`.
    pub fn address(&self, name: &str) -> Option<Address> {
        self.0
            .iter()
            .find(|(n, _)| n.as_deref() == Some(name))
            .map(|(_, a)| *a)
    }
}

/// Runs `script/Deploy.s.sol` of the repository at `root` against `rpc`, signed with `key_hex`,
/// with the script parameters `params` (the others cleared).
///
/// `--slow` sends each transaction after the previous one is mined: anvil's automine can leave a
/// transaction that arrives while a block is being mined in its pool forever
/// (foundry-rs/foundry#10122).
pub fn deploy(
    root: &Path,
    rpc: &str,
    key_hex: &str,
    chain_id: u64,
    params: &[(&str, String)],
) -> Result<Deployed, DeployError> {
    let dir = TempDir::new()?;
    let broadcast = dir.0.join("broadcast");
    let log_path = dir.0.join("forge.log");
    let log = std::fs::File::create(&log_path)?;
    let mut cmd = Command::new(root.join("tools/bin/forge"));
    cmd.args(["script", "script/Deploy.s.sol:Deploy", "--root"])
        .arg(root)
        .args(["--rpc-url", rpc, "--private-key", key_hex])
        .args(["--broadcast", "--slow"])
        .env("FOUNDRY_BROADCAST", &broadcast)
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    for var in PARAMS {
        cmd.env_remove(var);
    }
    for (k, v) in params {
        let inline = match *k {
            "VERIFIER_BYTECODE" => !v.starts_with("0x"),
            "VERIFIER_PARAMS" => !v.starts_with('{'),
            _ => false,
        };
        if inline {
            // Passed as the file's text: forge reads files only under the paths foundry.toml
            // allows, and a key cache may be anywhere.
            cmd.env(k, std::fs::read_to_string(v)?.trim());
        } else {
            cmd.env(k, v);
        }
    }
    let mut child = cmd.spawn()?;
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if start.elapsed() > TIMEOUT {
            child.kill()?;
            child.wait()?;
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if !status.is_some_and(|s| s.success()) {
        return Err(DeployError::Forge {
            what: status.map_or_else(|| format!("timed out after {TIMEOUT:?}"), |s| s.to_string()),
            output: std::fs::read_to_string(&log_path).unwrap_or_default(),
        });
    }
    let run = broadcast.join(format!("Deploy.s.sol/{chain_id}/run-latest.json"));
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run)?)
        .map_err(|e| DeployError::Log(e.to_string()))?;
    let mut deployed = vec![];
    for tx in json["transactions"].as_array().into_iter().flatten() {
        if tx["transactionType"] == "CREATE" {
            let addr = tx["contractAddress"]
                .as_str()
                .ok_or_else(|| DeployError::Log("no contractAddress".into()))?;
            let addr = addr.parse().map_err(|e| DeployError::Log(format!("{e}")))?;
            deployed.push((tx["contractName"].as_str().map(str::to_string), addr));
        }
    }
    Ok(Deployed(deployed))
}

/// A directory removed when dropped, for the script's output and broadcast log, so that a
/// deployment never writes into the repository's `broadcast/`.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> std::io::Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir =
            std::env::temp_dir().join(format!("rollup-deploy-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A generated batch verifier, as `Deploy.s.sol` takes it: its creation bytecode and its parameters
/// file, which says what the `Halo2BatchVerifier` in front of it pins (both written by
/// `verifier-gen --stage batch solidity`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchVerifier {
    /// The creation bytecode file (`VERIFIER_BYTECODE`).
    pub bytecode: PathBuf,
    /// The parameters file beside it (`VERIFIER_PARAMS`).
    pub params: PathBuf,
    /// The chunk key digest its proofs pin, hex.
    pub key_digest: String,
    /// Slots per chunk.
    pub chunk_slots: usize,
    /// Chunk proofs per batch proof.
    pub capacity: usize,
}

impl BatchVerifier {
    /// Reads the parameters file `verifier-gen --stage batch solidity` writes next to `bytecode`
    /// (`<name>.json` beside `<name>.bin`: `keyDigest`, `chunkSlots`, `capacity`).
    pub fn beside(bytecode: PathBuf) -> Result<BatchVerifier, DeployError> {
        let path = bytecode.with_extension("json");
        let bad = |m: &str| DeployError::Log(format!("{}: {m}", path.display()));
        let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)
            .map_err(|e| bad(&e.to_string()))?;
        let number = |key: &str| {
            json[key]
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| bad(&format!("no {key}")))
        };
        Ok(BatchVerifier {
            key_digest: json["keyDigest"]
                .as_str()
                .ok_or_else(|| bad("no keyDigest"))?
                .to_string(),
            chunk_slots: number("chunkSlots")?,
            capacity: number("capacity")?,
            bytecode,
            params: path,
        })
    }

    /// The script parameters that deploy it.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        vec![
            ("VERIFIER_BYTECODE", self.bytecode.display().to_string()),
            ("VERIFIER_PARAMS", self.params.display().to_string()),
        ]
    }
}

/// The committed batch verifier in the checkout at `root`: generated for batches of one one-slot
/// chunk on chain 31337 from the development SRS (`verifier-gen --stage batch solidity`).
pub fn committed_verifier(root: &Path) -> Result<BatchVerifier, DeployError> {
    BatchVerifier::beside(root.join("contracts/verifier/Halo2BatchVerifier.bin"))
}

alloy::sol! {
    /// The devnets' mintable ERC20 ([`dev_token_bytecode`]): anyone can mint.
    #[sol(rpc)]
    interface DevToken {
        function mint(address to, uint256 amount) external;
        function approve(address spender, uint256 amount) external returns (bool);
        function balanceOf(address owner) external view returns (uint256);
    }
}

/// Deploys the devnets' mintable ERC20 ([`dev_token_bytecode`], built from the checkout at `root`)
/// from `provider`'s wallet; its address.
pub async fn deploy_dev_token<P: Provider>(
    root: &Path,
    provider: &P,
) -> Result<Address, DeployError> {
    let code = Bytes::from(dev_token_bytecode(root)?);
    let rpc =
        |e: &dyn std::fmt::Display| DeployError::Rpc(format!("deploying the test token: {e}"));
    let receipt = provider
        .send_transaction(TransactionRequest::default().with_deploy_code(code))
        .await
        .map_err(|e| rpc(&e))?
        .get_receipt()
        .await
        .map_err(|e| rpc(&e))?;
    receipt
        .contract_address
        .filter(|_| receipt.status())
        .ok_or_else(|| rpc(&"the creation failed"))
}

/// Creation bytecode of the Foundry tests' mintable ERC20 (`contracts/test/mocks/Tokens.sol`,
/// `MockERC20`: anyone can mint), built with the repository's forge: the token of devnets and
/// end-to-end tests. (`forge script` compiles only what the script imports, so it is built here.)
pub fn dev_token_bytecode(root: &Path) -> Result<Vec<u8>, DeployError> {
    let out = Command::new(root.join("tools/bin/forge"))
        .args(["build", "contracts/test/mocks/Tokens.sol", "--root"])
        .arg(root)
        .stdin(Stdio::null())
        .output()?;
    if !out.status.success() {
        return Err(DeployError::Forge {
            what: "build of the test token".into(),
            output: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    let path = root.join("out/Tokens.sol/MockERC20.json");
    let artifact: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)
        .map_err(|e| DeployError::Log(format!("{}: {e}", path.display())))?;
    let hex = artifact["bytecode"]["object"]
        .as_str()
        .ok_or_else(|| DeployError::Log(format!("{}: no bytecode", path.display())))?;
    alloy::hex::decode(hex).map_err(|e| DeployError::Log(format!("{}: {e}", path.display())))
}
