//! `escape`: the user's escape-hatch client. It needs only an L1 RPC URL and the rollup's address:
//! `sync` re-derives the L2 state from L1 data alone (checked against every finalized root, resumable),
//! `status` shows whether escape is possible, `balance` and `proof` read the derived state.
//! Results go to stdout (text, or one line of JSON with `--json`); progress and hints to stderr.
//! L1 keys come from `--private-key`/`ESCAPE_PRIVATE_KEY` or an encrypted `--keystore`.

use std::path::PathBuf;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, U256};
use alloy::providers::{Provider as _, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use clap::{Parser, Subcommand};
use eyre::{Result, WrapErr, eyre};
use indicatif::{ProgressBar, ProgressStyle};
use rollup_bindings::rollup::Rollup;
use rollup_escape::derive::Derivation;
use rollup_escape::exit::l1_proof;
use rollup_escape::l1::L1Reader;
use rollup_escape::sync::{Progress, sync};
use rollup_protocol::constants::{REQUEST_DEADLINE_MAX_SECS, REQUEST_DEADLINE_SECS};
use rollup_protocol::eddsa::PubKey;
use rollup_protocol::{Tx, field};

#[derive(Parser)]
#[command(about = "Re-derive the rollup's L2 state from L1 alone and escape with a Merkle proof")]
struct Cli {
    /// The L1 RPC URL (`ETH_RPC_URL`, as every tool of this project and Foundry's read it).
    #[arg(
        long,
        env = "ETH_RPC_URL",
        global = true,
        default_value = "http://127.0.0.1:8545"
    )]
    rpc_url: String,
    /// The rollup contract's address.
    #[arg(long, env = "ESCAPE_ROLLUP", global = true)]
    rollup: Option<Address>,
    /// The key that signs and pays for L1 transactions (hex); only needed to send them.
    #[arg(
        long,
        env = "ESCAPE_PRIVATE_KEY",
        global = true,
        hide_env_values = true
    )]
    private_key: Option<String>,
    /// An encrypted JSON keystore (as geth, cast and MetaMask write) instead of `--private-key`.
    #[arg(
        long,
        env = "ESCAPE_KEYSTORE",
        global = true,
        conflicts_with = "private_key"
    )]
    keystore: Option<PathBuf>,
    /// A file holding the keystore's password (else `ESCAPE_KEYSTORE_PASSWORD`, else a prompt).
    #[arg(long, global = true)]
    password_file: Option<PathBuf>,
    /// Prints the result as one line of JSON (for scripts) instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Where the sync progress is kept.
    #[arg(
        long,
        env = "ESCAPE_DATA_DIR",
        global = true,
        default_value = "escape-data"
    )]
    data_dir: PathBuf,
    /// The block a first sync starts from (the rollup's deployment block is enough).
    #[arg(long, global = true, default_value_t = 0)]
    from_block: u64,
    /// Blocks per log query (lower it for rate-limited RPCs).
    #[arg(long, global = true, default_value_t = 2_000)]
    page: u64,
    /// The L2 chain id (recorded with the state; replay does not check signatures).
    #[arg(long, global = true, default_value_t = 31337)]
    chain_id: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Re-derives the state from L1 up to the latest block (resumes where the last sync stopped).
    Sync,
    /// Escape mode, the oldest request's age against its deadline, the last finalized batch.
    Status,
    /// The L2 key of the signing L1 account (`--private-key` or `--keystore`): derived from its signature of the fixed key
    /// message, as wallets do (`docs/protocol.md`, section 4). Prints the public key.
    Key,
    /// The synced balance of an (account, token).
    Balance {
        /// Account id.
        #[arg(long)]
        account: u32,
        /// Token id (0 is ETH).
        #[arg(long, default_value_t = 0)]
        token: u8,
    },
    /// Deposits ETH (or, with `--token`, an ERC20 after approving it) to the sender's L2 account,
    /// binding the L2 key derived from the sender's L1 key on the first deposit.
    Deposit {
        /// The amount in wei (or the token's base units).
        #[arg(long)]
        amount: U256,
        /// An ERC20 registered with the rollup; ETH without it.
        #[arg(long)]
        token: Option<Address>,
    },
    /// Asks L1 to force the sender's whole balance of a token out: the operator must process it
    /// before its deadline, or escape mode becomes possible.
    ForceExit {
        /// Token id (0 is ETH).
        #[arg(long, default_value_t = 0)]
        token: u8,
    },
    /// Switches the rollup into escape mode (possible once the oldest request is past its deadline).
    ActivateEscape,
    /// Syncs, then withdraws the (account, token) balance of the last finalized state to the
    /// account's L1 owner with its Merkle proof (anyone may send it; the owner is paid).
    Escape {
        /// Account id.
        #[arg(long)]
        account: u32,
        /// Token id (0 is ETH).
        #[arg(long, default_value_t = 0)]
        token: u8,
    },
    /// Pays out the sender's pending balance of a token (what escapes, refunds and executed
    /// withdrawals credited to it) to `--to`, the sender by default.
    Withdraw {
        /// Token id (0 is ETH).
        #[arg(long, default_value_t = 0)]
        token: u8,
        /// The recipient; the sender without it.
        #[arg(long)]
        to: Option<Address>,
    },
    /// In escape mode, refunds the deposits no finalized batch processed (all of them, or one
    /// owner's); each is paid to its depositor's pending balance, once.
    Reclaim {
        /// Only this depositor's deposits.
        #[arg(long)]
        owner: Option<Address>,
    },
    /// The Merkle proof of an (account, token) against the last finalized root, as JSON.
    Proof {
        /// Account id.
        #[arg(long)]
        account: u32,
        /// Token id (0 is ETH).
        #[arg(long, default_value_t = 0)]
        token: u8,
    },
}

