import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { SyscallStore } from '../../src/store/syscall-store.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { WRITER_SOURCE, WRITER_WORKLOAD } from './batches.js';
import { tempDir } from './scratch-mounts.js';

// A writer in another process (store-writer.ts) against readers and SIGKILL in this one: what
// WAL and the one-transaction batch promise, checked on a real file by real processes.

const WRITER = fileURLToPath(new URL('./store-writer.ts', import.meta.url));

function startWriter(t: Test, path: string, keys: number, batches: number | 'forever'): { child: ChildProcess; started: Promise<void>; exited: Promise<number | null> } {
  // `env -u`: keep tap's process-info hook out of a process that is about to be SIGKILLed
  const child = spawn('env', ['-u', 'NODE_OPTIONS', process.execPath, '--import', 'tsx', WRITER, path, String(keys), String(batches)], {
    cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => { child.kill('SIGKILL'); });
  const started = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => { if (chunk.toString().includes('started')) resolve(); });
    child.once('exit', (code) => reject(new Error(`writer exited (${code}) before its first commit`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  started.catch(() => {});
  return { child, started, exited };
}

t.test('a reader sees whole batches while another process commits (WAL)', async (t) => {
  const path = join(tempDir(t), 'auditor.db');
  const keys = 500;
  const batches = 2000;
  const reader = SyscallStore.open({ path });
  t.teardown(() => reader.close());
  const writer = startWriter(t, path, keys, batches);
  await writer.started;
  const positions = new Set<string>();
  let reads = 0;
  let torn = 0;
  const deadline = Date.now() + 60_000;
  // synchronous on purpose: the reader hammers the file for as long as the writer writes
  while (Date.now() < deadline) {
    const seen = reader.readSnapshot(() => ({ position: reader.position(WRITER_SOURCE), rows: reader.syscallsOf([WRITER_WORKLOAD]), workloads: reader.listWorkloads() }));
    reads++;
    const p = Number(seen.position);
    if (seen.rows.length !== keys || seen.rows.some((r) => r.count !== p || r.lastSeen !== p) || seen.workloads[0]?.records !== keys * p || seen.workloads[0]?.lastSeen !== p) torn++;
    positions.add(seen.position!);
    if (p === batches) break;
  }
  t.equal(await writer.exited, 0, 'writer finished');
  t.equal(torn, 0, `${reads} snapshot reads, none saw part of a batch`);
  t.ok(positions.size >= 20, `the reads overlapped the writes: ${positions.size} distinct positions seen`);
  t.equal(reader.position(WRITER_SOURCE), String(batches));
  t.end();
});

t.test('SIGKILL at any moment: the database holds whole batches and the position that covers them', async (t) => {
  const path = join(tempDir(t), 'auditor.db');
  const keys = 2000;
  let last = 0;
  for (let round = 1; round <= 6; round++) {
    const writer = startWriter(t, path, keys, 'forever');
    await writer.started;
    await sleep(10 + Math.floor(Math.random() * 150));
    writer.child.kill('SIGKILL');
    await writer.exited;
    const store = SyscallStore.open({ path });
    const position = Number(store.position(WRITER_SOURCE));
    const rows = store.syscallsOf([WRITER_WORKLOAD]);
    store.close();
    t.ok(position > last, `round ${round}: resumed from ${last}, killed at ${position}`);
    t.equal(rows.length, keys);
    t.same(new Set(rows.map((r) => r.count)), new Set([position]), 'every count equals the committed position');
    last = position;
  }
  const raw = new Database(path, { readonly: true });
  t.equal(raw.pragma('integrity_check', { simple: true }), 'ok');
  raw.close();
  t.end();
});
