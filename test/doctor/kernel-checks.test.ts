import t from 'tap';
import { readFileSync } from 'node:fs';
import { checkConsoleLoglevel, checkPrintkRateLimit, checkSeccompLogAction } from '../../src/doctor/kernel-checks.js';
import type { RecordRoute } from '../../src/doctor/record-route.js';
import { procWithSysctls } from './node-tree.js';

const PRINTK: RecordRoute = { via: 'printk', defaultSource: 'kmsg', auditLog: null, why: 'auditd does not run' };
const AUDITD: RecordRoute = { via: 'auditd', defaultSource: 'file:/var/log/audit/audit.log', auditLog: '/var/log/audit/audit.log', why: 'auditd runs (pid 9)' };

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

t.test('printk rate limit: warns with the sysctl while it limits, only on the printk route', async (t) => {
  const limited = checkPrintkRateLimit(procWithSysctls(), PRINTK);
  t.equal(limited.status, 'warn');
  t.match(limited.found, /kernel.printk_ratelimit=5, printk_ratelimit_burst=10: at most 10 records per 5 s/);
  t.match(limited.fix, /^sysctl -w kernel.printk_ratelimit=0/);
  t.equal(checkPrintkRateLimit(procWithSysctls({ printk_ratelimit: '0\n' }), PRINTK).status, 'ok');
  const viaAuditd = checkPrintkRateLimit(procWithSysctls(), AUDITD);
  t.equal(viaAuditd.status, 'ok', 'auditd takes the records: printk does not matter');
  t.match(viaAuditd.found, /not used/);
  t.equal(checkPrintkRateLimit('/nonexistent', PRINTK).status, 'warn');

  // this machine: other tests switch the limit off for their runs, so only the shape is certain
  const real = checkPrintkRateLimit('/proc', PRINTK);
  t.match(real.found, /^kernel\.printk_ratelimit=\d+/);
  t.ok(real.status === 'ok' || real.status === 'warn');
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
