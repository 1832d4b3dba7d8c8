-- Access control: what a worker's database login may do.
--
-- Workers need no rights on the tables. They call the five functions below, which run with the
-- rights of the queue's owner (SECURITY DEFINER) and act only under a worker name the caller may
-- use (proof_queue_worker_name):
--   - a role that may update proof_tasks itself (the owner, the operator's login) uses any name;
--   - any other role (a worker's login, made a member of proof_queue_worker) only names of its
--     own, '<its role>:<name>': a name without that prefix gets it.
-- So a worker's login can lease, renew, store, fail and release its own tasks and nothing else: not
-- another login's task or result, not a table, not a migration, a rejection or a requeue, which
-- stay the operator's. The limits a worker could otherwise stretch (the lease, how long one lease
-- is held, the size of a proof or an error) are enforced here, whatever it asks.
--
-- A member of proof_queue_shadow (which is a member of proof_queue_worker) is a shadow worker's
-- login: it leases only shadow copies (`shadow:<kind>`), whatever kinds it asks for, so a prover on
-- trial never takes production work.
--
-- The roles belong to the whole cluster: a login in them may call these functions in every
-- database of the cluster that has the queue and lets it connect. Creating them needs CREATEROLE,
-- or a DBA who created them beforehand. Docs: docs/operator.md, "Prover workers".

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'proof_queue_worker') THEN
        CREATE ROLE proof_queue_worker NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'proof_queue_shadow') THEN
        CREATE ROLE proof_queue_shadow NOLOGIN IN ROLE proof_queue_worker;
    END IF;
END
$$;

-- The functions run as the owner, so every name in them must resolve to the owner's objects: the
-- built-ins first (no operator or function a caller created can stand in for one), then the schema
-- the queue's tables are in, and the caller's temporary schema last (a temporary `proof_tasks`
-- never shadows the real one). `SET search_path FROM CURRENT` below keeps this path.
SELECT set_config('search_path', 'pg_catalog, ' || quote_ident(current_schema()) || ', pg_temp', true);

