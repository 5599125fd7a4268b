import t from 'tap';
import { readFileSync } from 'node:fs';
import { checkConsoleLoglevel, checkPrintkRateLimit, checkSeccompLogAction, PRINTK_LOSS_FIX, printkLoss } from '../../src/doctor/kernel-checks.js';
import type { RecordRoute } from '../../src/doctor/record-route.js';
import { procWithSysctls } from './node-tree.js';

const REFUSED = { state: 'refused', code: 'EPERM', detail: 'no CAP_AUDIT_READ' } as const;
const PRINTK: RecordRoute = { via: 'printk', defaultSource: 'kmsg', auditLog: null, why: 'auditd does not run', audit: REFUSED };
const AUDITD: RecordRoute = { via: 'auditd', defaultSource: 'file:/var/log/audit/audit.log', auditLog: '/var/log/audit/audit.log', why: 'auditd runs (pid 9)', audit: REFUSED };

t.test('seccomp log action: a fail whose fix is the current list plus log', async (t) => {
  const proc = procWithSysctls({ 'seccomp/actions_logged': 'kill_process kill_thread errno\n' });
  const r = checkSeccompLogAction(proc);
  t.equal(r.status, 'fail');
  t.equal(r.fix, `echo "kill_process kill_thread errno log" > ${proc}/sys/kernel/seccomp/actions_logged`);
  t.match(r.found, /"kill_process kill_thread errno"/);

  const empty = checkSeccompLogAction(procWithSysctls({ 'seccomp/actions_logged': '\n' }));
  t.equal(empty.status, 'fail');
  t.match(empty.fix, /^echo "log" > /, 'an empty list becomes just log');

  t.equal(checkSeccompLogAction(procWithSysctls()).status, 'ok');
  const missing = checkSeccompLogAction('/nonexistent-proc-root');
  t.equal(missing.status, 'fail');
  t.match(missing.found, /no seccomp action logging/);
});

t.test('seccomp log action on this machine: log is logged here', async (t) => {
  const logged = readFileSync('/proc/sys/kernel/seccomp/actions_logged', 'utf8');
  t.ok(logged.split(/\s+/).includes('log'), 'precondition of the real-kernel tests');
  const r = checkSeccompLogAction('/proc');
  t.equal(r.status, 'ok');
  t.match(r.found, logged.trim());
});

t.test('printk rate limit: a fail with the loss it causes when the daemon reads /dev/kmsg, only on the printk route', async (t) => {
  const limited = checkPrintkRateLimit(procWithSysctls(), PRINTK, true);
  t.equal(limited.status, 'fail', 'most records of a burst will be lost');
  t.match(limited.found, /^kernel\.printk_ratelimit=5, printk_ratelimit_burst=10: at most 10 records per 5 s reach \/dev\/kmsg; a fork burst loses ~99%/);
  t.equal(limited.fix, PRINTK_LOSS_FIX);
  t.match(limited.fix, /^read the kernel's audit multicast group instead: grant CAP_AUDIT_READ and the host's network namespace \(Kubernetes: hostNetwork: true\), or run auditd/);
  t.match(limited.fix, /sysctl -w kernel\.printk_ratelimit=0/, 'the sysctl as the last resort');
  const custom = checkPrintkRateLimit(procWithSysctls({ printk_ratelimit: '1\n', printk_ratelimit_burst: '200\n' }), PRINTK, true);
  t.match(custom.found, /printk_ratelimit=1, printk_ratelimit_burst=200: at most 200 records per 1 s/, 'the node\'s own values');
  t.equal(checkPrintkRateLimit(procWithSysctls({ printk_ratelimit: '0\n' }), PRINTK, true).status, 'ok');
  const notRead = checkPrintkRateLimit(procWithSysctls(), PRINTK, false);
  t.equal(notRead.status, 'ok', 'the daemon reads the audit group or a file: printk does not matter');
  t.match(notRead.found, /not used: the daemon does not read \/dev\/kmsg/);
  const viaAuditd = checkPrintkRateLimit(procWithSysctls(), AUDITD, true);
  t.equal(viaAuditd.status, 'ok', 'auditd takes the records: printk does not matter');
  t.match(viaAuditd.found, /not used/);
  t.equal(checkPrintkRateLimit('/nonexistent', PRINTK, true).status, 'warn');

  t.equal(printkLoss(procWithSysctls({ printk_ratelimit: '0\n' })), null, 'no loss with the limit off');
  t.equal(printkLoss('/nonexistent'), null, 'unknown is not claimed as a loss');

  // this machine: other tests switch the limit off for their runs, so only the shape is certain
  const real = checkPrintkRateLimit('/proc', PRINTK, true);
  t.match(real.found, /^kernel\.printk_ratelimit=\d+/);
  t.ok(real.status === 'ok' || real.status === 'fail');
});

t.test('console log level: records printed on the console are a warning', async (t) => {
  const loud = checkConsoleLoglevel(procWithSysctls({ printk: '7\t4\t1\t7\n' }), PRINTK);
  t.equal(loud.status, 'warn');
  t.equal(loud.fix, 'sysctl -w kernel.printk="4 4 1 7"', 'keeps the other three levels');
  t.equal(checkConsoleLoglevel(procWithSysctls({ printk: '6 4 1 7\n' }), PRINTK).status, 'warn', 'level 6 prints notices');
  t.equal(checkConsoleLoglevel(procWithSysctls({ printk: '5 4 1 7\n' }), PRINTK).status, 'ok', 'level 5 does not');
  t.equal(checkConsoleLoglevel(procWithSysctls({ printk: '7 4 1 7\n' }), AUDITD).status, 'ok');
  t.equal(checkConsoleLoglevel(procWithSysctls({ printk: 'garbage\n' }), PRINTK).status, 'warn');

  const level = Number(readFileSync('/proc/sys/kernel/printk', 'utf8').split(/\s+/)[0]);
  t.equal(checkConsoleLoglevel('/proc', PRINTK).status, level > 5 ? 'warn' : 'ok', `this machine's console level ${level}`);
});
