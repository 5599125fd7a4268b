import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { APPLICATION_ID, MIGRATIONS, type Migration } from '../../src/store/migrations.js';
import { openDatabase } from '../../src/store/open-database.js';
import { StoreError } from '../../src/store/store-error.js';
import { SyscallStore } from '../../src/store/syscall-store.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { batch, syscall, workload } from './batches.js';
import { chattr, mountsUnavailable, remount, tempDir, tinyTmpfs } from './scratch-mounts.js';

// Every case runs against a real file; the failure cases against real file-system conditions
// (garbage bytes, a read-only mount, an immutable file, a full tmpfs, an unprivileged user).

function storeError(t: Test, f: () => unknown, code: string): StoreError | undefined {
  try {
    f();
  } catch (err) {
    if (!(err instanceof StoreError)) {
      t.fail(`expected a StoreError ${code}, got ${String(err)}`);
      return undefined;
    }
    t.equal(err.code, code, err.message);
    t.notMatch(err.message, /\n/, 'one line');
    return err;
  }
  t.fail(`expected ${code}, nothing was thrown`);
  return undefined;
}

t.test('a new database gets the whole schema, in WAL mode, under directories that did not exist', (t) => {
  const path = join(tempDir(t), 'a', 'b', 'auditor.db');
  const db = openDatabase({ path });
  t.teardown(() => db.close());
  t.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
  t.equal(db.pragma('application_id', { simple: true }), APPLICATION_ID);
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  t.equal(db.pragma('synchronous', { simple: true }), 1, 'NORMAL');
  t.equal(db.pragma('foreign_keys', { simple: true }), 1);
  // statement journals never become temporary files (see open-database.ts: a pwrite per row otherwise)
  t.equal(db.pragma('temp_store', { simple: true }), 2, 'MEMORY');
  t.ok((db.pragma('busy_timeout', { simple: true }) as number) >= 1000);
  const names = db.prepare("SELECT type || ' ' || name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY 1").pluck().all();
  t.same(names, [
    'index loss_events_by_to', 'index syscalls_violations', 'index unattributed_by_group', 'index unattributed_by_last_seen', 'index workloads_by_last_seen',
    'index workloads_by_owner', 'index workloads_by_pod', 'index workloads_by_pod_incarnation', 'index workloads_by_unit',
    'table counters', 'table executables', 'table loss_events', 'table lost_records', 'table source_positions', 'table syscalls', 'table unattributed',
    'table workload_summaries', 'table workloads',
  ]);
  t.same(db.pragma('foreign_key_check'), [], 'no dangling references');
  t.same(db.pragma('integrity_check', { simple: true }), 'ok');
  t.end();
});

t.test('re-opening keeps the data and applies nothing twice', (t) => {
  const path = join(tempDir(t), 'auditor.db');
  const first = SyscallStore.open({ path });
  first.commitBatch(batch({ workloads: [workload('unit:sshd.service')], positions: [{ source: 'kmsg', position: 'b:1' }] }));
  first.close();
  const again = SyscallStore.open({ path });
  t.teardown(() => again.close());
  t.equal(again.position('kmsg'), 'b:1');
  t.equal(again.listWorkloads().length, 1);
  const raw = new Database(path, { readonly: true });
  t.equal(raw.pragma('user_version', { simple: true }), MIGRATIONS.length);
  raw.close();
  t.end();
});

