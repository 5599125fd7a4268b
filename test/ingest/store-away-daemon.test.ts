/**
 * Issue 13 item 6: the database deleted or replaced under a running daemon, or not openable at
 * its start. Before: /readyz stayed 200 while every commit went to a deleted inode (gone with the
 * process, positions included, so a restart never re-read the records), and a store that failed
 * to open dropped every batch and was never tried again. A real daemon in this process follows a
 * real log file (the file source), commits to a real SQLite file, and is asked over real HTTP.
 */
import t, { type Test } from 'tap';
import { appendFileSync, existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { Daemon } from '../../src/daemon.js';
import { SyscallStore } from '../../src/store/syscall-store.js';
import { makeTempDir } from '../helpers/real-kernel.js';
import { makeNode, type FakeContainer } from './fake-node.js';

const POD: FakeContainer = { namespace: 'shop', pod: 'db-0', podUid: '00000000-0000-0000-0000-0000000000db', container: 'postgres', id: 'd'.repeat(64), pid: 4102 };
const line = (syscall: number, serial: number): string =>
  `Nov 27 07:21:26 node-1 kernel: [  391.088404] audit: type=1326 audit(1795759595.762:${serial}): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=${POD.pid} comm="postgres" exe="/usr/bin/postgres" sig=0 arch=c000003e syscall=${syscall} compat=0 ip=0x7f0000001000 code=0x7ffc0000\n`;

interface Ready { ready: boolean; sources: { name: string; ok: boolean; error: string | null }[] }

async function startDaemon(t: Test, dbPath: string): Promise<{ daemon: Daemon; log: string; url: string }> {
  const dir = makeTempDir('sa-store-away-');
  const { procRoot, logDir } = makeNode(dir, [POD]);
  const log = join(dir, 'syslog');
  writeFileSync(log, '');
  const daemon = new Daemon({
    sources: [`file:${log}`], host: '127.0.0.1', port: 0, procRoot, logDir, nodeName: 'node-a', logLevel: 'silent',
    dbPath, retentionMs: 86_400_000, readExisting: true,
  });
  await daemon.start();
  t.teardown(() => daemon.stop());
  const address = daemon.app.server.address();
  if (address === null || typeof address !== 'object') throw new Error('the daemon does not listen');
  return { daemon, log, url: `http://127.0.0.1:${address.port}` };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await probe();
    if (v !== undefined) return v;
    await delay(everyMs);
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`);
}

const readyz = async (url: string): Promise<{ status: number; body: Ready }> => {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, body: await res.json() as Ready };
};
const storeEntry = (r: Ready): Ready['sources'][number] | undefined => r.sources.find((s) => s.name === 'store');
const learned = async (url: string): Promise<string[]> => {
  const res = await fetch(`${url}/api/v1/namespaces/shop/pods/db-0/syscalls`);
  if (res.status !== 200) return [];
  const body = await res.json() as { containers: { syscalls: { name: string }[] }[] };
  return body.containers.flatMap((c) => c.syscalls.map((s) => s.name)).sort();
};

/** An SQLite database of another program, at `path`. */
function foreignDatabase(path: string): void {
  const db = new Database(path);
  db.exec('CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES (\'not ours\')');
  db.close();
}

t.test('the database deleted under a running daemon: readiness fails naming it, a new one is created, what was read meanwhile is kept with its position', async (t) => {
  const dbPath = join(makeTempDir('sa-store-db-'), 'auditor.db');
  const { daemon, log, url } = await startDaemon(t, dbPath);
  appendFileSync(log, line(0, 1));
  await until('read committed', async () => ((await learned(url)).includes('read') ? true : undefined));

  // the main file only: the old WAL and shared memory stay at the path, as after `rm auditor.db`
  rmSync(dbPath);
  appendFileSync(log, line(1, 2));
  const down = await until('/readyz 503', async () => {
    const r = await readyz(url);
    return r.status === 503 ? r.body : undefined;
  });
  t.match(storeEntry(down)?.error, `${dbPath} was deleted while the daemon ran`, 'readiness names what happened and where');
  t.match(storeEntry(down)?.error, /creates a new database there; to keep the old data, stop the daemon and restore the file from a backup/, 'and what to do');

  await until('/readyz 200 again', async () => ((await readyz(url)).status === 200 ? true : undefined));
  t.ok(existsSync(dbPath), 'a new database is at the path');
  await until('write committed to the new database', async () => ((await learned(url)).includes('write') ? true : undefined));
  t.same(await learned(url), ['write'], 'the new database holds what was read after the deletion (the old one held read, which is gone)');
  await daemon.stop();

  const store = SyscallStore.open({ path: dbPath });
  t.teardown(() => store.close());
  t.equal(store.position(`file:${log}`)?.split(':')[1], String(line(0, 1).length + line(1, 2).length), 'the file position was committed with the data it covers: a restart does not read it again, nor skip anything');
});

t.test('a store that cannot open at start is retried; what is read meanwhile is kept in memory and committed once it opens', async (t) => {
  const dbPath = join(makeTempDir('sa-store-db-'), 'auditor.db');
  foreignDatabase(dbPath);
  const { log, url } = await startDaemon(t, dbPath);
  appendFileSync(log, line(0, 1));
  const down = await readyz(url);
  t.equal(down.status, 503, JSON.stringify(down.body));
  t.match(storeEntry(down.body)?.error, `${dbPath} is an SQLite database of another program`, 'readiness says why');
  const pending = await until('the batch is pending', async () => {
    const status = await (await fetch(`${url}/api/v1/status`)).json() as { pending?: { batches: number; droppedBatches: number } };
    return (status.pending?.batches ?? 0) > 0 ? status.pending : undefined;
  });
  t.equal(pending.droppedBatches, 0, 'nothing dropped');

  // the operator moves the other program's file away: the next try (backoff 1 s, 2 s...) creates ours
  renameSync(dbPath, `${dbPath}.other`);
  await until('/readyz 200', async () => ((await readyz(url)).status === 200 ? true : undefined), 20_000, 100);
  await until('read committed', async () => ((await learned(url)).includes('read') ? true : undefined));
  t.pass('the record read while the store was away is in the database');
});

t.test('the database replaced by another program\'s file: refused, not written; records kept until a database of ours is there', async (t) => {
  const dir = makeTempDir('sa-store-db-');
  const dbPath = join(dir, 'auditor.db');
  const { log, url } = await startDaemon(t, dbPath);
  appendFileSync(log, line(0, 1));
  await until('read committed', async () => ((await learned(url)).includes('read') ? true : undefined));

  foreignDatabase(join(dir, 'other.db'));
  renameSync(join(dir, 'other.db'), dbPath);
  appendFileSync(log, line(1, 2));
  const replaced = await until('/readyz 503 replaced', async () => {
    const r = await readyz(url);
    return r.status === 503 ? r.body : undefined;
  });
  t.match(storeEntry(replaced)?.error, `${dbPath} was replaced while the daemon ran`);
  const refused = await until('/readyz names the foreign file', async () => {
    const r = await readyz(url);
    return /another program/.test(storeEntry(r.body)?.error ?? '') ? r.body : undefined;
  });
  t.match(storeEntry(refused)?.error, /choose another --db; it was not modified/);
  const other = new Database(dbPath, { readonly: true });
  // had the old database's WAL been left at the path, reading this file would show our tables
  t.same(other.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all(), ['notes'], 'the other program\'s file was not written, nor read through our old WAL');
  other.close();

  rmSync(dbPath);
  await until('/readyz 200', async () => ((await readyz(url)).status === 200 ? true : undefined), 20_000, 100);
  await until('write committed', async () => ((await learned(url)).includes('write') ? true : undefined));
  t.same(await learned(url), ['write'], 'the record read while the store was away is committed to the new database');
});
