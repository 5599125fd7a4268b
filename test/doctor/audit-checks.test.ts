import t from 'tap';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { auditBacklogFrom, checkAuditBacklog, checkRecordRoute, findAuditctl, parseAuditStatus } from '../../src/doctor/audit-checks.js';
import { findRecordRoute } from '../../src/doctor/record-route.js';
import { makeTempDir } from '../helpers/real-kernel.js';
import type { AuditProbe } from '../../src/sources/audit-probe.js';
import { nodeTree } from './node-tree.js';

/** What joining the audit group can find (src/sources/audit-probe.ts). */
const REFUSED: AuditProbe = { state: 'refused', code: 'EPERM', detail: 'cannot join the kernel\'s audit multicast group: Operation not permitted (setsockopt(NETLINK_ADD_MEMBERSHIP))' };
const WORKS: AuditProbe = { state: 'works', rcvbuf: 425984, rcvbufForced: false, latencyMs: 0.4 };
const DEAF: AuditProbe = { state: 'deaf', rcvbuf: 425984, rcvbufForced: false, detail: 'no canary record within 1000 ms: not in the host\'s initial network namespace (Kubernetes: hostNetwork: true)' };

/** A node where auditd runs with its log at `log` (a real file when `exists`); the audit group refused unless `probe` says otherwise. */
function auditdNode(exists = true, probe: AuditProbe = REFUSED): { procRoot: string; auditdConf: string; log: string; probe: () => AuditProbe } {
  const dir = makeTempDir('sa-auditd-');
  const log = join(dir, 'audit.log');
  if (exists) writeFileSync(log, '');
  const auditdConf = join(dir, 'auditd.conf');
  writeFileSync(auditdConf, `log_file = ${log}\n`);
  return { procRoot: nodeTree({ '1/comm': 'init\n', '612/comm': 'auditd\n' }), auditdConf, log, probe: () => probe };
}

function plainNode(probe: AuditProbe = REFUSED): { procRoot: string; kmsg: string; probe: () => AuditProbe } {
  const kmsg = join(makeTempDir('sa-kmsg-'), 'kmsg');
  writeFileSync(kmsg, '');
  return { procRoot: nodeTree({ '1/comm': 'init\n', '40/comm': 'kauditd\n' }), kmsg, probe: () => probe };
}


