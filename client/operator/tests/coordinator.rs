//! The proof coordinator without a circuit: tasks move from queued to proven, an artifact that
//! proves other inputs or does not verify is refused and retried, a backend that keeps failing
//! stops the operator after `MAX_ATTEMPTS`, and stored artifacts survive a restart.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use alloy_primitives::Address;
use rollup_operator::coordinator::{Coordinator, MAX_ATTEMPTS, TaskState};
use rollup_operator::store::Store;
use rollup_protocol::eddsa::Point;
use rollup_protocol::tx::Deposit;
use rollup_protocol::{Chunk, Config, Fr, State, Tx};
use rollup_prover::{Backend, ProofArtifact, ProofKind, ProofTask};

use rollup_test_utils::FakeBackend as Fake;

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

fn chunk() -> Result<Chunk> {
    let core = Config {
        chain_id: 5,
        chunk_slots: 1,
    };
    Ok(State::new(core).apply_chunk(&[Tx::Deposit(Deposit {
        account_id: 0,
        owner: Address::repeat_byte(1),
        token: 0,
        amount: 0,
        pubkey: Point::NONE,
    })])?)
}

fn store(name: &str) -> Result<Arc<Store>> {
    let dir = std::env::temp_dir().join(format!("coordinator-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Arc::new(Store::open(&dir.join("db.redb"))?))
}

/// What a misbehaving backend does wrong.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// `prove` fails.
    Fails,
    /// The artifact proves other public inputs.
    OtherInputs,
    /// The artifact does not verify.
    Unverifiable,
}

#[derive(Debug)]
struct Broken {
    fault: Fault,
    calls: AtomicU32,
}

impl Backend for Broken {
    fn name(&self) -> &str {
        "broken"
    }
    fn params_digest(&self) -> [u8; 32] {
        [0; 32]
    }
    fn vk_digest(&self, _: ProofKind) -> Option<[u8; 32]> {
        Some([7; 32])
    }
    fn prove(&self, task: &ProofTask) -> rollup_prover::Result<ProofArtifact> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let mut inputs = task.public_inputs();
        match self.fault {
            Fault::Fails => {
                return Err(rollup_prover::ProverError::Halo2("out of memory".into()));
            }
            Fault::OtherInputs => inputs[1] += Fr::from(1u64),
            Fault::Unverifiable => {}
        }
        Ok(ProofArtifact {
            kind: task.kind(),
            public_inputs: inputs,
            proof: vec![1; 8],
            vk_digest: [7; 32],
        })
    }
    fn verify(&self, _: &ProofArtifact) -> rollup_prover::Result<bool> {
        Ok(false)
    }
}

#[tokio::test]
async fn a_task_is_proven_once_and_its_artifact_survives_a_restart() -> Result {
    let store = store("ok")?;
    let c = Coordinator::new(store.clone(), Arc::new(Fake));
    let chunk = chunk()?;
    let inputs = chunk.public_inputs().to_vec();
    c.submit_chunk(0, chunk.clone())?;
    c.submit_chunk(0, chunk.clone())?;
    assert_eq!(c.counts().queued, 1, "a task is queued once");
    assert!(c.run_next().await?);
    assert!(!c.run_next().await?, "nothing left");
    assert_eq!(c.state(0), Some(TaskState::Proven));
    let a = c.artifact(0)?.ok_or("no artifact")?;
    assert_eq!((a.public_inputs, a.vk_digest), (inputs, [7; 32]));
    assert!(c.prove_seconds(0).is_some());
    assert!(c.ready_at(0, 1).is_some());

    let restarted = Coordinator::new(store, Arc::new(Fake));
    restarted.submit_chunk(0, chunk)?;
    assert_eq!(
        restarted.state(0),
        None,
        "a stored artifact is not proven again"
    );
    assert_eq!(restarted.artifacts(0, 1)?.map(|v| v.len()), Some(1));
    Ok(())
}

#[tokio::test]
async fn bad_artifacts_are_refused_and_a_failing_backend_stops_after_max_attempts() -> Result {
    for fault in [Fault::Fails, Fault::OtherInputs, Fault::Unverifiable] {
        let backend = Arc::new(Broken {
            fault,
            calls: AtomicU32::new(0),
        });
        let c = Coordinator::new(store(&format!("{fault:?}"))?, backend.clone());
        c.submit_chunk(0, chunk()?)?;
        for attempt in 1..MAX_ATTEMPTS {
            assert!(!c.run_next().await?, "{fault:?}: nothing proven");
            match c.state(0) {
                Some(TaskState::Failed { attempts, .. }) => assert_eq!(attempts, attempt),
                other => return Err(format!("{fault:?}: {other:?}").into()),
            }
        }
        let err = c
            .run_next()
            .await
            .err()
            .ok_or("no error after the last attempt")?;
        assert!(err.to_string().contains("attempts failed"), "{err}");
        assert_eq!(backend.calls.load(Ordering::SeqCst), MAX_ATTEMPTS);
        assert!(c.artifact(0)?.is_none(), "{fault:?}: nothing stored");
    }
    Ok(())
}
