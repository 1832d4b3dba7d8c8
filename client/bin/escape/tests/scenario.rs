//! The escape hatch for several users, end to end on anvil with the real contracts, the real batch
//! verifier and aggregated proofs made here: Alice, Bob and Carol deposit ETH and an ERC20 through
//! the `escape` CLI (Carol's key in a keystore), transact on L2, and the operator finalizes two
//! batches (one eight-slot chunk each) with real batch proofs and commits a third it never proves. Then it stops. Each user's
//! client re-derives the state from L1 alone, escape mode is activated after the deadline,
//! and every user gets exactly their finalized balances back, ETH and token, plus the deposits
//! no batch processed. At the end the rollup holds nothing.

use std::collections::BTreeMap;
use std::path::PathBuf;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use rollup_bindings::deploy::DevToken;
use rollup_bindings::rollup::{IRollup, Rollup};
use rollup_escape::exit::l1_proof;
use rollup_escape::l1::L1Reader;
use rollup_protocol::codec::{BatchBinding, Record, decode_chunk};
use rollup_protocol::field::to_u256;
use rollup_protocol::tx::Transfer;
use rollup_protocol::{Chunk, Config, State, Tx, field};
use rollup_prover as prover;
use rollup_test_utils::{self as harness, hex_key, l2_key};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Eight-slot chunks: every batch is one chunk (one batch proof, minutes each on 2 cores).
const SLOTS: usize = 8;
const TOKEN: u8 = 1;

/// One user of the `escape` CLI: their key (hex, or a keystore file) and their data directory.
struct User {
    name: &'static str,
    signer: PrivateKeySigner,
    key_args: Vec<String>,
    dir: PathBuf,
}

struct Cli {
    rpc: String,
    rollup: Address,
}

