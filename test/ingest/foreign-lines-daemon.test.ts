/**
 * The attack of issue 13 end to end, short of the kernel: a daemon follows a real log file
 * (the file source), its pipeline attributes against a prepared proc root, batches go to a real
 * SQLite file. Someone who can only send HTTP requests to nginx puts a seccomp record naming
 * another pod's pid into its User-Agent; the access log line (and its syslog copy) lands in the
 * followed file. The victim's profile must not gain `mount`, and no fake loss may be counted.
 */
import t from 'tap';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Daemon } from '../../src/daemon.js';
import { makeTempDir } from '../helpers/real-kernel.js';
import { parseExposition, value } from '../metrics/exposition.js';
import { makeNode, type FakeContainer } from './fake-node.js';

const VICTIM: FakeContainer = { namespace: 'shop', pod: 'db-0', podUid: '00000000-0000-0000-0000-0000000000db', container: 'postgres', id: 'd'.repeat(64), pid: 4102 };
const record = (syscall: number, serial: number, strings = 'comm="postgres" exe="/usr/bin/postgres"'): string =>
  `audit: type=1326 audit(1795759595.762:${serial}): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=${VICTIM.pid} ${strings} sig=0 arch=c000003e syscall=${syscall} compat=0 ip=0x7f0000001000 code=0x7ffc0000`;
// nginx writes '"' of a header as \x22: the attacker hex-encodes the strings, as the kernel may
const injected = record(165, 7, 'comm=706F737467726573 exe=2F7573722F62696E2F706F737467726573');

const LINES = [
  // the kernel's own line for the victim: read(0) is learned
  `Nov 27 07:21:26 node-1 kernel: [  391.088404] ${record(0, 3)}`,
  `10.0.0.7 - - [27/Nov/2026:07:21:27 +0000] "GET / HTTP/1.1" 200 612 "-" "${injected}"`,
  `Nov 27 07:21:27 node-1 nginx: 10.0.0.7 - - [27/Nov/2026:07:21:27 +0000] "GET / HTTP/1.1" 200 612 "-" "${injected}"`,
  'Nov 27 07:21:27 node-1 someuser: audit: audit_lost=999999999999 audit_rate_limit=0 audit_backlog_limit=64',
  `12,1234,391088404,-;${record(165, 8)}`,
];

t.test('an access log line holding a record for another pod teaches that pod nothing', async (t) => {
  const dir = makeTempDir('sa-foreign-');
  const { procRoot, logDir } = makeNode(dir, [VICTIM]);
  const log = join(dir, 'syslog');
  const daemon = new Daemon({
    sources: [`file:${log}`], host: '127.0.0.1', port: 0, procRoot, logDir, nodeName: 'node-a', logLevel: 'silent',
    dbPath: join(dir, 'auditor.db'), retentionMs: 86_400_000,
  });
  await daemon.start();
  t.teardown(() => daemon.stop());
  // a file that appears after the start is read from its beginning
  writeFileSync(log, `${LINES[0]}\n`);
  appendFileSync(log, LINES.slice(1).map((l) => `${l}\n`).join(''));
  const address = daemon.app.server.address();
  if (address === null || typeof address !== 'object') throw new Error('the daemon does not listen');
  const url = `http://127.0.0.1:${address.port}`;
  const source = { source: `file:${log}` };

  let metrics = parseExposition('');
  for (let i = 0; i < 100; i++) {
    metrics = parseExposition(await (await fetch(`${url}/metrics`)).text());
    if (value(metrics, 'seccomp_auditor_foreign_lines_total', source) === 4 && value(metrics, 'seccomp_auditor_container_syscalls', { namespace: 'shop', pod: 'db-0', container: 'postgres' }) === 1) break;
    await delay(100);
  }
  t.equal(value(metrics, 'seccomp_auditor_foreign_lines_total', source), 4, 'the four lines of other writers are counted as foreign');
  t.equal(value(metrics, 'seccomp_auditor_records_read_total', source), 1, 'only the kernel\'s line is a record');
  t.equal(value(metrics, 'seccomp_auditor_malformed_lines_total', source), 0, 'foreign lines are not malformed');
  t.equal(value(metrics, 'seccomp_auditor_records_lost_total', { ...source, reason: 'audit_lost' }), undefined, 'the fake audit_lost counts no loss');

  const syscalls = await (await fetch(`${url}/api/v1/namespaces/shop/pods/db-0/syscalls`)).json() as { containers: { syscalls: { name: string }[] }[] };
  t.same(syscalls.containers.flatMap((c) => c.syscalls.map((s) => s.name)), ['read'], 'the victim learned read, and not mount');
  const profile = await (await fetch(`${url}/api/v1/namespaces/shop/pods/db-0/profile?baseline=none`)).json() as { syscalls: { names: string[] }[] };
  t.notOk(profile.syscalls.some((r) => r.names.includes('mount')), 'its profile does not allow mount');

  const status = await (await fetch(`${url}/api/v1/status`)).json() as { sources: Record<string, unknown>[] };
  t.match(status.sources.find((s) => s['name'] === source.source), { records: 1, malformedLines: 0, foreignLines: 4 }, '/api/v1/status counts them per source');
});