impl Cli {
    fn rollup(&self) -> Result<Address> {
        self.rollup
            .ok_or_else(|| eyre!("no rollup address: pass --rollup <address> or set ESCAPE_ROLLUP"))
    }

    /// Prints a command's result on stdout: one line of JSON with `--json`, else one
    /// `name  value` line per field.
    fn emit(&self, value: &serde_json::Value) {
        if self.json {
            println!("{value}");
            return;
        }
        match value.as_object() {
            Some(fields) => {
                for (name, v) in fields {
                    match v {
                        serde_json::Value::String(s) => println!("{name:<26}{s}"),
                        serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                            let pretty = serde_json::to_string_pretty(v).unwrap_or_default();
                            println!("{name:<26}{}", pretty.replace('\n', "\n  "));
                        }
                        other => println!("{name:<26}{other}"),
                    }
                }
            }
            None => println!("{value}"),
        }
    }

    fn progress_file(&self) -> PathBuf {
        self.data_dir.join("progress.json")
    }

    /// Syncs to the latest block (resuming from the progress file).
    async fn sync(&self) -> Result<Derivation> {
        let rollup = self.rollup()?;
        let provider = self.provider().await?;
        // Drawn on stderr when it is a terminal, hidden otherwise.
        let bar = ProgressBar::new(0).with_style(ProgressStyle::with_template(
            "syncing {bar:40} block {pos}/{len} ({per_sec}, {eta} left)",
        )?);
        let derivation = sync(
            &provider,
            rollup,
            &self.progress_file(),
            self.from_block,
            self.chain_id,
            self.page,
            |block, head| {
                bar.set_length(head);
                bar.set_position(block);
            },
        )
        .await;
        bar.finish_and_clear();
        Ok(derivation?)
    }

    /// The L1 key of `--private-key` or `--keystore`.
    fn signer(&self) -> Result<PrivateKeySigner> {
        Ok(rollup_bindings::keys::KeySource {
            private_key: self.private_key.as_deref(),
            keystore: self.keystore.as_deref(),
            password_file: self.password_file.as_deref(),
            env_prefix: "ESCAPE",
        }
        .signer()?)
    }

    /// The L1 key and the L2 public key a wallet derives from it (its signature of the fixed
    /// key message, `docs/protocol.md` section 4).
    fn l2_key(&self) -> Result<(PrivateKeySigner, PubKey)> {
        let signer = self.signer()?;
        let key = rollup_bindings::keys::l2_key(&signer)?.public();
        Ok((signer, key))
    }

    fn unreachable(&self) -> String {
        format!(
            "cannot reach the L1 RPC at {}: check --rpc-url",
            self.rpc_url
        )
    }

    /// A read-only provider.
    async fn provider(&self) -> Result<impl alloy::providers::Provider + Clone> {
        ProviderBuilder::new()
            .connect(&self.rpc_url)
            .await
            .wrap_err_with(|| self.unreachable())
    }

    /// A provider that signs with `--private-key`.
    async fn wallet(&self) -> Result<impl alloy::providers::Provider + Clone> {
        let signer = self.signer()?;
        ProviderBuilder::new()
            .wallet(EthereumWallet::from(signer))
            .connect(&self.rpc_url)
            .await
            .wrap_err_with(|| self.unreachable())
    }

    /// The derivation of the last sync.
    fn synced(&self) -> Result<Derivation> {
        let path = self.progress_file();
        if !path.exists() {
            return Err(eyre!(
                "no synced state in {}: run `escape sync` first",
                self.data_dir.display()
            ));
        }
        let progress: Progress = rollup_escape::derive::read_json(&path)?;
        Ok(Derivation::from_checkpoint(progress.checkpoint)?)
    }
}

