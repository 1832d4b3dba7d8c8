-- The proof queue (client/prover-queue): one row per proof task, one row per result.
--
-- A task's life: queued -> leased (a worker holds it until lease_expires, renewed by heartbeats)
-- -> done (its result stored) | queued again (failed, released, lease expired, result rejected)
-- | parked (failed max_attempts times: reported, never retried until an operator requeues it).

CREATE TABLE proof_tasks (
    -- Chosen by the coordinator, stable across retries and restarts: enqueueing it again is a no-op.
    id            TEXT PRIMARY KEY,
    -- The task's type (chunk, node, batch, compressed, ...): workers lease only the types they serve.
    kind          TEXT NOT NULL,
    -- The circuit version: the digest of the verifying key a result must be made with.
    circuit       TEXT NOT NULL,
    -- The task's inputs, opaque to the queue.
    input         BYTEA NOT NULL,
    state         TEXT NOT NULL DEFAULT 'queued'
                  CHECK (state IN ('queued', 'leased', 'done', 'parked')),
    lease_holder  TEXT,
    lease_expires TIMESTAMPTZ,
    -- When the current (or last) lease was taken: the lease age the metrics report.
    leased_at     TIMESTAMPTZ,
    -- Leases taken, the current one included; a release on shutdown gives its attempt back.
    attempts      INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts  INTEGER NOT NULL CHECK (max_attempts > 0),
    last_error    TEXT,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((state = 'leased') = (lease_holder IS NOT NULL AND lease_expires IS NOT NULL))
);

-- What a lease scans: the oldest task a worker may take.
CREATE INDEX proof_tasks_ready ON proof_tasks (kind, circuit, created_at, id)
    WHERE state IN ('queued', 'leased');

CREATE TABLE proof_results (
    task_id    TEXT PRIMARY KEY REFERENCES proof_tasks (id) ON DELETE CASCADE,
    -- The verifying-key digest the worker proved with; it must be the task's circuit.
    vk_digest  TEXT NOT NULL,
    proof      BYTEA NOT NULL,
    worker     TEXT NOT NULL,
    seconds    DOUBLE PRECISION NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
