//! The sequencer and the batch book without L1: block limit, chunk sealing (full, or padded after
//! the timeout), batches, refusals that change nothing, and a restart from the store that rebuilds
//! the same sequencer and book.

use std::sync::Arc;
use std::time::Duration;

use alloy_primitives::Address;
use rollup_operator::Error;
use rollup_operator::batches::{BatchLimits, Batches};
use rollup_operator::coordinator::{Coordinator, TaskState};
use rollup_operator::sequencer::{Limits, Location, Sequencer};
use rollup_operator::store::Store;
use rollup_prover::ProofKind;

use rollup_protocol::eddsa::{Point, SecretKey};
use rollup_protocol::tx::{Deposit, ForcedExit, Transfer};
use rollup_protocol::{Config, Tx};
use rollup_test_utils::FakeBackend as Fake;

#[path = "../tests/common/ingest.rs"]
mod ingest;
use ingest::{hashed, page};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

const CHAIN: u64 = 5;

fn core() -> Config {
    Config {
        chain_id: CHAIN,
        chunk_slots: 4,
    }
}

fn limits() -> Limits {
    Limits {
        block_limit: 3,
        chunk_timeout: Duration::from_millis(100),
    }
}

fn batch_limits() -> BatchLimits {
    BatchLimits {
        batch_chunks: 2,
        batch_timeout: Duration::from_secs(3600),
        data: rollup_operator::batches::DataMode::Calldata,
    }
}

/// What the operator hands every sealed chunk to: the batch book, then the coordinator.
type HandOn = Box<dyn FnMut(u64, rollup_protocol::Chunk) -> rollup_operator::Result<()>>;

/// The batch book and the coordinator, and the hand-on to both.
fn book(store: &Arc<Store>) -> Result<(Arc<Batches>, Arc<Coordinator>, HandOn)> {
    let batches = Arc::new(Batches::restore(store, core().chunk_slots, batch_limits())?);
    let coordinator = Arc::new(Coordinator::new(store.clone(), Arc::new(Fake)));
    let (b, c) = (batches.clone(), coordinator.clone());
    let hand_on = move |i, chunk: rollup_protocol::Chunk| {
        b.add_chunk(i, &chunk)?;
        c.submit_chunk(i, chunk)
    };
    Ok((batches, coordinator, Box::new(hand_on)))
}

fn key(i: u32) -> SecretKey {
    SecretKey::from_seed(&i.to_be_bytes())
}

/// The fee account and two users, as L1 requests 0..3.
fn deposits() -> Vec<(u64, Tx)> {
    (0..3u32)
        .map(|id| {
            (
                u64::from(id),
                Tx::Deposit(Deposit {
                    account_id: id,
                    owner: Address::repeat_byte(id as u8 + 1),
                    token: 0,
                    amount: if id == 0 { 0 } else { 1_000_000 },
                    pubkey: if id == 0 {
                        Point::NONE
                    } else {
                        key(id).public()
                    },
                }),
            )
        })
        .collect()
}

fn transfer(nonce: u32) -> Tx {
    Transfer {
        from: 1,
        to: 2,
        token: 0,
        amount: 10,
        fee: 1,
        nonce,
    }
    .sign(&key(1), CHAIN)
}

