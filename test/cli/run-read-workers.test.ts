/**
 * `run --read-workers N` (SECCOMP_AUDITOR_READ_WORKERS): the built daemon, as a process, over
 * real HTTP. The default runs the API's reads on a read thread (dist's .js worker entry, which
 * the in-process tests, run under tsx, do not load); 0 keeps them on the main thread.
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { builtCli, runCli } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/real-kernel.js';

async function startDaemon(t: Test, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const db = join(makeTempDir('sa-read-workers-'), 'test.db');
  const child = spawn(process.execPath, [builtCli(), 'run', '--listen', '127.0.0.1:0', '--db', db, '--source', 'none', '--kubelet-seccomp-dir', 'none', ...args],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  t.teardown(async () => {
    if (child.exitCode !== null) return;
    child.kill('SIGTERM');
    await once(child, 'exit');
  });
  return new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the daemon exited (${code}) before listening`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /"event":"started".*"listen":"([^"]+)"/.exec(line);
      if (m !== null) resolve(`http://${m[1]}`);
    });
  });
}

const readsOnThreads = (metrics: string): number => Number(/^seccomp_auditor_read_seconds_count\{query="podsPage"\} (\d+)$/m.exec(metrics)?.[1] ?? -1);

t.test('run --read-workers: bad values are usage errors; --help names the flag and its variable', async (t) => {
  for (const bad of ['-1', '1.5', 'two']) {
    const r = await runCli(['run', '--source', 'none', `--read-workers=${bad}`]);
    t.equal(r.code, 2, bad);
    t.match(r.stderr, `--read-workers ${bad}: expected a whole number, e.g. 1`);
  }
  const many = await runCli(['run', '--source', 'none'], '', { SECCOMP_AUDITOR_READ_WORKERS: '17' });
  t.equal(many.code, 2);
  t.match(many.stderr, /--read-workers 17: at most 16/, 'the environment is checked the same way');
  const help = await runCli(['run', '--help']);
  t.match(help.stdout, /--read-workers N\s+threads serving the API's reads/);
  t.ok(help.stdout.includes('SECCOMP_AUDITOR_READ_WORKERS'));
  t.match(help.stdout, /at most 64 reads wait for a thread, more get 503 SA_BUSY; 0 serves reads on the main thread/);
});

t.test('run: reads go to a read thread by default (SECCOMP_AUDITOR_READ_WORKERS too), and stay on the main thread with 0', async (t) => {
  const threaded = await startDaemon(t, [], { SECCOMP_AUDITOR_READ_WORKERS: '1' });
  t.equal((await fetch(`${threaded}/api/v1/pods`)).status, 200);
  const metrics = await (await fetch(`${threaded}/metrics`)).text();
  t.equal(readsOnThreads(metrics), 1, 'the pods read ran on a read thread');
  t.match(metrics, /^seccomp_auditor_read_queue_length 0$/m);

  const inline = await startDaemon(t, ['--read-workers', '0']);
  const answer = await fetch(`${inline}/api/v1/pods`);
  t.equal(answer.status, 200);
  t.same(await answer.json(), { items: [] });
  t.equal(readsOnThreads(await (await fetch(`${inline}/metrics`)).text()), -1, 'no read threads, no read metrics');
});
