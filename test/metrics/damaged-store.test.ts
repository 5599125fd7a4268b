/**
 * Issue 13 item 7: a database damaged under a running daemon. Before, /metrics answered 500 as a
 * whole (source_up and the process metrics gone exactly when needed) and the read routes 500
 * SA_INTERNAL. A real file with real pages overwritten, real HTTP through fastify's inject.
 */
import t from 'tap';
import { join } from 'node:path';
import { buildApp } from '../../src/http/app.js';
import { buildMetrics } from '../../src/metrics/daemon-metrics.js';
import { StoreError } from '../../src/store/store-error.js';
import { SyscallStore } from '../../src/store/syscall-store.js';
import { corruptMiddle, fillDatabase } from '../store/damaged-database.js';
import { tempDir } from '../store/scratch-mounts.js';
import { parseExposition, value } from './exposition.js';

t.test('a damaged database: /metrics still answers, its series are left out, reads answer 503 with the store\'s message', async (t) => {
  const path = join(tempDir(t), 'auditor.db');
  fillDatabase(path);
  const store = SyscallStore.open({ path });
  t.teardown(() => store.close());
  const seen: StoreError[] = [];
  const metrics = buildMetrics({ store: () => store, sources: () => [{ name: 'stdin', records: 7, ok: true }], onStoreError: (e) => seen.push(e) });
  const app = buildApp({ status: { ready: () => ({ ready: true, sources: [] }) }, store: () => store, metrics: metrics.registry, onStoreError: (e) => seen.push(e) });
  t.teardown(() => app.close());

  const healthy = parseExposition((await app.inject('/metrics')).body);
  t.equal(value(healthy, 'seccomp_auditor_database_up'), 1, 'up while the file is whole');
  t.ok(value(healthy, 'seccomp_auditor_container_syscalls', { namespace: 'shop', pod: 'web-0', container: 'nginx' }), 'per-container series from the database');

  corruptMiddle(path);

  const res = await app.inject('/metrics');
  t.equal(res.statusCode, 200, `/metrics answers (${res.body.slice(0, 200)})`);
  const m = parseExposition(res.body);
  t.equal(value(m, 'seccomp_auditor_database_up'), 0, 'database_up 0 when a read of this scrape failed');
  t.equal(value(m, 'seccomp_auditor_source_up', { source: 'stdin' }), 1, 'source_up is still there');
  t.ok(m.samples.has('process_resident_memory_bytes') || m.samples.has('process_cpu_user_seconds_total'), 'so are the process metrics');
  t.equal(m.samples.get('seccomp_auditor_container_syscall_records_total')?.length ?? 0, 0, 'the failing collector\'s series are absent, not stale or partial');
  t.ok(seen.length > 0 && seen.every((e) => e.code === 'SA_DB_CORRUPT'), 'the daemon is told the store is damaged');

  const read = await app.inject('/api/v1/namespaces/shop/pods/web-1500/syscalls');
  t.equal(read.statusCode, 503, read.body);
  t.equal(read.json().code, 'SA_STORE_UNAVAILABLE');
  t.match(read.json().message, `${path} is not a seccomp-auditor database or is corrupt`, 'the store\'s message: the file and the fix');
  t.match(read.json().message, /move it aside and restart/);
});