alloy::sol! {
    /// The one ERC20 function a deposit needs.
    #[sol(rpc)]
    interface Erc20 {
        function approve(address spender, uint256 amount) external returns (bool);
    }
}

/// A simulated call's revert, decoded into the rollup's custom error, with the step that failed.
fn explain(err: &alloy::contract::Error, what: &str) -> eyre::Report {
    match rollup_bindings::rollup_error(err) {
        Some(e) => eyre!("{what}: the rollup refuses: {e:?}"),
        None => eyre!("{what}: {err}"),
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    match &cli.command {
        Command::Sync => {
            let d = cli.sync().await?;
            let json = serde_json::json!({
                "lastFinalizedBatch": d.last_batch(),
                "stateRoot": field::to_hex(&d.state().root()),
                "accounts": d.state().account_ids().count(),
            });
            cli.emit(&json);
        }
        Command::Status => {
            let rollup = cli.rollup()?;
            let provider = cli.provider().await?;
            let r = Rollup::new(rollup, &provider);
            let escape_mode = r.escapeMode().call().await?;
            let age = r.oldestRequestAge().call().await?;
            // Deadlines account for the queue (docs/protocol.md, section 9): read the oldest
            // unprocessed request's own deadline and compare it with the head's clock, as L1 will.
            let (finalized, total) = (
                r.finalizedRequests().call().await?,
                r.totalRequests().call().await?,
            );
            let deadline = if finalized < total {
                Some(r.request(finalized).call().await?.deadline)
            } else {
                None
            };
            let now = provider
                .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
                .await?
                .ok_or_else(|| eyre!("the RPC has no latest block"))?
                .header
                .timestamp;
            let overdue = !escape_mode && deadline.is_some_and(|d| now > d);
            let json = serde_json::json!({
                "escapeMode": escape_mode,
                "lastFinalizedBatch": r.lastFinalizedBatch().call().await?.to_string(),
                "stateRoot": format!("{:#066x}", r.stateRoot().call().await?),
                "oldestRequestAgeSeconds": age.to_string(),
                "oldestRequestDeadline": deadline,
                "minRequestDeadlineSeconds": REQUEST_DEADLINE_SECS,
                "maxRequestDeadlineSeconds": REQUEST_DEADLINE_MAX_SECS,
                "escapeCanBeActivated": overdue,
            });
            if overdue {
                eprintln!(
                    "the oldest request is past its deadline: anyone can activate escape mode"
                );
            }
            cli.emit(&json);
        }
        Command::Balance { account, token } => {
            let d = cli.synced()?;
            let balance = d.state().balance(*account, *token);
            cli.emit(&serde_json::json!({ "account": account, "token": token, "balance": balance.to_string() }));
        }
        Command::Key => {
            let (signer, key) = cli.l2_key()?;
            cli.emit(&serde_json::json!({
                "l1Address": signer.address(),
                "pubkeyX": field::to_hex(&key.x),
                "pubkeyY": field::to_hex(&key.y),
                "compressed": format!("0x{}", alloy::hex::encode(key.compress())),
            }));
        }
        Command::Deposit { amount, token } => {
            let (signer, key) = cli.l2_key()?;
            let (x, y) = (field::to_u256(&key.x), field::to_u256(&key.y));
            let provider = cli.wallet().await?;
            let rollup = Rollup::new(cli.rollup()?, &provider);
            // The request fee is read at the head; it only changes when the backlog crosses a doubling step.
            let fee = rollup.requestFee(signer.address()).call().await?;
            eprintln!("request fee {fee} wei (paid to the operator, not refunded)");
            let receipt = match token {
                None => {
                    let call = rollup.depositEth(x, y).value(*amount + fee);
                    call.call().await.map_err(|e| explain(&e, "depositing"))?;
                    call.send().await?.get_receipt().await?
                }
                Some(t) => {
                    let erc20 = Erc20::new(*t, &provider);
                    let approve = erc20.approve(*rollup.address(), *amount);
                    if !approve.send().await?.get_receipt().await?.status() {
                        return Err(eyre!("the token refused the approval"));
                    }
                    let call = rollup.depositErc20(*t, *amount, x, y).value(fee);
                    call.call().await.map_err(|e| explain(&e, "depositing"))?;
                    call.send().await?.get_receipt().await?
                }
            };
            if !receipt.status() {
                return Err(eyre!("the deposit {} reverted", receipt.transaction_hash));
            }
            let account = rollup.accountOf(signer.address()).call().await?;
            cli.emit(&serde_json::json!({
                "transaction": receipt.transaction_hash,
                "account": account.accountId,
                "fee": fee.to_string(),
            }));
        }
        Command::ForceExit { token } => {
            let from = cli.signer()?.address();
            let rollup = Rollup::new(cli.rollup()?, cli.wallet().await?);
            let fee = rollup.requestFee(from).call().await?;
            eprintln!("request fee {fee} wei (paid to the operator, not refunded)");
            let call = rollup.requestForcedExit(*token).value(fee);
            call.call()
                .await
                .map_err(|e| explain(&e, "requesting a forced exit"))?;
            let receipt = call.send().await?.get_receipt().await?;
            if !receipt.status() {
                return Err(eyre!("the request {} reverted", receipt.transaction_hash));
            }
            eprintln!(
                "the operator must process it within the request deadline, or escape mode opens"
            );
            cli.emit(&serde_json::json!({ "transaction": receipt.transaction_hash, "fee": fee.to_string() }));
        }
        Command::ActivateEscape => {
            let rollup = Rollup::new(cli.rollup()?, cli.wallet().await?);
            let call = rollup.activateEscapeMode();
            call.call()
                .await
                .map_err(|e| explain(&e, "activating escape mode"))?;
            let receipt = call.send().await?.get_receipt().await?;
            cli.emit(&serde_json::json!({ "transaction": receipt.transaction_hash, "escapeMode": receipt.status() }));
        }
        Command::Escape { account, token } => {
            let d = cli.sync().await?;
            let proof = d.state().balance_proof(*account, *token)?;
            let rollup = Rollup::new(cli.rollup()?, cli.wallet().await?);
            let call = rollup.escape(l1_proof(&proof)?);
            call.call().await.map_err(|e| explain(&e, "escaping"))?;
            let receipt = call.send().await?.get_receipt().await?;
            if !receipt.status() {
                return Err(eyre!(
                    "the escape transaction {} reverted",
                    receipt.transaction_hash
                ));
            }
            eprintln!(
                "{} credited to {}: that address withdraws it with `escape withdraw --token {token}`",
                proof.balance, proof.account.owner
            );
            cli.emit(&serde_json::json!({
                "transaction": receipt.transaction_hash,
                "owner": proof.account.owner,
                "token": token,
                "amount": proof.balance.to_string(),
            }));
        }
        Command::Withdraw { token, to } => {
            let signer = cli.signer()?;
            let to = to.unwrap_or(signer.address());
            let rollup = Rollup::new(cli.rollup()?, cli.wallet().await?);
            let amount = rollup.pending(signer.address(), *token).call().await?;
            let call = rollup.withdrawPending(*token, to);
            call.call().await.map_err(|e| explain(&e, "withdrawing"))?;
            let receipt = call.send().await?.get_receipt().await?;
            if !receipt.status() {
                return Err(eyre!(
                    "the withdrawal {} reverted",
                    receipt.transaction_hash
                ));
            }
            cli.emit(&serde_json::json!({
                "transaction": receipt.transaction_hash,
                "token": token,
                "to": to,
                "amount": amount.to_string(),
            }));
        }
        Command::Reclaim { owner } => {
            let address = cli.rollup()?;
            let provider = cli.wallet().await?;
            let rollup = Rollup::new(address, &provider);
            let first = u64::try_from(rollup.finalizedRequests().call().await?)?;
            let reader = L1Reader::new(&provider, address, 1, cli.page);
            let head = reader.head().await?;
            let mut refunded = Vec::new();
            for (index, record) in reader
                .unfinalized_deposits(cli.from_block, head, first)
                .await?
            {
                let Tx::Deposit(deposit) = Tx::decode(&record)? else {
                    return Err(eyre!("request {index} is not a deposit"));
                };
                let depositor = deposit.owner;
                if owner.is_some_and(|o| o != depositor) {
                    continue;
                }
                let call = rollup.refundDeposit(U256::from(index), record.into());
                if let Err(e) = call.call().await {
                    // Already refunded, or not yet in escape mode: say so and go on.
                    eprintln!("request {index}: {}", explain(&e, "refunding"));
                    continue;
                }
                let receipt = call.send().await?.get_receipt().await?;
                if !receipt.status() {
                    return Err(eyre!(
                        "the refund of request {index} reverted ({})",
                        receipt.transaction_hash
                    ));
                }
                refunded.push(serde_json::json!({ "request": index, "depositor": depositor, "transaction": receipt.transaction_hash }));
            }
            cli.emit(&serde_json::json!({ "refunded": refunded }));
        }
        Command::Proof { account, token } => {
            let d = cli.synced()?;
            let proof = d.state().balance_proof(*account, *token)?;
            cli.emit(&serde_json::to_value(&proof)?);
        }
    }
    Ok(())
}