#[tokio::test]
async fn blocks_chunks_and_batches_follow_the_limits_and_survive_a_restart() -> Result {
    let dir = std::env::temp_dir().join(format!("operator-seq-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Arc::new(Store::open(&dir.join("db.redb"))?);
    let (batches, coordinator, mut hand_on) = book(&store)?;
    let mut s = Sequencer::restore(&store, core(), limits(), &mut hand_on)?;
    s.ingest(&store, hashed(deposits()), &page(10))?;
    let ids: Vec<String> = (0..5)
        .map(|n| s.submit(&store, transfer(n)))
        .collect::<std::result::Result<_, _>>()?;

    // Refusals: a replayed nonce, the same transaction, an L1-only type, a gap in L1 requests.
    let root = s.pending().root();
    let replayed = Transfer {
        from: 1,
        to: 2,
        token: 0,
        amount: 11,
        fee: 1,
        nonce: 2,
    }
    .sign(&key(1), CHAIN);
    assert!(matches!(
        s.submit(&store, replayed),
        Err(Error::Protocol(_))
    ));
    assert!(matches!(
        s.submit(&store, transfer(4)),
        Err(Error::Duplicate(_))
    ));
    let exit = Tx::ForcedExit(ForcedExit {
        account_id: 1,
        token: 0,
    });
    assert!(matches!(s.submit(&store, exit), Err(Error::Unsupported(_))));
    assert!(matches!(
        s.ingest(&store, hashed(vec![(7, exit)]), &page(11)),
        Err(Error::L1 { .. })
    ));
    assert_eq!(s.pending().root(), root, "a refusal changed the state");
    assert_eq!(s.next_request(), 3);

    // 8 queued: blocks of at most 3, never past the 4 slots of the open chunk.
    assert_eq!(s.build_block(), 3);
    assert_eq!(s.build_block(), 1, "the block stops where the chunk ends");
    assert_eq!(s.build_block(), 0, "a full open chunk takes no block");
    assert_eq!(
        s.seal_if_due(&store, &mut hand_on)?,
        Some(0),
        "a full chunk is sealed at once"
    );
    assert_eq!(s.build_block(), 3);
    assert_eq!(
        s.seal_if_due(&store, &mut hand_on)?,
        None,
        "not full, timeout not reached"
    );
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(
        s.seal_if_due(&store, &mut hand_on)?,
        Some(1),
        "padded after the timeout"
    );
    let chunks = batches.chunks();
    assert_eq!((chunks[0].transactions, chunks[0].fill_ratio), (4, 1.0));
    assert_eq!((chunks[1].transactions, chunks[1].fill_ratio), (3, 0.75));
    assert_eq!(s.build_block(), 1);
    assert_eq!(s.locate(&ids[4]), Some(Location::InBlock));
    assert_eq!(s.locate(&ids[0]), Some(Location::Chunk(0)));

    assert_eq!(batches.holding(0), None, "no batch yet");
    let batch = batches.propose(&store)?.ok_or("no batch of two chunks")?;
    assert_eq!((batch.index, batch.first_chunk, batch.chunks), (1, 0, 2));
    assert!(batches.propose(&store)?.is_none(), "no chunk left to batch");
    assert_eq!(batches.holding(1).map(|b| b.index), Some(1));
    assert_eq!(batches.summaries(&batch)?.len(), 2);
    // The sealed chunks wait for their batch, then become proof tasks; the lowest is proven first.
    assert_eq!(coordinator.counts().queued, 0);
    coordinator.schedule(&batch, &batches.binding(&batch)?)?;
    assert_eq!(coordinator.counts().queued, 2);
    assert!(coordinator.run_next().await?);
    let chunk = |i| (ProofKind::RecursiveChunk, i);
    assert_eq!(coordinator.state(chunk(0)), Some(TaskState::Proven));
    assert_eq!(coordinator.state(chunk(1)), Some(TaskState::Queued));
    assert_eq!(
        coordinator
            .artifact(ProofKind::RecursiveChunk, 0)?
            .map(|a| a.proof),
        Some(vec![7; 8])
    );
    assert!(
        coordinator.state((ProofKind::Batch, 1)).is_none(),
        "chunk 1 is unproven: no batch task yet"
    );

    // A restart from the store: the same state, chunks, batches and proofs; the transaction that
    // was in a block of the open chunk is queued again (blocks are not stored, their order is).
    let root = s.pending().root();
    drop((s, hand_on));
    let (rebatches, restarted, mut hand_on) = book(&store)?;
    let r = Sequencer::restore(&store, core(), limits(), &mut hand_on)?;
    assert_eq!(r.pending().root(), root);
    assert_eq!(rebatches.chunks().len(), 2);
    assert_eq!(rebatches.all(), batches.all());
    restarted.resume(&rebatches)?;
    assert_eq!(restarted.state(chunk(0)), None, "chunk 0's proof was kept");
    assert_eq!(restarted.state(chunk(1)), Some(TaskState::Queued));
    assert_eq!(restarted.counts().queued, 1);
    assert_eq!(r.locate(&ids[4]), Some(Location::Queued));
    assert_eq!(r.next_request(), 3);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// The typed client (`rollup_rpc_api::L2Client`) and the server agree on every method's name,
/// parameters and answer: each one is called once against the real server.
#[tokio::test]
async fn the_typed_client_reaches_every_method_of_the_server() -> Result {
    use rollup_rpc_api::{L2ApiClient, TxState};

    let dir = std::env::temp_dir().join(format!("operator-rpc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Arc::new(Store::open(&dir.join("db.redb"))?);
    let (batches, coordinator, mut hand_on) = book(&store)?;
    let mut s = Sequencer::restore(&store, core(), limits(), &mut hand_on)?;
    s.ingest(&store, hashed(deposits()), &page(10))?;
    let s = Arc::new(tokio::sync::Mutex::new(s));
    let (addr, server) = rollup_operator::rpc::serve(
        "127.0.0.1:0".parse()?,
        64 * 1024,
        store.clone(),
        s.clone(),
        batches,
        coordinator.clone(),
    )
    .await?;
    let rpc = rollup_rpc_api::http_client(&format!("http://{addr}"))?;

    assert_eq!(rpc.get_balance(1, 0).await?, "1000000");
    assert_eq!(rpc.get_nonce(1).await?, 0);
    let account = rpc.get_account(1).await?.ok_or("account 1")?;
    assert_eq!(account.owner, Address::repeat_byte(2));
    assert_eq!(
        account.balances.get("0").map(String::as_str),
        Some("1000000")
    );
    assert_eq!(rpc.get_account(99).await?, None);
    let proof = rpc.get_proof(2, 0).await?;
    assert!(proof.verify(s.lock().await.pending().root()));
    let id = rpc.send_transaction(transfer(0)).await?;
    let raw = format!("0x{}", alloy_primitives::hex::encode(transfer(1).encode()?));
    let raw_id = rpc.send_raw_transaction(raw.clone()).await?;
    assert_ne!(id, raw_id);
    assert_eq!(
        rpc.get_transaction_status(id.clone()).await?.status,
        TxState::Queued
    );
    assert!(rpc.get_transaction_status("nope".into()).await.is_err());
    let status = rpc.status().await?;
    assert_eq!((status.queued, status.next_l1_request), (5, 3));
    assert!(rpc.get_chunks().await?.is_empty());
    server.stop()?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
