/**
 * Exactly once across crashes: a daemon follows a growing audit.log and is killed with SIGKILL
 * again and again while lines arrive; each restart resumes from the position committed with the
 * data. Its final counts must equal those of a daemon that ran through, and the file's own.
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { SyscallStore } from '../../src/store/syscall-store.js';
import { builtCli } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/real-kernel.js';
import { sourceFollowing } from '../helpers/source-following.js';

const COMMS = 8;

function line(i: number): string {
  // pids that exist nowhere (an empty proc root): every record lands in the unattributed bucket,
  // grouped by comm, which makes the counts easy to compare
  return `type=SECCOMP msg=audit(1795759595.${String(i % 1000).padStart(3, '0')}:${i}): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=${100 + (i % 50)} comm="c${i % COMMS}" exe="/bin/c${i % COMMS}" sig=0 arch=c000003e syscall=${i % 300} compat=0 ip=0x7f0000001000 code=0x7ffc0000\n`;
}

interface Daemon { child: ChildProcess; url: Promise<string> }

/** Starts the daemon; `url` is its HTTP address, from its `started` log line. */
function startDaemon(log: string, db: string, proc: string): Daemon {
  const child = spawn(process.execPath, [builtCli(), 'run', '--source', `file:${log}`, '--db', db, '--proc-root', proc, '--log-dir', proc, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const url = new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the daemon exited (${code}) before it started`)));
    // read every line to the end: a full pipe would stall the daemon's log
    createInterface({ input: child.stdout! }).on('line', (text) => {
      const line = JSON.parse(text) as { event?: string; listen?: string };
      if (line.event === 'started') resolve(`http://${line.listen}`);
    });
  });
  url.catch(() => {}); // a daemon killed later rejects it unobserved
  return { child, url };
}

/** Waits until the committed position reaches the file's end. */
async function caughtUp(db: string, log: string): Promise<void> {
  const size = statSync(log).size;
  for (let i = 0; i < 200; i++) {
    let position: string | null = null;
    try {
      const store = SyscallStore.open({ path: db });
      position = store.position(`file:${log}`);
      store.close();
    } catch { /* the daemon may hold the write lock a moment */ }
    if (position !== null && Number(position.split(':')[1]) === size) return;
    await sleep(100);
  }
  throw new Error('the daemon did not catch up within 20 s');
}

function counts(db: string): Record<string, number> {
  const store = SyscallStore.open({ path: db });
  try {
    const out: Record<string, number> = {};
    for (const u of store.unattributedPage({ limit: 10_000 }).items) out[u.comm ?? '?'] = (out[u.comm ?? '?'] ?? 0) + u.count;
    return out;
  } finally {
    store.close();
  }
}

t.test('SIGKILL at any moment: no record counted twice, none lost', async (t) => {
  const dir = makeTempDir('sa-restart-');
  const log = join(dir, 'audit.log');
  const proc = makeTempDir('sa-empty-proc-');
  writeFileSync(log, '');
  const killedDb = join(dir, 'killed.db');
  const steadyDb = join(dir, 'steady.db');
  let killed = startDaemon(log, killedDb, proc);
  const steady = startDaemon(log, steadyDb, proc);
  t.teardown(() => { killed.child.kill('SIGKILL'); steady.child.kill('SIGKILL'); });
  // Both start at the (empty) file's end: a line written before a daemon has the file open is not
  // its to read, so wait until each says it is following. The killed one must also have committed
  // that position, or a restart before its first commit would begin at a later end.
  await Promise.all([sourceFollowing(await killed.url, `file:${log}`), sourceFollowing(await steady.url, `file:${log}`)]);
  await caughtUp(killedDb, log);

  const total = 40_000;
  let written = 0, kills = 0, chunks = 0;
  // kill points spread over the run; where each lands within a commit interval varies by run
  const killAt = new Set([7, 19, 30, 42, 55, 63, 78, 90]);
  while (written < total) {
    let chunk = '';
    const n = Math.min(total - written, 400);
    for (let i = 0; i < n; i++) chunk += line(written + i);
    appendFileSync(log, chunk);
    written += n;
    if (killAt.has(++chunks)) {
      killed.child.kill('SIGKILL');
      await once(killed.child, 'exit');
      kills++;
      killed = startDaemon(log, killedDb, proc);
    }
    await sleep(10 + Math.floor(Math.random() * 30));
  }
  await caughtUp(killedDb, log);
  await caughtUp(steadyDb, log);
  killed.child.kill('SIGTERM');
  steady.child.kill('SIGTERM');
  await Promise.all([once(killed.child, 'exit'), once(steady.child, 'exit')]);

  const expected: Record<string, number> = {};
  for (let i = 0; i < total; i++) expected[`c${i % COMMS}`] = (expected[`c${i % COMMS}`] ?? 0) + 1;
  t.equal(kills, 8, `killed ${kills} times while ${total} lines arrived`);
  t.same(counts(steadyDb), expected, 'the daemon that ran through counted every line once');
  t.same(counts(killedDb), counts(steadyDb), 'the daemon killed again and again counted exactly the same');
});
