import { closeSync, constants, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { APPLICATION_ID, MIGRATIONS, type Migration } from './migrations.js';
import { StoreError, storeErrorFrom } from './store-error.js';

export interface OpenDatabaseOptions {
  /** the database file; parent directories are created. `:memory:` works too, for tools. */
  path: string;
  /** how long a statement waits for another connection's write lock before SA_DB_BUSY (default 5000) */
  busyTimeoutMs?: number;
  /** the schema steps; tests pass their own to exercise the runner */
  migrations?: readonly Migration[];
}

/**
 * Opens the database, checks it is ours and not from the future, and brings its schema up to
 * date. Every failure is a StoreError whose message names the path and the fix; the connection is
 * closed before throwing, so a caller that retries later leaks nothing.
 */
export function openDatabase(options: OpenDatabaseOptions): Database.Database {
  const migrations = options.migrations ?? MIGRATIONS;
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${i + 1} is numbered ${m.version}: versions must run 1, 2, 3, ...`);
  });
  const path = options.path === ':memory:' ? options.path : resolve(options.path);
  if (path !== ':memory:') {
    try {
      mkdirSync(dirname(path), { recursive: true });
      // created here, owner-only, before SQLite would create it 0644: it names every pod and what
      // it runs, and SQLite gives the -wal and -shm files the main file's mode
      closeSync(openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw storeErrorFrom(err, path);
    }
  }
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { timeout: options.busyTimeoutMs ?? 5000 });
    refuseUnknown(db, path, migrations);
    checkPages(db, path);
    // WAL: the HTTP side reads while a batch commits, and a commit costs one append instead of a
    // rewrite of the pages plus a rollback journal. NORMAL sync in WAL mode can lose the last
    // commits on power loss but never corrupts, and positions are in the same transactions as
    // the counts, so what is lost is simply read again from the source.
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal' && path !== ':memory:') {
      throw new StoreError('SA_DB_IO', path, `${path} cannot use write-ahead logging (journal_mode stays ${String(mode)}): put it on a local file system or choose --db`);
    }
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    // Statement journals in memory. Every statement that may fail half-done (a CHECK, a foreign
    // key, RETURNING) copies each page it changes into a statement journal inside a transaction,
    // and SQLite moves that journal to a temporary file once one statement's grows past 64 KiB,
    // after which every later statement of the transaction writes its page copy there: on the
    // 30-day ingest 2.1 M of 2.6 M pwrite calls, one per syscall row. In memory it is a copy, no
    // system call. What it holds is one statement's changed pages, released at its end: a row's
    // page or two for a commit, more for one large DELETE (a prune of a day's containers: their
    // rows' pages, a few MB) or a migration's back-fill. The ingest's other temporaries are none
    // (its statements sort nothing). The page cache stays better-sqlite3's 16 MB default.
    db.pragma('temp_store = MEMORY');
    // a long ingest can grow the WAL far beyond its steady size; give the space back once checkpointed
    db.pragma('journal_size_limit = 67108864');
    migrate(db, path, migrations);
    return db;
  } catch (err) {
    db?.close();
    throw storeErrorFrom(err, path);
  }
}

/**
 * Opens a database that another connection of this process opened with openDatabase (so it
 * exists, is ours, was checked and migrated) for reading only: nothing is created, migrated or
 * switched to WAL, and a write through it fails. In WAL mode (which the writer set) it reads
 * while the writer commits, each read seeing the last commit before it started.
 */
export function openReadOnlyDatabase(options: { path: string; busyTimeoutMs?: number | undefined }): Database.Database {
  const path = resolve(options.path);
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true, timeout: options.busyTimeoutMs ?? 5000 });
    refuseUnknown(db, path);
    const known = MIGRATIONS.at(-1)?.version ?? 0;
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version !== known) {
      throw new StoreError('SA_DB_IO', path, `${path} has schema version ${version}, not ${known}: the daemon migrates it when it opens it; a read-only reader found it before that (report this bug)`);
    }
    db.pragma('temp_store = MEMORY');
    // a reader's pages are read from the kernel's page cache, which holds the file for both
    // connections: 4 MB of our own instead of better-sqlite3's 16 MB per connection
    db.pragma('cache_size = -4096');
    return db;
  } catch (err) {
    db?.close();
    throw storeErrorFrom(err, path);
  }
}

/**
 * Throws the StoreError that says why this file is not a database we may use (another program's,
 * or of a newer schema). Reads only, so a database we refuse is left exactly as it was (not even
 * switched to WAL); the doctor runs it on a read-only handle.
 */
export function refuseUnknown(db: Database.Database, path: string, migrations: readonly Migration[] = MIGRATIONS): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  const appId = db.pragma('application_id', { simple: true }) as number;
  const known = migrations.at(-1)?.version ?? 0;
  if (appId !== 0 && appId !== APPLICATION_ID) {
    throw new StoreError('SA_DB_FOREIGN', path, `${path} is an SQLite database of another program (application_id 0x${(appId >>> 0).toString(16)}): choose another --db; it was not modified`);
  }
  if (appId === 0) {
    const tables = db.prepare("SELECT count(*) FROM sqlite_schema WHERE type = 'table'").pluck().get() as number;
    if (tables > 0) {
      throw new StoreError('SA_DB_FOREIGN', path, `${path} is an SQLite database of another program (${tables} tables, no seccomp-auditor stamp): choose another --db; it was not modified`);
    }
  }
  if (version > known) {
    throw new StoreError('SA_DB_NEWER', path, `${path} has schema version ${version}, newer than this seccomp-auditor knows (${known}): upgrade seccomp-auditor or choose another --db; it was not modified`);
  }
}

/**
 * A partly damaged file opens fine and answers until a statement reaches a bad page, so the daemon
 * would look ready and fail later, one request at a time. `quick_check` reads every page once
 * (b-tree structure, record format; not the slower index-against-table cross-check of
 * integrity_check). Its cost grows with the file: a 100 MB database took 0.42 s warm on the
 * development machine (integrity_check 1.0 s); a node's database is usually tens of MB. It runs
 * only at open (start, and a reopen after the file was replaced), never per commit, so it is
 * paid once: worth it to refuse a damaged file before anything is served or written on top of it.
 */
function checkPages(db: Database.Database, path: string): void {
  if (path === ':memory:') return;
  const problems = db.pragma('quick_check(3)', { simple: false }) as { quick_check: string }[];
  const first = problems[0]?.quick_check;
  if (first === undefined || first === 'ok') return;
  const detail = problems.map((p) => p.quick_check).join('; ').replace(/[\x00-\x1f]/g, ' ').slice(0, 300);
  throw new StoreError('SA_DB_CORRUPT', path, `${path} is corrupt (quick_check: ${detail}): move it aside and restart (a new database is created), or recover it with sqlite3's .recover; it was not modified`);
}

/**
 * Applies each missing step in its own IMMEDIATE transaction, re-reading the version inside it:
 * two daemons started on one file at once cannot both apply a step.
 */
function migrate(db: Database.Database, path: string, migrations: readonly Migration[]): void {
  const step = db.transaction((m: Migration): boolean => {
    if ((db.pragma('user_version', { simple: true }) as number) >= m.version) return false;
    try {
      db.exec(m.sql);
    } catch (err) {
      const sqlite = (err as { code?: unknown }).code;
      // full disk and the like keep their own code; anything else is a bug in the step
      if (typeof sqlite === 'string' && /^SQLITE_(ERROR|CONSTRAINT)/.test(sqlite)) {
        throw new StoreError('SA_DB_MIGRATION', path, `${path}: schema migration ${m.version} (${m.description}) failed (${(err as Error).message}): report this bug; the database stays at version ${m.version - 1}`, { cause: err });
      }
      throw err;
    }
    db.pragma(`user_version = ${m.version}`);
    return true;
  });
  for (const m of migrations) step.immediate(m);
  // A file SQLite could only open read-only (an immutable file, say) passes everything above when
  // no step was due: BEGIN IMMEDIATE succeeds on it. Rewriting the version in place is a real write
  // (one page), so an unwritable database fails here, at open, instead of at the first batch.
  db.pragma(`user_version = ${db.pragma('user_version', { simple: true }) as number}`);
}
