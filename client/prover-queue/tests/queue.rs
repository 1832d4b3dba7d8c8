//! The proof queue against a real PostgreSQL server (a throwaway cluster per test, stopped at the
//! end): leases never shared, expiry and heartbeats, parking after the attempts, one result per
//! task whoever races, rejection naming the worker, release on shutdown, a database restart.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use rollup_prover_queue::cluster::Cluster;
use rollup_prover_queue::{Completion, Error, Lease, NewTask, Queue, TaskState};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

const VK: &str = "0xchunk";

async fn queue() -> Result<(Cluster, Queue)> {
    let cluster = Cluster::start().await?;
    let queue = Queue::connect(&cluster.url()).await?;
    queue.migrate().await?;
    Ok((cluster, queue))
}

fn task(id: &str, max_attempts: u32) -> NewTask {
    NewTask {
        id: id.into(),
        kind: "chunk".into(),
        circuit: VK.into(),
        input: id.as_bytes().to_vec(),
        max_attempts,
    }
}

fn lease(worker: &str, seconds: f64) -> Lease {
    Lease {
        worker: worker.into(),
        kinds: vec!["chunk".into()],
        circuits: vec![VK.into()],
        duration: Duration::from_secs_f64(seconds),
    }
}

#[tokio::test]
async fn tasks_are_leased_oldest_first_once_each_by_kind_and_circuit() -> Result {
    let (cluster, q) = queue().await?;
    // Migrations are applied once: a second process (here, call) finds them done.
    q.migrate().await?;
    assert!(q.enqueue(&task("a", 3)).await?);
    assert!(!q.enqueue(&task("a", 3)).await?, "an id is enqueued once");
    let changed = NewTask {
        circuit: "0xnewkey".into(),
        ..task("a", 3)
    };
    assert!(matches!(q.enqueue(&changed).await, Err(Error::Conflict(id)) if id == "a"));
    q.enqueue(&task("b", 3)).await?;
    q.enqueue(&NewTask {
        kind: "batch".into(),
        ..task("c", 3)
    })
    .await?;
    q.enqueue(&NewTask {
        circuit: "0xother".into(),
        ..task("d", 3)
    })
    .await?;

    let first = q.lease(&lease("w1", 60.0)).await?.ok_or("nothing leased")?;
    assert_eq!((first.id.as_str(), first.attempts), ("a", 1));
    assert_eq!(first.input, b"a");
    // Asking again (an answer lost on the way) gives the task it holds, not a second one.
    assert_eq!(q.lease(&lease("w1", 60.0)).await?, Some(first.clone()));
    let second = q.lease(&lease("w2", 60.0)).await?.ok_or("nothing leased")?;
    assert_eq!(second.id, "b");
    // The batch task and the other circuit's are not this worker's to take.
    assert_eq!(q.lease(&lease("w3", 60.0)).await?, None);
    let stats = q.stats().await?;
    assert_eq!((stats.queued, stats.leased), (2, 2));
    assert!(stats.oldest_lease_seconds >= 0.0);
    cluster.stop()?;
    Ok(())
}

#[tokio::test]
async fn concurrent_workers_never_lease_the_same_task() -> Result {
    let (cluster, q) = queue().await?;
    for i in 0..40 {
        q.enqueue(&task(&format!("t{i:02}"), 3)).await?;
    }
    // Eight workers, each on its own connection, lease and complete until the queue is empty.
    let mut workers = Vec::new();
    for w in 0..8 {
        let url = cluster.url();
        workers.push(tokio::spawn(async move {
            let q = Queue::connect(&url).await?;
            let worker = format!("w{w}");
            let mut got = Vec::new();
            while let Some(t) = q.lease(&lease(&worker, 60.0)).await? {
                q.complete(&worker, &t.id, VK, b"proof", 0.0).await?;
                got.push(t.id);
            }
            Ok::<_, Error>(got)
        }));
    }
    let mut seen = HashSet::new();
    for w in workers {
        for id in w.await?? {
            assert!(seen.insert(id.clone()), "{id} leased twice");
        }
    }
    assert_eq!(seen.len(), 40);
    cluster.stop()?;
    Ok(())
}

