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
    // Only the lease holder's result is stored: a worker that never leased the task cannot
    // pre-empt the one proving it.
    assert_eq!(
        q.complete("w2", "a", VK, b"not leased", 1.0).await?,
        Completion::NotHolder
    );
    assert_eq!(q.result("a").await?, None);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // Eight completions at once by the holder (a retried upload, its answers lost): one is stored,
    // and every other says so.
    let mut racers = Vec::new();
    for w in 0..8 {
        let url = cluster.url();
        racers.push(tokio::spawn(async move {
            let q = Queue::connect(&url).await?;
            q.complete("w1", "a", VK, format!("proof {w}").as_bytes(), 1000.0)
                .await
        }));
    }
    let mut outcomes = Vec::new();
    for r in racers {
        outcomes.push(r.await??);
    }
    outcomes.sort_by_key(|c| *c != Completion::Stored);
    assert_eq!(outcomes[0], Completion::Stored);
    assert!(
        outcomes[1..]
            .iter()
            .all(|c| *c == Completion::AlreadyStored)
    );
    let result = q.result("a").await?.ok_or("no result")?;
    assert_eq!(result.worker, "w1");
    assert!(result.proof.starts_with(b"proof "));
    // The time reported is the database's, from the lease to the result, whatever the worker says.
    assert_eq!(result.seconds, 1000.0);
    let held = result.lease_seconds.ok_or("no lease time")?;
    assert!((0.3..30.0).contains(&held), "{held}");
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
    // Only the result checked is rejected: another worker's name, other bytes, or a repeated call
    // does nothing.
    assert!(!q.reject("a", "honest", b"wrong", "not this one").await?);
    assert!(!q.reject("a", "liar", b"checked", "not these bytes").await?);
    assert!(q.reject("a", "liar", b"wrong", "does not verify").await?);
    assert!(
        !q.reject("a", "liar", b"wrong", "again").await?,
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
    assert!(q.reject("b", "liar", b"wrong", "does not verify").await?);
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

#[tokio::test]
async fn a_worker_that_holds_a_task_too_long_loses_it_heartbeats_or_not() -> Result {
    let (cluster, q) = queue().await?;
    q.enqueue(&task("a", 3)).await?;
    q.lease(&lease("hung", 60.0))
        .await?
        .ok_or("nothing leased")?;
    assert!(q.heartbeat("hung", "a", Duration::from_secs(60)).await?);
    // An hour later (the clock moved by hand: the lease's start set back), its heartbeats, which a
    // hung prover's worker still sends, renew nothing.
    let (raw, connection) = tokio_postgres::connect(&cluster.url(), tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    raw.execute(
        "UPDATE proof_tasks SET leased_at = now() - make_interval(secs => $1::float8 + 1) WHERE id = 'a'",
        &[&rollup_prover_queue::MAX_HOLD_SECS],
    )
    .await?;
    assert!(!q.heartbeat("hung", "a", Duration::from_secs(60)).await?);
    // Once the lease it had runs out (set back by hand too), the next worker takes the task.
    raw.execute(
        "UPDATE proof_tasks SET lease_expires = now() - interval '1 second' WHERE id = 'a'",
        &[],
    )
    .await?;
    let t = q.lease(&lease("w2", 60.0)).await?.ok_or("not re-leased")?;
    assert_eq!((t.id.as_str(), t.attempts), ("a", 2));
    let info = q.task("a").await?.ok_or("no task")?;
    assert_eq!(info.lease_holder.as_deref(), Some("w2"));
    assert_eq!(
        info.last_error.as_deref(),
        Some("the lease of hung expired")
    );
    // The hung worker's late proof is dropped: the task is w2's now.
    assert_eq!(
        q.complete("hung", "a", VK, b"late", 1.0).await?,
        Completion::NotHolder
    );
    assert_eq!(
        q.complete("w2", "a", VK, b"proof", 1.0).await?,
        Completion::Stored
    );
    cluster.stop()?;
    Ok(())
}

/// The cluster's URL for login `user` (the test clusters trust every local connection).
fn url_as(cluster: &Cluster, user: &str) -> String {
    cluster
        .url()
        .replace("user=postgres", &format!("user={user}"))
}

#[tokio::test]
async fn a_workers_login_serves_its_own_tasks_and_nothing_else() -> Result {
    let (cluster, q) = queue().await?;
    q.enqueue(&task("a", 3)).await?;
    q.enqueue(&task("b", 3)).await?;
    let (admin, connection) =
        tokio_postgres::connect(&cluster.url(), tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    admin
        .batch_execute(
            "CREATE ROLE gpu1 LOGIN IN ROLE proof_queue_worker;
             CREATE ROLE gpu2 LOGIN IN ROLE proof_queue_worker;
             CREATE ROLE stranger LOGIN;",
        )
        .await?;
    let g1 = Queue::connect(&url_as(&cluster, "gpu1")).await?;
    let g2 = Queue::connect(&url_as(&cluster, "gpu2")).await?;
    // A worker's login finds the migrations applied (it could not apply them).
    g1.migrate().await?;
    // It acts under names of its own: `w` is `gpu1:w`, and gpu2 cannot pass for it.
    assert_eq!(g1.lease(&lease("w", 60.0)).await?.ok_or("nothing")?.id, "a");
    let holder = |id: &'static str| {
        let q = &q;
        async move { Ok::<_, Error>(q.task(id).await?.and_then(|t| t.lease_holder)) }
    };
    assert_eq!(holder("a").await?.as_deref(), Some("gpu1:w"));
    // A lease asked for a week lasts at most MAX_LEASE_SECS, whatever the worker asks.
    assert_eq!(
        g2.lease(&lease("gpu1:w", 7.0 * 86_400.0))
            .await?
            .ok_or("nothing")?
            .id,
        "b"
    );
    assert_eq!(holder("b").await?.as_deref(), Some("gpu2:gpu1:w"));
    let left: f64 = admin
        .query_one(
            "SELECT extract(epoch FROM lease_expires - now())::float8 FROM proof_tasks WHERE id = 'b'",
            &[],
        )
        .await?
        .try_get(0)?;
    assert!(left <= rollup_prover_queue::MAX_LEASE_SECS + 1.0, "{left}");
    assert_eq!(
        g2.complete("gpu1:w", "a", VK, b"forged", 1.0).await?,
        Completion::NotHolder
    );
    assert!(!g2.heartbeat("gpu1:w", "a", Duration::from_secs(60)).await?);
    assert_eq!(g2.fail("gpu1:w", "a", "sabotage").await?, None);
    assert!(!g2.release("gpu1:w", "a").await?);
    // Nothing but the functions: no table, no rejection, no requeue, no enqueue.
    let (raw, connection) =
        tokio_postgres::connect(&url_as(&cluster, "gpu2"), tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    for sql in [
        "SELECT count(*) FROM proof_tasks",
        "UPDATE proof_tasks SET lease_holder = 'gpu2:x' WHERE id = 'a'",
        "DELETE FROM proof_results",
    ] {
        let refused = raw.execute(sql, &[]).await.err().ok_or(sql)?;
        assert_eq!(
            refused.code(),
            Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE),
            "{sql}"
        );
    }
    // A temporary table of the caller's own, named as the queue's, changes nothing: the
    // functions never read the caller's temporary schema.
    raw.batch_execute(
        "CREATE TEMP TABLE proof_tasks (id TEXT, circuit TEXT, lease_holder TEXT, state TEXT);
         INSERT INTO proof_tasks VALUES ('a', '0xchunk', 'gpu2:x', 'leased');",
    )
    .await?;
    let name: String = raw
        .query_one("SELECT proof_queue_worker_name('gpu1:w')", &[])
        .await?
        .try_get(0)?;
    assert_eq!(name, "gpu2:gpu1:w");
    let stored: i64 = raw
        .query_one(
            "SELECT o_stored FROM proof_queue_complete('x', 'a', '0xchunk', '\\x00', 1)",
            &[],
        )
        .await?
        .try_get(0)?;
    assert_eq!(stored, 0);
    // Holding the migrations' lock (MIGRATION_LOCK) keeps no one from connecting once they are
    // applied.
    raw.execute("SELECT pg_advisory_lock(123636798154353)", &[])
        .await?;
    tokio::time::timeout(Duration::from_secs(5), g1.migrate()).await??;
    assert!(g2.reject("a", "gpu1:w", b"", "no").await.is_err());
    assert!(g2.requeue("a").await.is_err());
    assert!(g2.enqueue(&task("c", 3)).await.is_err());
    // A login outside proof_queue_worker cannot even lease.
    let stranger = Queue::connect(&url_as(&cluster, "stranger")).await?;
    assert!(stranger.lease(&lease("s", 60.0)).await.is_err());
    // A result over 4 MiB is refused; the holder's own is stored under its name.
    assert!(
        g1.complete("w", "a", VK, &vec![0; 4 * 1024 * 1024 + 1], 1.0)
            .await
            .is_err()
    );
    assert_eq!(
        g1.complete("w", "a", VK, b"proof", 1.0).await?,
        Completion::Stored
    );
    assert_eq!(q.result("a").await?.ok_or("no result")?.worker, "gpu1:w");
    cluster.stop()?;
    Ok(())
}

#[tokio::test]
async fn releases_give_their_attempt_back_three_times_then_count() -> Result {
    let (cluster, q) = queue().await?;
    q.enqueue(&task("a", 2)).await?;
    for _ in 0..3 {
        let t = q.lease(&lease("w", 60.0)).await?.ok_or("nothing leased")?;
        assert_eq!(t.attempts, 1);
        assert!(q.release("w", "a").await?);
    }
    // The fourth release counts: leasing, releasing and leasing again holds no task for ever.
    assert_eq!(
        q.lease(&lease("w", 60.0)).await?.ok_or("nothing")?.attempts,
        1
    );
    assert!(q.release("w", "a").await?);
    let info = q.task("a").await?.ok_or("no task")?;
    assert_eq!((info.state, info.attempts), (TaskState::Queued, 1));
    assert!(
        info.last_error
            .is_some_and(|e| e.contains("w gave the task back (release 4"))
    );
    // On its last attempt a counted release parks the task, for the operator to prove.
    assert_eq!(
        q.lease(&lease("w", 60.0)).await?.ok_or("nothing")?.attempts,
        2
    );
    assert!(q.release("w", "a").await?);
    assert_eq!(
        q.task("a").await?.ok_or("no task")?.state,
        TaskState::Parked
    );
    cluster.stop()?;
    Ok(())
}

#[tokio::test]
async fn a_shadow_login_leases_shadow_copies_only() -> Result {
    let (cluster, q) = queue().await?;
    q.enqueue(&task("production", 3)).await?;
    let mut shadow = task("shadow-production", 3);
    shadow.kind = rollup_prover_queue::shadow_kind("chunk");
    q.enqueue(&shadow).await?;
    let (admin, connection) =
        tokio_postgres::connect(&cluster.url(), tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    admin
        .batch_execute("CREATE ROLE trial LOGIN IN ROLE proof_queue_shadow")
        .await?;
    let trial = Queue::connect(&url_as(&cluster, "trial")).await?;
    let asking = |kinds: &[&str]| Lease {
        worker: "t".into(),
        kinds: kinds.iter().map(|k| k.to_string()).collect(),
        circuits: vec![VK.into()],
        duration: Duration::from_secs(60),
    };
    // Asking for production work gets none, though the production task is older.
    assert_eq!(trial.lease(&asking(&["chunk"])).await?, None);
    let t = trial
        .lease(&asking(&["chunk", "shadow:chunk"]))
        .await?
        .ok_or("no shadow copy leased")?;
    assert_eq!(t.id, "shadow-production");
    assert_eq!(
        q.task("production").await?.ok_or("no task")?.state,
        TaskState::Queued
    );
    cluster.stop()?;
    Ok(())
}

#[tokio::test]
async fn a_workers_link_never_migrates_and_waits_for_the_operator() -> Result {
    let cluster = Cluster::start().await?;
    let worker = rollup_prover_queue::Link::worker(cluster.url());
    let behind = worker
        .get()
        .await
        .err()
        .ok_or("an unmigrated queue served")?;
    assert!(matches!(behind, Error::SchemaBehind) && behind.is_connection());
    let (raw, connection) = tokio_postgres::connect(&cluster.url(), tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let tables: Option<String> = raw
        .query_one("SELECT to_regclass('proof_tasks')::text", &[])
        .await?
        .try_get(0)?;
    assert_eq!(tables, None, "the worker's link created the tables");
    // The coordinator's link migrates; the worker's then serves.
    rollup_prover_queue::Link::new(cluster.url()).get().await?;
    worker.get().await?.stats().await?;
    cluster.stop()?;
    Ok(())
}
