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
];
