import t from 'tap';
import { readFileSync } from 'node:fs';
import { checkAuditChannel } from '../../src/doctor/audit-channel-check.js';
import { findRecordRoute, type RecordRoute } from '../../src/doctor/record-route.js';
import type { AuditProbe } from '../../src/sources/audit-probe.js';
import type { KernelAuditStatus } from '../../src/sources/audit-netlink.js';
import { procWithSysctls } from './node-tree.js';

const ASKED = 32 << 20;
const route = (audit: AuditProbe): RecordRoute => ({ via: 'printk', defaultSource: 'audit', auditLog: null, why: 'test', audit });
const kernel = (lost: number): (() => KernelAuditStatus) => () => ({ enabled: 1, failure: 1, pid: 0, rateLimit: 0, backlogLimit: 64, lost, backlog: 0 });
const noControl = (): KernelAuditStatus => {
  throw Object.assign(new Error('cannot get the kernel\'s audit status: Operation not permitted (recv)'), { code: 'EPERM' });
};
const proc = procWithSysctls({}, { 'sys/net/core/rmem_max': '212992\n' });

t.test('refused: the capability named, a fail only when the daemon reads the group', async (t) => {
  const eperm = route({ state: 'refused', code: 'EPERM', detail: 'Operation not permitted' });
  const needed = checkAuditChannel(eperm, { procRoot: proc, needed: true, rcvbufBytes: ASKED });
  t.equal(needed.status, 'fail');
  t.match(needed.found, /permission denied \(EPERM\), CAP_AUDIT_READ is missing$/);
  t.match(needed.fix, /^grant CAP_AUDIT_READ \(Kubernetes: capabilities\.add: \[AUDIT_READ\]; systemd: /);
  const unused = checkAuditChannel(eperm, { procRoot: proc, needed: false, rcvbufBytes: ASKED });
  t.equal(unused.status, 'warn', 'another source is read: a warning');
  t.match(unused.found, /\(the daemon does not read it now\)$/);
  const addon = checkAuditChannel(route({ state: 'refused', code: 'ADDON', detail: 'the audit netlink addon is not built' }), { procRoot: proc, needed: true, rcvbufBytes: ASKED });
  t.same([addon.status, addon.fix], ['fail', 'npm install in the package directory']);
  const noAudit = checkAuditChannel(route({ state: 'refused', code: 'EPROTONOSUPPORT', detail: 'Protocol not supported' }), { procRoot: proc, needed: true, rcvbufBytes: ASKED });
  t.match(noAudit.fix, /CONFIG_AUDIT/);
});

t.test('deaf: joined, no canary, the fix is the host network namespace', async (t) => {
  const r = checkAuditChannel(route({ state: 'deaf', rcvbuf: 425984, rcvbufForced: false, detail: 'no canary record within 1000 ms: not in the host\'s initial network namespace' }), { procRoot: proc, needed: true, rcvbufBytes: ASKED });
  t.equal(r.status, 'fail');
  t.match(r.found, /^joined the kernel's audit multicast group, but no canary record within 1000 ms/);
  t.equal(r.fix, "run in the host's network namespace (Kubernetes: hostNetwork: true; systemd: no PrivateNetwork=)");
  const unproven = checkAuditChannel(route({ state: 'unproven', rcvbuf: 425984, rcvbufForced: false, detail: 'the canary could not run: EPERM' }), { procRoot: proc, needed: true, rcvbufBytes: ASKED });
  t.equal(unproven.status, 'warn');
  t.match(unproven.found, /unproven: the canary could not run/);
});

t.test('works: the canary, the buffer against rmem_max, the kernel\'s audit_lost', async (t) => {
  const capped = checkAuditChannel(route({ state: 'works', rcvbuf: 425984, rcvbufForced: false, latencyMs: 0.6 }), { procRoot: proc, needed: true, rcvbufBytes: ASKED, kernelStatus: kernel(0) });
  t.equal(capped.status, 'ok', 'a capped socket buffer is said, not a warning: the receive thread empties it into the ring');
  t.match(capped.found, /^joined the kernel's audit multicast group; the canary's record arrived in 0\.6 ms \(host network namespace/);
  t.match(capped.found, /receive buffer 425984 bytes of 33554432 asked \(--audit-rcvbuf\), capped by net\.core\.rmem_max=212992 \(a receive thread .*socket_overrun losses: sysctl -w net\.core\.rmem_max=33554432\)/);
  t.match(capped.found, /the kernel's audit_lost is 0$/);
  t.equal(capped.fix, null);

  const forced = checkAuditChannel(route({ state: 'works', rcvbuf: 2 * ASKED, rcvbufForced: true, latencyMs: 0.6 }), { procRoot: proc, needed: true, rcvbufBytes: ASKED, kernelStatus: noControl });
  t.equal(forced.status, 'ok');
  t.match(forced.found, /receive buffer 67108864 bytes, past net\.core\.rmem_max=212992 \(CAP_NET_ADMIN\)/);
  t.match(forced.found, /audit_lost is not readable without CAP_AUDIT_CONTROL/);
  t.equal(forced.fix, null);

  const lost = checkAuditChannel(route({ state: 'works', rcvbuf: 131072, rcvbufForced: false, latencyMs: 0.6 }), { procRoot: proc, needed: true, rcvbufBytes: 65536, kernelStatus: kernel(17) });
  t.equal(lost.status, 'warn');
  t.match(lost.found, /receive buffer 131072 bytes \(net\.core\.rmem_max=212992\)/, 'enough buffer: no complaint about it');
  t.match(lost.found, /the kernel's audit_lost is 17: it dropped that many audit records since boot \(backlog 0 of 64\)/);
  t.match(lost.fix, /^auditctl -b 8192/);

  const hidden = checkAuditChannel(route({ state: 'works', rcvbuf: 131072, rcvbufForced: false, latencyMs: 0.6 }), { procRoot: '/nonexistent', needed: true, rcvbufBytes: 65536, kernelStatus: kernel(0) });
  t.match(hidden.found, /net\.core\.rmem_max=\? \(not visible from this network namespace\)/);
});

t.test('this machine: the real group, buffer and counter', async (t) => {
  const real = findRecordRoute({ procRoot: '/proc', rcvbufBytes: ASKED });
  const r = checkAuditChannel(real, { procRoot: '/proc', needed: true, rcvbufBytes: ASKED });
  if (process.getuid?.() !== 0) {
    t.equal(r.status, 'fail', 'no CAP_AUDIT_READ');
    return;
  }
  t.match(r.found, /the canary's record arrived in [\d.]+ ms/);
  const rmem = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
  // root holds CAP_NET_ADMIN: SO_RCVBUFFORCE passes rmem_max, and CAP_AUDIT_CONTROL: the counter reads
  t.match(r.found, new RegExp(`receive buffer ${2 * ASKED} bytes, past net\\.core\\.rmem_max=${rmem} \\(CAP_NET_ADMIN\\)`));
  t.match(r.found, /the kernel's audit_lost is \d+/);
});
