import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditProbe } from '../../src/sources/audit-probe.js';
import { chooseDefaultSource } from '../../src/sources/default-source.js';
import { makeTempDir } from '../helpers/real-kernel.js';

// What a look at the audit group can find; each state is produced for real (root here, another
// network namespace, no capability) in test/sources/audit-source.test.ts. Here: the decision.
const WORKS: AuditProbe = { state: 'works', rcvbuf: 8 << 20, rcvbufForced: false, latencyMs: 0.4 };
const DEAF: AuditProbe = { state: 'deaf', rcvbuf: 8 << 20, rcvbufForced: false, detail: 'no canary record within 1000 ms: ... (Kubernetes: hostNetwork: true) ...' };
const UNPROVEN: AuditProbe = { state: 'unproven', rcvbuf: 8 << 20, rcvbufForced: false, detail: 'the canary could not run: seccomp(SECCOMP_SET_MODE_FILTER): Operation not permitted' };
const REFUSED: AuditProbe = { state: 'refused', code: 'EPERM', detail: 'cannot join the kernel\'s audit multicast group: Operation not permitted' };

function procWith(comms: Record<number, string>): string {
  const root = makeTempDir('sa-proc-');
  for (const [pid, comm] of Object.entries(comms)) {
    mkdirSync(join(root, pid));
    writeFileSync(join(root, pid, 'comm'), `${comm}\n`);
  }
  return root;
}

function auditdConf(logFile: string): string {
  const conf = join(makeTempDir('sa-conf-'), 'auditd.conf');
  writeFileSync(conf, `# comment\nlog_file = ${logFile}\nlog_format = ENRICHED\n`);
  return conf;
}

t.test('the audit group first, when it answers the canary: also when auditd runs', async (t) => {
  const alone = chooseDefaultSource({ procRoot: procWith({ 1: 'init' }), probe: () => WORKS });
  t.equal(alone.spec, 'audit');
  t.match(alone.why, /answered the canary in 0.4 ms/);
  const withAuditd = chooseDefaultSource({ procRoot: procWith({ 1: 'init', 812: 'auditd' }), auditdConf: auditdConf('/srv/audit/audit.log'), probe: () => WORKS });
  t.equal(withAuditd.spec, 'audit', 'the group gets every record whether or not auditd runs');
  t.match(withAuditd.why, /auditd runs too \(pid 812\), its log is not needed/);
  const unproven = chooseDefaultSource({ procRoot: procWith({ 1: 'init' }), probe: () => UNPROVEN });
  t.equal(unproven.spec, 'audit', 'joined but not provable here (a filter refuses seccomp()): still the group');
  t.match(unproven.why, /unproven/);
});

t.test('a deaf group: auditd\'s log when auditd runs, else the group (not ready, with the fix), never kmsg silently', async (t) => {
  const auditd = chooseDefaultSource({ procRoot: procWith({ 812: 'auditd' }), auditdConf: auditdConf('/srv/audit/audit.log'), probe: () => DEAF });
  t.equal(auditd.spec, 'file:/srv/audit/audit.log');
  t.match(auditd.why, /deaf here.*auditd runs \(pid 812\)/);
  const none = chooseDefaultSource({ procRoot: procWith({ 1: 'init' }), probe: () => DEAF });
  t.equal(none.spec, 'audit');
  t.match(none.why, /10 records per 5 s.*not ready until it runs in the host network namespace/);
});

t.test('the group refused: auditd\'s log from its config, else kmsg (with the rate limit said), else nothing', async (t) => {
  const choice = chooseDefaultSource({ procRoot: procWith({ 1: 'init', 812: 'auditd' }), auditdConf: auditdConf('/srv/audit/audit.log'), probe: () => REFUSED });
  t.same(choice.spec, 'file:/srv/audit/audit.log');
  t.match(choice.why, /cannot be joined.*auditd runs \(pid 812\)/);
  t.equal(chooseDefaultSource({ procRoot: procWith({ 9: 'auditd' }), auditdConf: '/nonexistent', probe: () => REFUSED }).spec, 'file:/var/log/audit/audit.log', 'auditd\'s default log');

  const dir = makeTempDir('sa-kmsg-');
  writeFileSync(join(dir, 'kmsg'), '');
  const kmsg = chooseDefaultSource({ procRoot: procWith({ 1: 'init' }), kmsg: join(dir, 'kmsg'), probe: () => REFUSED });
  t.equal(kmsg.spec, 'kmsg');
  t.match(kmsg.why, /printk's rate limit .* drops records in bursts; grant CAP_AUDIT_READ/);
  const none = chooseDefaultSource({ procRoot: procWith({ 1: 'init' }), kmsg: join(dir, 'missing'), probe: () => REFUSED });
  t.equal(none.spec, 'none');
  t.match(none.why, /there is no .*missing; serving only what the database holds/);
});
