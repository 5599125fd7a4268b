/**
 * Issue 13 item 7 through the daemon: a partly corrupt database. Before, /readyz said 200 until
 * the first commit failed and /metrics answered 500 as a whole. A real daemon in this process, a
 * real file with pages overwritten, real HTTP.
 */
import t from 'tap';
import { join } from 'node:path';
import { Daemon } from '../../src/daemon.js';
import { makeTempDir } from '../helpers/real-kernel.js';
import { parseExposition, value } from '../metrics/exposition.js';
import { corruptMiddle, fillDatabase } from '../store/damaged-database.js';

interface Ready { ready: boolean; sources: { name: string; ok: boolean; error: string | null }[] }

function daemonOn(dbPath: string): Daemon {
  const dir = makeTempDir('sa-damaged-');
  return new Daemon({ sources: ['none'], host: '127.0.0.1', port: 0, procRoot: dir, logDir: dir, nodeName: 'node-a', logLevel: 'silent', dbPath, retentionMs: 86_400_000 });
}

t.test('damaged at start: not ready, with quick_check\'s finding and the fix; /metrics answers with database_up 0', async (t) => {
  const dbPath = join(makeTempDir('sa-damaged-db-'), 'auditor.db');
  fillDatabase(dbPath, 1000);
  corruptMiddle(dbPath);
  const daemon = daemonOn(dbPath);
  await daemon.start();
  t.teardown(() => daemon.stop());
  const ready = await daemon.app.inject('/readyz');
  t.equal(ready.statusCode, 503);
  t.match((ready.json() as Ready).sources.find((s) => s.name === 'store')?.error, `${dbPath} is corrupt (quick_check: `);
  const metrics = await daemon.app.inject('/metrics');
  t.equal(metrics.statusCode, 200);
  t.equal(value(parseExposition(metrics.body), 'seccomp_auditor_database_up'), 0);
  const read = await daemon.app.inject('/api/v1/pods');
  t.equal(read.statusCode, 503);
  t.equal(read.json().code, 'SA_STORE_UNAVAILABLE');
});

t.test('damaged while running: the first read that reaches a bad page makes the daemon unready; /metrics keeps answering', async (t) => {
  const dbPath = join(makeTempDir('sa-damaged-db-'), 'auditor.db');
  fillDatabase(dbPath, 2000);
  const daemon = daemonOn(dbPath);
  await daemon.start();
  t.teardown(() => daemon.stop());
  t.equal((await daemon.app.inject('/readyz')).statusCode, 200, 'ready while the file is whole');
  corruptMiddle(dbPath);

  const metrics = await daemon.app.inject('/metrics');
  t.equal(metrics.statusCode, 200, 'the scrape answers');
  const m = parseExposition(metrics.body);
  t.equal(value(m, 'seccomp_auditor_database_up'), 0);
  t.ok(m.samples.has('process_resident_memory_bytes') || m.samples.has('process_cpu_user_seconds_total'), 'process metrics are there');
  const ready = await daemon.app.inject('/readyz');
  t.equal(ready.statusCode, 503, 'the damage a scrape found makes the daemon unready');
  t.match((ready.json() as Ready).sources.find((s) => s.name === 'store')?.error, /is not a seccomp-auditor database or is corrupt \(SQLITE_CORRUPT\): move it aside and restart/);
});