-- The name the caller acts under (see above); empty or over 200 bytes is refused, and so is a
-- restricted login whose own name has a ':' (its names could pass for another login's).
CREATE FUNCTION proof_queue_worker_name(p_name TEXT) RETURNS TEXT
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    login TEXT := session_user::text;
BEGIN
    IF p_name IS NULL OR octet_length(p_name) NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION 'a worker name is 1 to 200 bytes' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF has_table_privilege(session_user, 'proof_tasks'::regclass, 'UPDATE') THEN
        RETURN p_name;
    END IF;
    IF strpos(login, ':') > 0 THEN
        RAISE EXCEPTION 'a worker login''s name may not contain '':'': %', login
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF starts_with(p_name, login || ':') THEN
        RETURN p_name;
    END IF;
    RETURN login || ':' || p_name;
END
$$;

-- The kinds the caller may lease out of `p_kinds`: a shadow login's shadow copies only.
CREATE FUNCTION proof_queue_kinds(p_kinds TEXT[]) RETURNS TEXT[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
    SELECT CASE
        WHEN has_table_privilege(session_user, 'proof_tasks'::regclass, 'UPDATE')
          OR NOT pg_has_role(session_user, 'proof_queue_shadow', 'MEMBER') THEN p_kinds
        ELSE ARRAY(SELECT k FROM unnest(p_kinds) AS k WHERE starts_with(k, 'shadow:'))
    END
$$;

-- Queue::lease: the task the worker holds, if any (a repeated call after a lost answer); else the
-- expired leases on their last attempt are parked, and the oldest task of the worker's kinds and
-- circuits that is queued, or whose lease expired, is leased for at most 600 s.
CREATE FUNCTION proof_queue_lease(p_worker TEXT, p_kinds TEXT[], p_circuits TEXT[], p_secs DOUBLE PRECISION)
RETURNS TABLE (o_id TEXT, o_kind TEXT, o_circuit TEXT, o_input BYTEA, o_attempts INTEGER)
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    w TEXT := proof_queue_worker_name(p_worker);
    kinds TEXT[] := proof_queue_kinds(p_kinds);
BEGIN
    RETURN QUERY
        SELECT t.id, t.kind, t.circuit, t.input, t.attempts FROM proof_tasks t
        WHERE t.state = 'leased' AND t.lease_holder = w AND t.lease_expires >= now()
          AND t.kind = ANY (kinds) AND t.circuit = ANY (p_circuits)
        ORDER BY t.leased_at, t.id
        LIMIT 1;
    IF FOUND THEN
        RETURN;
    END IF;
    UPDATE proof_tasks t
    SET state = 'parked', lease_holder = NULL, lease_expires = NULL, updated_at = now(),
        last_error = 'the lease of ' || t.lease_holder || ' expired on its last attempt'
    WHERE t.state = 'leased' AND t.lease_expires < now() AND t.attempts >= t.max_attempts;
    RETURN QUERY
        UPDATE proof_tasks t
        SET state = 'leased', lease_holder = w,
            lease_expires = now() + make_interval(secs => LEAST(GREATEST(p_secs, 0), 600)),
            leased_at = now(), attempts = t.attempts + 1, updated_at = now(),
            last_error = CASE WHEN t.state = 'leased'
                              THEN 'the lease of ' || t.lease_holder || ' expired'
                              ELSE t.last_error END
        FROM (SELECT c.id FROM proof_tasks c
              WHERE c.kind = ANY (kinds) AND c.circuit = ANY (p_circuits)
                AND (c.state = 'queued'
                     OR (c.state = 'leased' AND c.lease_expires < now()
                         AND c.attempts < c.max_attempts))
              ORDER BY c.created_at, c.id
              LIMIT 1
              FOR UPDATE SKIP LOCKED) picked
        WHERE t.id = picked.id
        RETURNING t.id, t.kind, t.circuit, t.input, t.attempts;
END
$$;

-- Queue::heartbeat: renews the worker's lease for at most 600 s, and not at all once the lease is
-- an hour old (a prover hung while its heartbeats go on loses the task).
CREATE FUNCTION proof_queue_heartbeat(p_worker TEXT, p_id TEXT, p_secs DOUBLE PRECISION)
RETURNS BOOLEAN
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE proof_tasks t
    SET lease_expires = now() + make_interval(secs => LEAST(GREATEST(p_secs, 0), 600)),
        updated_at = now()
    WHERE t.id = p_id AND t.state = 'leased' AND t.lease_holder = proof_queue_worker_name(p_worker)
      AND t.leased_at > now() - make_interval(secs => 3600);
    RETURN FOUND;
END
$$;

-- Queue::complete: stores the lease holder's proof (at most 4 MiB) if the task has no result and
-- the proof was made with its circuit; returns the task's circuit, whether this call stored it,
-- and whether the task was done before (no row: no such task).
CREATE FUNCTION proof_queue_complete(p_worker TEXT, p_id TEXT, p_vk_digest TEXT, p_proof BYTEA,
                                     p_seconds DOUBLE PRECISION)
RETURNS TABLE (o_circuit TEXT, o_stored BIGINT, o_was_done BOOLEAN)
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    w TEXT := proof_queue_worker_name(p_worker);
BEGIN
    IF octet_length(p_proof) > 4194304 THEN
        RAISE EXCEPTION 'a result of % bytes: the queue stores at most 4 MiB', octet_length(p_proof)
            USING ERRCODE = 'program_limit_exceeded';
    END IF;
    RETURN QUERY
        WITH task AS (
            SELECT t.id, t.circuit, t.lease_holder, t.state FROM proof_tasks t
            WHERE t.id = p_id
            FOR UPDATE
        ), stored AS (
            INSERT INTO proof_results (task_id, vk_digest, proof, worker, seconds)
            SELECT task.id, p_vk_digest, p_proof, w, p_seconds FROM task
            WHERE task.circuit = p_vk_digest AND task.lease_holder = w
            ON CONFLICT (task_id) DO NOTHING
            RETURNING task_id
        ), done AS (
            UPDATE proof_tasks t
            SET state = 'done', lease_holder = NULL, lease_expires = NULL, updated_at = now()
            WHERE t.id IN (SELECT task_id FROM stored)
            RETURNING t.id
        )
        SELECT task.circuit, (SELECT count(*) FROM done), task.state = 'done' FROM task;
END
$$;

-- Queue::fail: the worker's task queued again, or parked on its last attempt; returns the new
-- state, or NULL when the worker does not hold the task. The error is kept to 2,000 characters.
CREATE FUNCTION proof_queue_fail(p_worker TEXT, p_id TEXT, p_error TEXT) RETURNS TEXT
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    w TEXT := proof_queue_worker_name(p_worker);
    new_state TEXT;
BEGIN
    UPDATE proof_tasks t
    SET state = CASE WHEN t.attempts >= t.max_attempts THEN 'parked' ELSE 'queued' END,
        lease_holder = NULL, lease_expires = NULL, updated_at = now(),
        last_error = w || ': ' || left(p_error, 2000)
    WHERE t.id = p_id AND t.state = 'leased' AND t.lease_holder = w
    RETURNING t.state INTO new_state;
    RETURN new_state;
END
$$;

-- Releases of one task that give their attempt back: after them a release counts as an attempt,
-- so no worker can hold a task for ever by leasing, releasing and leasing it again.
ALTER TABLE proof_tasks ADD COLUMN releases INTEGER NOT NULL DEFAULT 0;

-- Queue::release: the worker's task queued again, its attempt given back (its first three
-- releases; after them the attempt counts, and the last one parks the task).
CREATE FUNCTION proof_queue_release(p_worker TEXT, p_id TEXT) RETURNS BOOLEAN
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    w TEXT := proof_queue_worker_name(p_worker);
BEGIN
    UPDATE proof_tasks t
    SET state = CASE WHEN t.releases >= 3 AND t.attempts >= t.max_attempts
                     THEN 'parked' ELSE 'queued' END,
        lease_holder = NULL, lease_expires = NULL,
        attempts = t.attempts - CASE WHEN t.releases < 3 THEN 1 ELSE 0 END,
        releases = t.releases + 1,
        last_error = CASE WHEN t.releases >= 3
                          THEN w || ' gave the task back (release ' || (t.releases + 1)
                               || ', counted as an attempt)'
                          ELSE t.last_error END,
        updated_at = now()
    WHERE t.id = p_id AND t.state = 'leased' AND t.lease_holder = w;
    RETURN FOUND;
END
$$;

REVOKE ALL ON proof_tasks, proof_results, proof_queue_migrations FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION
    proof_queue_worker_name(TEXT),
    proof_queue_kinds(TEXT[]),
    proof_queue_lease(TEXT, TEXT[], TEXT[], DOUBLE PRECISION),
    proof_queue_heartbeat(TEXT, TEXT, DOUBLE PRECISION),
    proof_queue_complete(TEXT, TEXT, TEXT, BYTEA, DOUBLE PRECISION),
    proof_queue_fail(TEXT, TEXT, TEXT),
    proof_queue_release(TEXT, TEXT)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    proof_queue_worker_name(TEXT),
    proof_queue_kinds(TEXT[]),
    proof_queue_lease(TEXT, TEXT[], TEXT[], DOUBLE PRECISION),
    proof_queue_heartbeat(TEXT, TEXT, DOUBLE PRECISION),
    proof_queue_complete(TEXT, TEXT, TEXT, BYTEA, DOUBLE PRECISION),
    proof_queue_fail(TEXT, TEXT, TEXT),
    proof_queue_release(TEXT, TEXT)
TO proof_queue_worker;
-- What Queue::migrate reads to find every migration applied.
GRANT SELECT ON proof_queue_migrations TO proof_queue_worker;
