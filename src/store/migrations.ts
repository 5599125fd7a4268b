/**
 * The schema, as an ordered list of steps. `PRAGMA user_version` records the last step applied;
 * `openDatabase` applies the rest, each in its own transaction. Never edit a step that has
 * shipped: append a new one.
 */
export interface Migration {
  /** 1, 2, 3, ...: the user_version the database has once this step is applied */
  version: number;
  description: string;
  sql: string;
}

/**
 * Stamped into the database header (`PRAGMA application_id`), so that a --db pointing at another
 * program's SQLite file is refused instead of having our tables added to it. ASCII "SAud".
 */
export const APPLICATION_ID = 0x53417564;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'workloads, syscalls, executables, unattributed, lost records, source positions',
    sql: `
      PRAGMA application_id = ${APPLICATION_ID};

      -- One row per container or host unit. The integer id keeps the big tables below narrow (a
      -- key is 74 bytes, repeated on every syscall row otherwise).
      CREATE TABLE workloads (
        id           INTEGER PRIMARY KEY,
        key          TEXT    NOT NULL UNIQUE,
        kind         TEXT    NOT NULL CHECK (kind IN ('container', 'host')),
        container_id TEXT,
        pod_uid      TEXT,
        namespace    TEXT,
        pod          TEXT,
        container    TEXT,
        runtime      TEXT,
        qos          TEXT,
        unit         TEXT,
        node         TEXT    NOT NULL,
        first_seen   INTEGER NOT NULL,
        last_seen    INTEGER NOT NULL
      );
      -- listWorkloads({ namespace }), workloadsOfPod, deletePod
      CREATE INDEX workloads_by_pod ON workloads (namespace, pod);
      -- prune
      CREATE INDEX workloads_by_last_seen ON workloads (last_seen);

      -- The syscall sets. Clustered on the primary key (WITHOUT ROWID): a workload's rows are
      -- contiguous, which is how profile export reads them, and the upsert needs no second index.
      CREATE TABLE syscalls (
        workload_id INTEGER NOT NULL REFERENCES workloads (id) ON DELETE CASCADE,
        audit_arch  INTEGER NOT NULL,
        syscall_nr  INTEGER NOT NULL,
        action      TEXT    NOT NULL,
        count       INTEGER NOT NULL CHECK (count >= 0),
        first_seen  INTEGER NOT NULL,
        last_seen   INTEGER NOT NULL,
        comm        TEXT,
        exe         TEXT,
        PRIMARY KEY (workload_id, audit_arch, syscall_nr, action)
      ) WITHOUT ROWID;

      CREATE TABLE executables (
        workload_id INTEGER NOT NULL REFERENCES workloads (id) ON DELETE CASCADE,
        exe         TEXT    NOT NULL,
        count       INTEGER NOT NULL CHECK (count >= 0),
        first_seen  INTEGER NOT NULL,
        last_seen   INTEGER NOT NULL,
        PRIMARY KEY (workload_id, exe)
      ) WITHOUT ROWID;

      CREATE TABLE unattributed (
        id         INTEGER PRIMARY KEY,
        comm       TEXT,
        exe        TEXT,
        reason     TEXT    NOT NULL,
        count      INTEGER NOT NULL CHECK (count >= 0),
        first_seen INTEGER NOT NULL,
        last_seen  INTEGER NOT NULL
      );
      -- comm and exe may be NULL, and a plain UNIQUE treats NULLs as distinct, so the upsert would
      -- never match them: group on an expression that gives NULL one value instead.
      CREATE UNIQUE INDEX unattributed_by_group
        ON unattributed (reason, ifnull(comm, char(0)), ifnull(exe, char(0)));

      CREATE TABLE lost_records (
        source TEXT    NOT NULL,
        reason TEXT    NOT NULL,
        count  INTEGER NOT NULL CHECK (count >= 0),
        PRIMARY KEY (source, reason)
      ) WITHOUT ROWID;

      CREATE TABLE source_positions (
        source     TEXT    NOT NULL PRIMARY KEY,
        position   TEXT    NOT NULL,
        updated_at INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    description: 'the owning workload of each pod (kind and name), from the Kubernetes API',
    sql: `
      -- NULL where the owner is not known (no API): the workload profile route then derives the
      -- workload from the pod's name. Added in place: existing rows keep their data, owners NULL.
      ALTER TABLE workloads ADD COLUMN owner_kind TEXT;
      ALTER TABLE workloads ADD COLUMN owner_name TEXT;
      -- the workload profile route: the pods of one owner in a namespace
      CREATE INDEX workloads_by_owner ON workloads (namespace, owner_name);
    `,
  },
  {
    version: 3,
    description: 'per-workload summaries and counters kept by the commit; indexes for paged lists',
    sql: `
      -- What the read side asks per container (distinct syscalls, records, violations, when the
      -- last new syscall came) kept current by each commit, so a list page costs its rows and not
      -- a GROUP BY over every syscall row. One row per workload, gone with it.
      CREATE TABLE workload_summaries (
        workload_id         INTEGER PRIMARY KEY REFERENCES workloads (id) ON DELETE CASCADE,
        -- distinct (audit arch, syscall number), whatever the action
        syscalls            INTEGER NOT NULL DEFAULT 0,
        records             INTEGER NOT NULL DEFAULT 0,
        -- records whose action was not log
        violations          INTEGER NOT NULL DEFAULT 0,
        -- distinct executables stored, and records of executables the cap kept out
        executables         INTEGER NOT NULL DEFAULT 0,
        executable_overflow INTEGER NOT NULL DEFAULT 0,
        -- convergence: the first record of the newest (arch, number), and the records counted
        -- when it was committed (records since = records - records_at_last_new)
        last_new_syscall_at INTEGER,
        records_at_last_new INTEGER NOT NULL DEFAULT 0
      );
      INSERT INTO workload_summaries (workload_id) SELECT id FROM workloads;
      WITH per_call AS (
        SELECT workload_id, min(first_seen) AS first, sum(count) AS n, sum(iif(action <> 'log', count, 0)) AS v
        FROM syscalls GROUP BY workload_id, audit_arch, syscall_nr
      ), per_workload AS (
        SELECT workload_id, count(*) AS calls, sum(n) AS n, sum(v) AS v, max(first) AS newest FROM per_call GROUP BY workload_id
      )
      -- what came after the newest call is not known for old rows: none, until the next one
      UPDATE workload_summaries SET syscalls = p.calls, records = p.n, violations = p.v, last_new_syscall_at = p.newest, records_at_last_new = p.n
      FROM per_workload p WHERE p.workload_id = workload_summaries.workload_id;
      UPDATE workload_summaries SET executables = e.n
      FROM (SELECT workload_id, count(*) AS n FROM executables GROUP BY workload_id) e WHERE e.workload_id = workload_summaries.workload_id;

      -- Totals that only grow (unattributed records per reason, records the key caps kept out)
      -- and the number of unattributed keys, kept by the commit instead of summed per scrape.
      CREATE TABLE counters (
        name  TEXT    NOT NULL PRIMARY KEY,
        value INTEGER NOT NULL
      ) WITHOUT ROWID;
      INSERT INTO counters (name, value) SELECT 'unattributed_records:' || reason, sum(count) FROM unattributed GROUP BY reason;
      INSERT INTO counters (name, value) SELECT 'unattributed_keys', count(*) FROM unattributed;

      -- GET /api/v1/pods: one entry per pod incarnation (uid), containers in order, read as a
      -- range from the last page's key (the pod uid may be unknown: '' sorts it first)
      CREATE INDEX workloads_by_pod_incarnation ON workloads (namespace, pod, ifnull(pod_uid, ''), container, key)
        WHERE namespace IS NOT NULL AND pod IS NOT NULL;
      -- GET /api/v1/units
      CREATE INDEX workloads_by_unit ON workloads (unit) WHERE kind = 'host';
      -- GET /api/v1/violations: the few rows whose action was not log, without reading the rest
      CREATE INDEX syscalls_violations ON syscalls (workload_id, audit_arch, syscall_nr, action) WHERE action <> 'log';
      -- prune
      CREATE INDEX unattributed_by_last_seen ON unattributed (last_seen);
    `,
  },
  {
    version: 4,
    description: 'the loss timeline: records lost per source and reason with the time they cover; the newest record time of each position',
    sql: `
      -- What lost_records counts, placed in time, so a profile can say whether its learning
      -- window overlaps a loss. from_ms..to_ms is the interval the lost records were made in, as
      -- far as the source can tell. Events of one source and reason that end in the same minute
      -- share a row (the interval widened to cover both, counts added): at most 1 440 rows a day
      -- per source and reason however often a source loses, at the price of intervals up to a
      -- minute wider than the events. Pruned with the workloads (by to_ms).
      CREATE TABLE loss_events (
        source TEXT    NOT NULL,
        reason TEXT    NOT NULL,
        -- to_ms / 60 000, rounded down: the bucket
        minute INTEGER NOT NULL,
        from_ms INTEGER NOT NULL,
        to_ms   INTEGER NOT NULL,
        count   INTEGER NOT NULL CHECK (count >= 0),
        PRIMARY KEY (source, reason, minute)
      ) WITHOUT ROWID;
      -- a window's overlapping losses: to_ms >= the window's start, through this index
      CREATE INDEX loss_events_by_to ON loss_events (to_ms);

      -- Losses counted before this step have no time. They are known, so they are not dropped:
      -- one event per source and reason from the oldest workload still stored (0 without one)
      -- to now, which marks every window learned before the upgrade as overlapping them; what is
      -- learned afterwards is judged by the timed events alone.
      INSERT INTO loss_events (source, reason, minute, from_ms, to_ms, count)
      SELECT source, reason, CAST(strftime('%s', 'now') AS INTEGER) / 60,
        ifnull((SELECT min(first_seen) FROM workloads), 0), CAST(strftime('%s', 'now') AS INTEGER) * 1000, count
      FROM lost_records WHERE count > 0;

      -- The time of the newest record a committed position covers: where a source's next loss
      -- of unknown start (a restart's daemon_down, a first signal after a restart) begins.
      -- NULL for positions committed before this step (updated_at stands in).
      ALTER TABLE source_positions ADD COLUMN record_time INTEGER;
    `,
  },
];