#[tokio::test]
async fn an_expired_lease_goes_to_the_next_worker_and_the_last_one_parks() -> Result {
    let (cluster, q) = queue().await?;
    q.enqueue(&task("a", 2)).await?;
    let held = q.lease(&lease("w1", 0.2)).await?.ok_or("nothing leased")?;
    // A heartbeat keeps it; once it lapses, another worker takes the task.
    assert!(q.heartbeat("w1", "a", Duration::from_millis(200)).await?);
    assert_eq!(q.lease(&lease("w2", 0.2)).await?, None, "still held");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let again = q.lease(&lease("w2", 0.2)).await?.ok_or("not re-leased")?;
    assert_eq!((again.id.as_str(), again.attempts), (held.id.as_str(), 2));
    assert!(
        !q.heartbeat("w1", "a", Duration::from_secs(1)).await?,
        "w1 lost it"
    );
    let info = q.task("a").await?.ok_or("no task")?;
    assert_eq!(info.lease_holder.as_deref(), Some("w2"));
    assert!(info.last_error.is_some_and(|e| e.contains("w1 expired")));
    // Its second lease lapses too: no attempts left, so it is parked and reported.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(q.lease(&lease("w3", 1.0)).await?, None);
    let parked = q.parked().await?;
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].state, TaskState::Parked);
    assert!(
        parked[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("w2 expired on its last attempt")),
        "{parked:?}"
    );
    // An operator queues it again, with its attempts reset.
    assert!(q.requeue("a").await?);
    let back = q.lease(&lease("w3", 1.0)).await?.ok_or("not requeued")?;
    assert_eq!(back.attempts, 1);
    cluster.stop()?;
    Ok(())
}

#[tokio::test]
async fn failures_requeue_until_the_attempts_run_out_and_a_release_gives_its_attempt_back() -> Result
{
    let (cluster, q) = queue().await?;
    q.enqueue(&task("a", 2)).await?;
    q.lease(&lease("w1", 60.0)).await?.ok_or("nothing leased")?;
    // A worker that does not hold the task cannot fail or release it.
    assert_eq!(q.fail("w2", "a", "not mine").await?, None);
    assert!(!q.release("w2", "a").await?);
    assert_eq!(
        q.fail("w1", "a", "out of memory").await?,
        Some(TaskState::Queued)
    );
    // A worker stopping (SIGTERM) gives its lease back without spending an attempt.
    let t = q.lease(&lease("w2", 60.0)).await?.ok_or("nothing leased")?;
    assert_eq!(t.attempts, 2);
    assert!(q.release("w2", "a").await?);
    let t = q.lease(&lease("w3", 60.0)).await?.ok_or("nothing leased")?;
    assert_eq!(t.attempts, 2);
    assert_eq!(
        q.fail("w3", "a", "out of memory").await?,
        Some(TaskState::Parked)
    );
    let info = q.task("a").await?.ok_or("no task")?;
    assert_eq!(info.last_error.as_deref(), Some("w3: out of memory"));
    assert_eq!(q.lease(&lease("w1", 60.0)).await?, None);
    cluster.stop()?;
    Ok(())
}