t.test('record route: the daemon\'s own choice where the audit group cannot be joined', async (t) => {
  const a = auditdNode();
  const route = findRecordRoute(a);
  t.same({ via: route.via, auditLog: route.auditLog, defaultSource: route.defaultSource }, { via: 'auditd', auditLog: a.log, defaultSource: `file:${a.log}` });
  const ok = checkRecordRoute(route, []);
  t.equal(ok.status, 'ok');
  t.match(ok.found, /auditd runs \(pid 612\)/);

  const missing = auditdNode(false);
  const waits = checkRecordRoute(findRecordRoute(missing), []);
  t.equal(waits.status, 'warn', 'auditd\'s log not there yet');
  t.match(waits.found, /does not exist yet/);

  const p = plainNode();
  const printk = findRecordRoute(p);
  t.equal(printk.via, 'printk', 'kauditd is the kernel thread, not the daemon');
  t.equal(checkRecordRoute(printk, []).status, 'ok');

  const none = findRecordRoute({ procRoot: p.procRoot, kmsg: join(p.kmsg, 'not-there'), probe: () => REFUSED });
  const fail = checkRecordRoute(none, []);
  t.equal(fail.status, 'fail', 'nothing to read: learning cannot work');
  t.match(fail.fix, /^grant CAP_AUDIT_READ and the host's network namespace/);
});

t.test('record route: the audit group first, with or without auditd', async (t) => {
  const a = auditdNode(true, WORKS);
  const route = findRecordRoute(a);
  t.same({ via: route.via, auditLog: route.auditLog, defaultSource: route.defaultSource }, { via: 'auditd', auditLog: a.log, defaultSource: 'audit' }, 'auditd runs, and its log is not needed');
  const ok = checkRecordRoute(route, []);
  t.equal(ok.status, 'ok');
  t.match(ok.found, /answered the canary in 0\.4 ms.*auditd runs too \(pid 612\)/);
  t.equal(checkRecordRoute(route, ['audit']).status, 'ok');
  const kmsg = checkRecordRoute(route, ['kmsg']);
  t.equal(kmsg.status, 'fail', 'auditd takes the records away from printk');
  t.equal(kmsg.fix, '--source audit (or omit --source)', 'the fix is the channel with every record');

  const p = findRecordRoute(plainNode(WORKS));
  t.same({ via: p.via, defaultSource: p.defaultSource }, { via: 'printk', defaultSource: 'audit' });
  t.equal(checkRecordRoute(p, ['kmsg']).status, 'ok', 'kmsg does get the records (printk-ratelimit says how many)');

  // joined but deaf, no auditd: the daemon stays on the group, not ready; audit-channel has the fix
  const deaf = findRecordRoute(plainNode(DEAF));
  t.equal(deaf.defaultSource, 'audit');
  const warn = checkRecordRoute(deaf, []);
  t.equal(warn.status, 'warn');
  t.match(warn.found, /deaf here.*see audit-channel/);
  // deaf with auditd: its log
  const withAuditd = auditdNode(true, DEAF);
  t.equal(findRecordRoute(withAuditd).defaultSource, `file:${withAuditd.log}`);
});

t.test('record route on this machine: the real group', async (t) => {
  const route = findRecordRoute({ procRoot: '/proc' });
  if (process.getuid?.() === 0) {
    t.equal(route.audit.state, 'works', `root joins the group and its canary arrives: ${JSON.stringify(route.audit)}`);
    t.equal(route.defaultSource, 'audit');
  } else {
    t.match(route.audit, { state: 'refused', code: 'EPERM' }, 'without CAP_AUDIT_READ the join is refused');
  }
});

t.test('record route: --source values that miss the records', async (t) => {
  const a = auditdNode();
  const viaAuditd = findRecordRoute(a);
  const kmsg = checkRecordRoute(viaAuditd, ['kmsg']);
  t.equal(kmsg.status, 'fail');
  t.match(kmsg.found, /--source kmsg will see none/);
  t.equal(kmsg.fix, `--source file:${a.log} (or omit --source)`);
  t.equal(checkRecordRoute(viaAuditd, ['file:/var/log/kern.log']).status, 'fail', 'syslog gets nothing while auditd runs');
  t.equal(checkRecordRoute(viaAuditd, [`file:${a.log}`]).status, 'ok');
  t.equal(checkRecordRoute(viaAuditd, [`file:${a.log}`, 'kmsg']).status, 'warn', 'one of two reads them');
  t.equal(checkRecordRoute(viaAuditd, ['journal']).status, 'ok');

  const viaPrintk = findRecordRoute(plainNode());
  t.equal(checkRecordRoute(viaPrintk, ['kmsg']).status, 'ok');
  t.equal(checkRecordRoute(viaPrintk, ['file:/var/log/kern.log']).status, 'ok', 'syslog copies the kernel log');
  const audit = checkRecordRoute(viaPrintk, ['file:/var/log/audit/audit.log']);
  t.equal(audit.status, 'fail', 'no auditd writes audit.log');
  t.equal(audit.fix, '--source kmsg (or omit --source)');
  t.equal(checkRecordRoute(viaPrintk, ['-']).status, 'ok');
  const none = checkRecordRoute(viaPrintk, ['none']);
  t.equal(none.status, 'warn');
  t.match(none.found, /only serves what its database holds/);
});

t.test('audit status: parsed and judged', async (t) => {
  const status = 'enabled 1\nfailure 1\npid 812\nrate_limit 0\nbacklog_limit 8192\nlost 0\nbacklog 3\nbacklog_wait_time 60000\nloginuid_immutable 0 unlocked\n';
  t.same(Object.fromEntries(parseAuditStatus(status)), { enabled: 1, failure: 1, pid: 812, rate_limit: 0, backlog_limit: 8192, lost: 0, backlog: 3, backlog_wait_time: 60000, loginuid_immutable: 0 });
  const ok = auditBacklogFrom(status, 'test');
  t.equal(ok.status, 'ok');
  t.equal(ok.found, 'enabled 1, auditd pid 812, lost 0, backlog 3 of 8192');
  const lost = auditBacklogFrom(status.replace('lost 0', 'lost 17'), 'test');
  t.equal(lost.status, 'warn');
  t.match(lost.found, /lost 17 audit records/);
  t.match(lost.fix, /^auditctl -b 8192/);
  t.equal(auditBacklogFrom(status.replace('backlog_limit 8192', 'backlog_limit 64'), 'test').status, 'warn', 'the kernel default is small');
  t.equal(auditBacklogFrom(status.replace('backlog_limit 8192', 'backlog_limit 0'), 'test').status, 'ok', '0 is no limit');
  t.equal(auditBacklogFrom('Error sending status request\n', 'test').status, 'warn');
});

t.test('audit backlog: said when it cannot be checked', async (t) => {
  const none = checkAuditBacklog(null);
  t.equal(none.status, 'warn');
  t.match(none.found, /could not be checked: auditctl is not installed/);
  const broken = checkAuditBacklog('/nonexistent/auditctl');
  t.equal(broken.status, 'warn');
  t.match(broken.found, /could not be checked: \/nonexistent\/auditctl -s failed/);
  t.equal(findAuditctl('/nonexistent-dir'), findAuditctl(''), 'the sbin directories are searched whatever PATH says');
});

const AUDITCTL = findAuditctl();
t.test('audit backlog from this machine\'s auditctl', { skip: AUDITCTL === null ? 'auditctl is not installed' : process.getuid?.() !== 0 ? 'not root' : false }, async (t) => {
  const r = checkAuditBacklog(AUDITCTL);
  // read again independently: lost and the limit change only when someone configures audit
  const s = parseAuditStatus(execFileSync(AUDITCTL!, ['-s'], { encoding: 'utf8' }));
  t.match(r.found, `lost ${s.get('lost')}, backlog `);
  t.match(r.found, ` of ${s.get('backlog_limit')}`);
  t.equal(r.status, s.get('lost')! > 0 || (s.get('backlog_limit')! > 0 && s.get('backlog_limit')! < 8192) ? 'warn' : 'ok');
});