impl Cli {
    /// Runs `escape <args> --json` as `user`; the JSON result, or stderr as the error.
    fn run(&self, user: &User, args: &[&str]) -> Result<serde_json::Value> {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_escape"))
            .args(args)
            .args(&user.key_args)
            .args(["--json", "--confirmations", "0", "--l1-chain-id", "31337"])
            .args(["--rpc-url", &self.rpc, "--rollup"])
            .arg(self.rollup.to_string())
            .arg("--data-dir")
            .arg(&user.dir)
            .env("ESCAPE_KEYSTORE_PASSWORD", "carol's password")
            .output()?;
        if !out.status.success() {
            return Err(format!(
                "{} `{}`: {}",
                user.name,
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        Ok(serde_json::from_slice(&out.stdout)?)
    }
}

#[tokio::test]
async fn every_user_escapes_with_exactly_their_finalized_balances() -> Result {
    let anvil = harness::anvil()?;
    let chain_id = anvil.chain_id();
    let keys = harness::keys(&anvil);
    let operator = keys.first().ok_or("no anvil key")?.clone();
    // The batch verifier for eight-slot chunks, over the development SRS (generated once with both
    // stages' keys in the key cache every test of the run shares).
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("keys");
    let verifier = rollup_bindings::deploy::BatchVerifier::beside(
        verifier_gen::dev_batch_verifier(&cache, SLOTS, 1, chain_id)?,
    )?;
    let rollup_addr = harness::deploy_rollup_with(&anvil, &verifier.params())?;
    let l1 = ProviderBuilder::new()
        .wallet(EthereumWallet::from(operator.clone()))
        .connect_http(anvil.endpoint_url());
    let rollup = Rollup::new(rollup_addr, &l1);

    // An ERC20 (the Foundry tests' mintable token), registered as token 1.
    let token_addr = harness::deploy_token(&l1, rollup_addr).await?;
    let token = DevToken::new(token_addr, &l1);
    assert_eq!(rollup.tokenOf(TOKEN).call().await?, token_addr);

    // Three users; Carol keeps her key in an encrypted keystore.
    let tmp = std::env::temp_dir().join(format!("rollup-escape-scenario-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let carol = keys.get(3).ok_or("anvil key 3")?.clone();
    PrivateKeySigner::encrypt_keystore(
        &tmp,
        &mut rand::thread_rng(),
        carol.to_bytes(),
        "carol's password",
        Some("carol.json"),
    )?;
    let user = |name: &'static str, signer: PrivateKeySigner, key_args: Vec<String>| User {
        name,
        signer,
        key_args,
        dir: tmp.join(name),
    };
    let alice = keys.get(1).ok_or("anvil key 1")?.clone();
    let bob = keys.get(2).ok_or("anvil key 2")?.clone();
    let users = [
        user(
            "alice",
            alice.clone(),
            vec!["--private-key".into(), hex_key(&alice)],
        ),
        user(
            "bob",
            bob.clone(),
            vec!["--private-key".into(), hex_key(&bob)],
        ),
        user(
            "carol",
            carol.clone(),
            vec![
                "--keystore".into(),
                tmp.join("carol.json").display().to_string(),
            ],
        ),
    ];
    let cli = Cli {
        rpc: anvil.endpoint(),
        rollup: rollup_addr,
    };
    const MINTED: u64 = 1_000_000;
    for u in &users {
        token
            .mint(u.signer.address(), U256::from(MINTED))
            .send()
            .await?
            .get_receipt()
            .await?;
    }

    // Deposits through the CLI: ETH for everyone, the token for Alice and Bob.
    let deposits: [(usize, u64, Option<Address>); 5] = [
        (0, 1_000_000, None),
        (1, 200_000, None),
        (2, 300_000, None),
        (0, 5_000, Some(token_addr)),
        (1, 7_000, Some(token_addr)),
    ];
    for (who, amount, t) in deposits {
        let amount = amount.to_string();
        let mut args = vec!["deposit", "--amount", amount.as_str()];
        let t = t.map(|t| t.to_string());
        if let Some(t) = &t {
            args.extend(["--token", t.as_str()]);
        }
        cli.run(&users[who], &args)?;
    }
    assert_eq!(
        cli.run(&users[2], &["key"])?["l1Address"],
        serde_json::json!(carol.address()),
        "the keystore holds Carol's key"
    );

    // The operator: every queued request (the fee account's, then the five deposits) goes into
    // one chunk, then three L2 transfers signed with the users' derived keys into another.
    let reader = L1Reader::new(&l1, rollup_addr, SLOTS, 1_000);
    let head = reader.head().await?;
    let mut state = State::new(Config {
        chain_id,
        chunk_slots: SLOTS,
    });
    let mut requests = Vec::new();
    for request in reader.requests(0, head, 0).await? {
        let Some(Record::Deposit(d)) = decode_chunk(&request.record, 1)?.pop() else {
            return Err("a queued request that is not a deposit".into());
        };
        requests.push(Tx::Deposit(d));
    }
    assert_eq!(requests.len(), 6);
    let batch1 = state.apply_chunk(&requests)?;
    let (a, b, c) = (
        account_of(&state, &users[0])?,
        account_of(&state, &users[1])?,
        account_of(&state, &users[2])?,
    );
    let transfer =
        |from: u32, to: u32, token: u8, amount: u128, fee: u128, k: &PrivateKeySigner| {
            Ok::<_, Box<dyn std::error::Error>>(
                Transfer {
                    from,
                    to,
                    token,
                    amount,
                    fee,
                    nonce: 0,
                }
                .sign(&l2_key(k)?, chain_id),
            )
        };
    let batch2 = state.apply_chunk(&[
        transfer(a, b, 0, 250_000, 100, &alice)?,
        transfer(b, c, TOKEN, 3_000, 20, &bob)?,
        transfer(c, a, 0, 40_000, 10, &carol)?,
    ])?;
    let finalized = state.clone();

    // Both batches committed and finalized with real batch proofs (a chunk proof for aggregation at
    // the batch's challenge, then the batch proof L1 verifies).
    let srs = prover::SrsSource::Development;
    let k = prover::ChunkShape::new(SLOTS, chain_id).k;
    let chunk_prover = prover::ChunkProver::load(&cache, &srs, SLOTS, chain_id, k)?;
    let batch_prover =
        prover::batch::BatchProver::load(&cache, &srs, &chunk_prover, 1, prover::batch::DEFAULT_K)?;
    for mut chunk in [batch1, batch2] {
        let binding = commit(&rollup, &mut chunk).await?;
        let index = rollup.lastCommittedBatch().call().await?;
        let recursive = chunk_prover.prove_with(&chunk, prover::Transcript::Poseidon)?;
        let (public, proof) = batch_prover.prove(
            &[(chunk.public_inputs().to_vec(), recursive)],
            &[chunk.records.clone()],
            prover::Transcript::Evm,
        )?;
        let proof = prover::batch::l1_proof(&public, &proof).ok_or("a batch proof's inputs")?;
        let receipt = rollup
            .finalizeBatch(
                index,
                IRollup::DataBinding {
                    commitment: to_u256(&binding.commitment),
                    challenge: to_u256(&binding.challenge),
                    l1Evaluation: to_u256(&binding.l1_evaluation),
                    blobEvaluation: U256::from_be_bytes(rollup_protocol::blob::bls_to_be(
                        &binding.blob_evaluation,
                    )),
                },
                to_u256(&chunk.new_root),
                proof.into(),
            )
            .send()
            .await?
            .get_receipt()
            .await?;
        assert!(receipt.status(), "batch {index} finalized");
    }
    assert_eq!(rollup.stateRoot().call().await?, to_u256(&finalized.root()));

    // A third batch is committed, never proven: Alice pays Bob again.
    let mut unproven = state.apply_chunk(&[Transfer {
        from: a,
        to: b,
        token: 0,
        amount: 1_000,
        fee: 1,
        nonce: 1,
    }
    .sign(&l2_key(&alice)?, chain_id)])?;
    commit(&rollup, &mut unproven).await?;

    // Deposits no batch will process: Carol's first token deposit, Bob's ETH.
    cli.run(
        &users[2],
        &[
            "deposit",
            "--amount",
            "900",
            "--token",
            &token_addr.to_string(),
        ],
    )?;
    cli.run(&users[1], &["deposit", "--amount", "77"])?;

    // The operator is gone. The deadline passes; Bob activates escape mode.
    let too_early = cli
        .run(&users[1], &["activate-escape"])
        .err()
        .ok_or("activated early")?;
    assert!(
        too_early.to_string().contains("DeadlineNotPassed"),
        "{too_early}"
    );
    harness::past_every_deadline(&l1).await?;
    cli.run(&users[1], &["activate-escape"])?;
    assert!(rollup.escapeMode().call().await?);

    // A proof against the committed, never finalized root is refused.
    let stale = l1_proof(&state.balance_proof(b, 0)?)?;
    let refused = rollup
        .escape(stale)
        .call()
        .await
        .err()
        .ok_or("unfinalized root accepted")?;
    assert!(
        matches!(
            rollup_bindings::rollup_error(&refused),
            Some(rollup_bindings::RollupError::Rollup(
                rollup_bindings::irollup::IRollup::IRollupErrors::InvalidBalanceProof(_)
            ))
        ),
        "{refused:?}"
    );

    // Every user: sync from L1 alone, escape each non-zero balance, reclaim their deposits, and
    // withdraw; each gets exactly the finalized balance plus the unprocessed deposits.
    let refunds: BTreeMap<(usize, u8), u64> = [((2, TOKEN), 900), ((1, 0), 77)].into();
    for (i, u) in users.iter().enumerate() {
        let synced = cli.run(u, &["sync"])?;
        assert_eq!(synced["lastFinalizedBatch"], 2, "{}", u.name);
        assert_eq!(synced["stateRoot"], field::to_hex(&finalized.root()));
        let id = account_of(&finalized, u)?;
        for t in [0, TOKEN] {
            let t_arg = t.to_string();
            let expected = finalized.balance(id, t);
            let id_arg = id.to_string();
            let shown = cli.run(u, &["balance", "--account", &id_arg, "--token", &t_arg])?;
            assert_eq!(
                shown["balance"],
                expected.to_string(),
                "{} token {t}",
                u.name
            );
            if expected > 0 {
                let paid = cli.run(u, &["escape", "--account", &id_arg, "--token", &t_arg])?;
                assert_eq!(paid["amount"], expected.to_string());
            }
            let refund = refunds.get(&(i, t)).copied().unwrap_or(0);
            if refund > 0 {
                let owner = u.signer.address().to_string();
                let r = cli.run(u, &["reclaim", "--owner", &owner])?;
                assert_eq!(
                    r["refunded"].as_array().map(Vec::len),
                    Some(1),
                    "{}",
                    u.name
                );
            }
            let owed = U256::from(expected) + U256::from(refund);
            assert_eq!(rollup.pending(u.signer.address(), t).call().await?, owed);
            let before = token.balanceOf(u.signer.address()).call().await?;
            let w = cli.run(u, &["withdraw", "--token", &t_arg])?;
            assert_eq!(w["amount"], owed.to_string());
            if t == TOKEN {
                assert_eq!(
                    token.balanceOf(u.signer.address()).call().await?,
                    before + owed
                );
            }
        }
        // A second escape sends nothing and says where the balance went.
        let twice = cli.run(u, &["escape", "--account", &id.to_string()])?;
        assert_eq!(twice["transaction"], serde_json::Value::Null, "{}", u.name);
    }

    // The operator's fee account escapes too; then the rollup holds no ETH and no token: every
    // wei and token unit deposited went back to someone.
    assert_eq!(finalized.balance(0, 0), 110, "ETH fees");
    assert_eq!(finalized.balance(0, TOKEN), 20, "token fees");
    let operator_user = user(
        "operator",
        operator.clone(),
        vec!["--private-key".into(), hex_key(&operator)],
    );
    cli.run(&operator_user, &["escape", "--account", "0"])?;
    cli.run(
        &operator_user,
        &["escape", "--account", "0", "--token", "1"],
    )?;
    cli.run(&operator_user, &["withdraw", "--token", "0"])?;
    cli.run(&operator_user, &["withdraw", "--token", "1"])?;
    // Everything left is the request fees' locked surcharges: nobody's funds.
    let locked = Rollup::new(rollup_addr, &l1).lockedFees().call().await?;
    assert_eq!(l1.get_balance(rollup_addr).await?, locked);
    assert_eq!(token.balanceOf(rollup_addr).call().await?, U256::ZERO);
    let total: U256 = {
        let mut sum = U256::ZERO;
        for u in &users {
            sum += token.balanceOf(u.signer.address()).call().await?;
        }
        sum + token.balanceOf(operator.address()).call().await?
    };
    assert_eq!(total, U256::from(3 * MINTED), "no token unit lost");
    std::fs::remove_dir_all(&tmp)?;
    Ok(())
}

/// The id of the user's account in `state`.
fn account_of(state: &State, user: &User) -> Result<u32> {
    let owner = user.signer.address();
    Ok(state
        .account_ids()
        .find(|id| state.account(*id).is_some_and(|a| a.owner == owner))
        .ok_or("no account")?)
}

/// Commits `chunk` as a batch of its own from the sequencer, rebinding it to the batch's challenge
/// (as the operator does when it proposes a batch); returns the batch's binding.
async fn commit<P: Provider>(
    rollup: &Rollup::RollupInstance<P>,
    chunk: &mut Chunk,
) -> Result<BatchBinding> {
    let binding = BatchBinding::of(&[chunk.records.as_slice()])?;
    chunk.binding = binding.chunk(&chunk.records)?;
    assert!(
        rollup
            .commitBatch(
                rollup.lastCommittedBatch().call().await? + U256::from(1),
                Bytes::from(chunk.pubdata.clone()),
                to_u256(&binding.commitment)
            )
            .send()
            .await?
            .get_receipt()
            .await?
            .status()
    );
    Ok(binding)
}