#[tokio::test]
async fn a_result_is_stored_once_whoever_races_and_only_for_the_tasks_circuit() -> Result {
    let (cluster, q) = queue().await?;
    let q = Arc::new(q);
    q.enqueue(&task("a", 3)).await?;
    q.lease(&lease("w1", 60.0)).await?.ok_or("nothing leased")?;
    assert!(matches!(
        q.complete("w1", "a", "0xother", b"proof", 1.0).await,
        Err(Error::WrongCircuit { .. })
    ));
    assert!(matches!(
        q.complete("w1", "nope", VK, b"proof", 1.0).await,
        Err(Error::UnknownTask(_))
    ));
    // Eight completions at once (two coordinators' workers, a late worker): one is stored.
    let mut racers = Vec::new();
    for w in 0..8 {
        let url = cluster.url();
        racers.push(tokio::spawn(async move {
            let q = Queue::connect(&url).await?;
            q.complete(
                &format!("w{w}"),
                "a",
                VK,
                format!("proof {w}").as_bytes(),
                1.0,
            )
            .await
        }));
    }
    let mut stored = 0;
    for r in racers {
        if r.await?? == Completion::Stored {
            stored += 1;
        }
    }
    assert_eq!(stored, 1);
    let result = q.result("a").await?.ok_or("no result")?;
    assert_eq!(
        result.proof,
        format!("proof {}", &result.worker[1..]).into_bytes()
    );
    assert_eq!(q.task("a").await?.ok_or("no task")?.state, TaskState::Done);
    assert_eq!(q.stats().await?.done, 1);
    // What a coordinator polls, in one statement: the task with its result, one without, one the
    // queue does not hold.
    q.enqueue(&task("b", 3)).await?;
    let ids = ["a", "b", "nope"].map(String::from);
    let statuses = q.statuses(&ids).await?;
    assert_eq!(statuses.len(), 2);
    let (a, a_result) = &statuses["a"];
    assert_eq!(a.state, TaskState::Done);
    assert_eq!(a_result.as_ref(), Some(&result));
    let (b, b_result) = &statuses["b"];
    assert_eq!((b.state, b_result), (TaskState::Queued, &None));
    cluster.stop()?;
    Ok(())
}

#[tokio::test]
async fn a_rejected_result_is_removed_its_worker_named_and_the_task_proven_again() -> Result {
    let (cluster, q) = queue().await?;
    q.enqueue(&task("a", 3)).await?;
    q.lease(&lease("liar", 60.0))
        .await?
        .ok_or("nothing leased")?;
    q.complete("liar", "a", VK, b"wrong", 1.0).await?;
    // Only the result checked is rejected: another worker's name, or a repeated call, does nothing.
    assert!(!q.reject("a", "honest", "not this one").await?);
    assert!(q.reject("a", "liar", "does not verify").await?);
    assert!(
        !q.reject("a", "liar", "again").await?,
        "nothing left to reject"
    );
    assert_eq!(q.result("a").await?, None);
    let info = q.task("a").await?.ok_or("no task")?;
    assert_eq!(info.state, TaskState::Queued);
    assert!(
        info.last_error
            .is_some_and(|e| e.contains("liar was rejected: does not verify"))
    );
    // The rejection counted as an attempt: the next lease is the third of 3.
    let t = q
        .lease(&lease("honest", 60.0))
        .await?
        .ok_or("not requeued")?;
    assert_eq!(t.attempts, 3);
    assert_eq!(
        q.complete("honest", "a", VK, b"right", 1.0).await?,
        Completion::Stored
    );
    // A worker that only returns wrong proofs gets its task parked, not retried forever.
    q.enqueue(&task("b", 2)).await?;
    q.lease(&lease("liar", 60.0))
        .await?
        .ok_or("nothing leased")?;
    q.complete("liar", "b", VK, b"wrong", 1.0).await?;
    assert!(q.reject("b", "liar", "does not verify").await?);
    assert_eq!(
        q.task("b").await?.ok_or("no task")?.state,
        TaskState::Parked
    );
    cluster.stop()?;
    Ok(())
}

#[tokio::test]
async fn the_queue_survives_a_database_restart() -> Result {
    let (mut cluster, q) = queue().await?;
    q.enqueue(&task("a", 3)).await?;
    q.enqueue(&task("b", 3)).await?;
    q.lease(&lease("w1", 60.0)).await?.ok_or("nothing leased")?;
    cluster.restart().await?;
    // The old connection is gone, and says so; a new one finds everything committed before.
    let gone = q
        .stats()
        .await
        .err()
        .ok_or("the old connection still works")?;
    assert!(gone.is_connection(), "{gone}");
    let q = Queue::connect(&cluster.url()).await?;
    q.migrate().await?;
    assert_eq!(
        q.task("a").await?.ok_or("lost")?.lease_holder.as_deref(),
        Some("w1")
    );
    let b = q.lease(&lease("w2", 60.0)).await?.ok_or("nothing leased")?;
    assert_eq!(b.id, "b");
    assert_eq!(
        q.complete("w1", "a", VK, b"proof", 1.0).await?,
        Completion::Stored
    );
    cluster.stop()?;
    Ok(())
}