t.test('migrations: each step in its own transaction; a failing step leaves the version before it', (t) => {
  const path = join(tempDir(t), 'auditor.db');
  const m1: Migration = { version: 1, description: 'one', sql: `PRAGMA application_id = ${APPLICATION_ID}; CREATE TABLE one (x);` };
  const broken: Migration = { version: 2, description: 'two', sql: 'CREATE TABLE two (x); INSERT INTO nowhere VALUES (1);' };
  const err = storeError(t, () => openDatabase({ path, migrations: [m1, broken] }), 'SA_DB_MIGRATION');
  t.match(err?.message, `${path}: schema migration 2 (two) failed`);
  t.match(err?.message, 'the database stays at version 1');
  let raw = new Database(path, { readonly: true });
  t.equal(raw.pragma('user_version', { simple: true }), 1, 'step 1 committed');
  t.same(raw.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY 1").pluck().all(), ['one'], 'step 2 rolled back whole');
  raw.close();
  const fixed: Migration = { version: 2, description: 'two', sql: 'CREATE TABLE two (x);' };
  openDatabase({ path, migrations: [m1, fixed] }).close();
  raw = new Database(path, { readonly: true });
  t.equal(raw.pragma('user_version', { simple: true }), 2);
  raw.close();
  t.throws(() => openDatabase({ path, migrations: [m1, { ...fixed, version: 3 }] }), /numbered 3/, 'a gap in the list is a bug, caught before opening');
  t.end();
});

t.test('a database from a newer seccomp-auditor is refused and left as it was', (t) => {
  const path = join(tempDir(t), 'auditor.db');
  openDatabase({ path }).close();
  const raw = new Database(path);
  raw.pragma(`user_version = ${MIGRATIONS.length + 5}`);
  raw.close();
  const before = readFileSync(path);
  const err = storeError(t, () => SyscallStore.open({ path }), 'SA_DB_NEWER');
  t.equal(err?.message, `${path} has schema version ${MIGRATIONS.length + 5}, newer than this seccomp-auditor knows (${MIGRATIONS.length}): upgrade seccomp-auditor or choose another --db; it was not modified`);
  t.ok(readFileSync(path).equals(before), 'not modified');
  t.end();
});

t.test('a file of garbage bytes is refused as corrupt and left as it was', (t) => {
  const path = join(tempDir(t), 'auditor.db');
  const garbage = randomBytes(16384);
  writeFileSync(path, garbage);
  const err = storeError(t, () => SyscallStore.open({ path }), 'SA_DB_CORRUPT');
  t.equal(err?.message, `${path} is not a seccomp-auditor database or is corrupt (SQLITE_NOTADB): move it aside and restart; data in it is not read`);
  t.ok(readFileSync(path).equals(garbage), 'not modified');
  t.end();
});

t.test('damaged pages inside a valid database surface as SA_DB_CORRUPT from the read that hits them', (t) => {
  const path = join(tempDir(t), 'auditor.db');
  const store = SyscallStore.open({ path });
  const key = 'unit:big.service';
  store.commitBatch(batch({ workloads: [workload(key)], syscalls: Array.from({ length: 3000 }, (_, i) => syscall(key, i)) }));
  store.close();
  const bytes = readFileSync(path);
  const page = 4096;
  // keep page 1 (header and schema), scribble over every page after it
  for (let off = page; off < bytes.length; off += page) randomBytes(page).copy(bytes, off);
  writeFileSync(path, bytes);
  let damaged: SyscallStore | undefined;
  const err = storeError(t, () => {
    damaged = SyscallStore.open({ path });
    damaged.syscallsOf([key]);
  }, 'SA_DB_CORRUPT');
  damaged?.close();
  t.match(err?.message, /\(SQLITE_CORRUPT\w*\): move it aside and restart/);
  t.end();
});

t.test("another program's SQLite database is refused and left as it was", (t) => {
  const path = join(tempDir(t), 'other.db');
  const raw = new Database(path);
  raw.exec('CREATE TABLE customers (name TEXT)');
  raw.close();
  const before = readFileSync(path);
  const err = storeError(t, () => SyscallStore.open({ path }), 'SA_DB_FOREIGN');
  t.equal(err?.message, `${path} is an SQLite database of another program (1 tables, no seccomp-auditor stamp): choose another --db; it was not modified`);
  t.ok(readFileSync(path).equals(before), 'not switched to WAL or anything else');
  t.end();
});

t.test('a directory where the file should be', (t) => {
  const path = tempDir(t);
  t.equal(storeError(t, () => SyscallStore.open({ path }), 'SA_DB_IO')?.message, `cannot open ${path}: it is a directory (SQLITE_CANTOPEN): give --db a file path`);
  t.end();
});

t.test('read-only file system (a tmpfs remounted ro)', { skip: mountsUnavailable() ?? false }, (t) => {
  const dir = tinyTmpfs(t, 1 << 20);
  const path = join(dir, 'auditor.db');
  SyscallStore.open({ path }).close();
  remount(dir, 'ro');
  const existing = storeError(t, () => SyscallStore.open({ path }), 'SA_DB_READONLY');
  t.match(existing?.message, `cannot write ${path}: read-only file system (EROFS`);
  t.match(existing?.message, /: run as a user that can write it or choose --db$/);
  const fresh = join(dir, 'new.db');
  t.match(storeError(t, () => SyscallStore.open({ path: fresh }), 'SA_DB_READONLY')?.message, `cannot write ${fresh}: read-only file system (EROFS`);
  const nested = join(dir, 'sub', 'new.db');
  t.match(storeError(t, () => SyscallStore.open({ path: nested }), 'SA_DB_READONLY')?.message, `cannot write ${nested}: read-only file system (EROFS): run`, 'mkdir of the parent fails first');
  t.end();
});

t.test('an immutable database file (chattr +i) stops even root', { skip: mountsUnavailable() ?? false }, (t) => {
  // on a tmpfs, so teardown can drop the immutable file with the mount even if chattr -i fails
  const dir = tinyTmpfs(t, 1 << 20);
  const path = join(dir, 'auditor.db');
  SyscallStore.open({ path }).close();
  chattr('+i', path);
  t.teardown(() => chattr('-i', path));
  t.match(storeError(t, () => SyscallStore.open({ path }), 'SA_DB_READONLY')?.message, `cannot write ${path}: operation not permitted (an immutable file?) (EPERM`);
  t.end();
});

t.test('a user without write permission (a child running as nobody)', { skip: process.getuid?.() === 0 ? false : 'needs root to switch user' }, (t) => {
  // chmod cannot stop root, so the realistic case (a non-root daemon and a root-owned
  // /var/lib/seccomp-auditor) is played by a child process with uid and gid 65534
  const dir = tempDir(t);
  const cases = [join(dir, 'auditor.db'), join(dir, 'missing', 'auditor.db')];
  for (const path of cases) {
    const script = fileURLToPath(new URL('./open-as-child.ts', import.meta.url));
    // `env -u`: tap adds its process-info hook to NODE_OPTIONS of every child it sees spawned, and
    // that hook would try to write under .tap/ as nobody
    const child = spawnSync('env', ['-u', 'NODE_OPTIONS', process.execPath, '--import', 'tsx', script, path], {
      cwd: REPO_ROOT, uid: 65534, gid: 65534, encoding: 'utf8', timeout: 30_000,
    });
    t.equal(child.status, 0, child.stderr);
    const out = JSON.parse(child.stdout || '{}') as { code?: string; message?: string };
    t.equal(out.code, 'SA_DB_READONLY');
    t.match(out.message, `cannot write ${path}: permission denied (EACCES`);
    t.match(out.message, /run as a user that can write it or choose --db$/);
  }
  t.end();
});

t.test('a full disk at open (a full tmpfs)', { skip: mountsUnavailable() ?? false }, (t) => {
  const dir = tinyTmpfs(t, 256 * 1024);
  const filler = join(dir, 'filler');
  try {
    writeFileSync(filler, Buffer.alloc(1 << 20));
  } catch (err) {
    t.equal((err as NodeJS.ErrnoException).code, 'ENOSPC', 'the tmpfs is full');
  }
  const path = join(dir, 'auditor.db');
  const err = storeError(t, () => SyscallStore.open({ path }), 'SA_DB_FULL');
  t.match(err?.message, `cannot write ${path}: the disk is full (`);
  t.match(err?.message, 'free space on its volume or choose --db');
  rmSync(filler);
  SyscallStore.open({ path }).close();
  t.pass('opens once space is free');
  t.end();
});

t.test('a new database file (and its WAL) is readable by its owner only: it names every pod and what it runs', (t) => {
  const path = join(tempDir(t), 'private.db');
  const db = openDatabase({ path });
  db.close();
  t.equal(statSync(path).mode & 0o777, 0o600);
  // an existing file keeps the mode its owner gave it
  chmodSync(path, 0o640);
  openDatabase({ path }).close();
  t.equal(statSync(path).mode & 0o777, 0o640);
  t.end();
});
