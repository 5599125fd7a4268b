import t from 'tap';
import { execFileSync } from 'node:child_process';
import { checkCgroupVersion, checkKubepodsCgroups, cgroupVersionOf, driverOfPath, parseCgroupMounts } from '../../src/doctor/cgroup-checks.js';
import { nodeTree, podCgroup, statLine } from './node-tree.js';

const V2 = 'proc /proc proc rw 0 0\ncgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0\n';
const V1 = 'tmpfs /sys/fs/cgroup tmpfs ro 0 0\ncgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\ncgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,cpu,cpuacct 0 0\ncgroup /sys/fs/cgroup/systemd cgroup rw,name=systemd 0 0\n';
const HYBRID = `${V1}cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n`;

t.test('cgroup mounts: v1, v2, hybrid, none', async (t) => {
  t.same(parseCgroupMounts(V2), { v1: [], v2: ['/sys/fs/cgroup'] });
  t.same(cgroupVersionOf(parseCgroupMounts(V1)), 'v1');
  t.same(cgroupVersionOf(parseCgroupMounts(V2)), 'v2');
  t.same(cgroupVersionOf(parseCgroupMounts(HYBRID)), 'hybrid');
  t.same(cgroupVersionOf(parseCgroupMounts('proc /proc proc rw 0 0\n')), null);
  t.same(parseCgroupMounts('cgroup2 /mnt/my\\040cgroups cgroup2 rw 0 0\ngarbage\n\n'), { v1: [], v2: ['/mnt/my cgroups'] }, 'octal escapes');
});

t.test('cgroup version from a proc root\'s mounts', async (t) => {
  const v2 = checkCgroupVersion(nodeTree({ '1/mounts': V2 }));
  t.equal(v2.status, 'ok');
  t.equal(v2.found, 'cgroup v2 (unified) at /sys/fs/cgroup');
  t.match(checkCgroupVersion(nodeTree({ '1/mounts': HYBRID })).found, /^hybrid: 3 cgroup v1 hierarchies under \/sys\/fs\/cgroup and cgroup2 at \/sys\/fs\/cgroup\/unified$/);
  t.equal(checkCgroupVersion(nodeTree({ 'self/mounts': V1 })).found, 'cgroup v1: 3 hierarchies under /sys/fs/cgroup', 'self/mounts when pid 1\'s is not readable');
  t.equal(checkCgroupVersion(nodeTree({ '1/mounts': 'proc /proc proc rw 0 0\n' })).status, 'warn');
  t.equal(checkCgroupVersion('/nonexistent').status, 'warn');
});

t.test('cgroup version of this machine, against the file system types stat reports', async (t) => {
  const type = (p: string): string => { try { return execFileSync('stat', ['-f', '-c', '%T', p], { encoding: 'utf8' }).trim(); } catch { return 'none'; } };
  const expected = type('/sys/fs/cgroup') === 'cgroup2fs' ? /^cgroup v2/ : type('/sys/fs/cgroup/unified') === 'cgroup2fs' ? /^hybrid: / : /^cgroup v1: /;
  const r = checkCgroupVersion('/proc');
  t.equal(r.status, 'ok');
  t.match(r.found, expected);
});

t.test('kubepods cgroups: the driver from the directories and from processes', async (t) => {
  const uid = '2c1b5a4e-9f0e-4d2a-8b7c-1e2f3a4b5c6d';
  const systemdV2 = checkKubepodsCgroups({
    procRoot: nodeTree({ '1/mounts': V2, '1/cgroup': '0::/init.scope\n', '1/stat': statLine(1, 'systemd') }),
    sysRoot: nodeTree({}, ['fs/cgroup/kubepods.slice/kubepods-burstable.slice']),
  });
  t.equal(systemdV2.status, 'ok');
  t.match(systemdV2.found, /^systemd driver: .*\/fs\/cgroup\/kubepods\.slice; 0 of 1 processes in pod cgroups$/);

  const cgroupfsV1 = checkKubepodsCgroups({
    procRoot: nodeTree({ '1/mounts': V1 }),
    sysRoot: nodeTree({}, ['fs/cgroup/memory/kubepods/burstable', 'fs/cgroup/cpu,cpuacct/kubepods']),
  });
  t.equal(cgroupfsV1.status, 'ok');
  t.match(cgroupfsV1.found, /^cgroupfs driver: .*memory\/kubepods, .*cpu,cpuacct\/kubepods;/);

  const kind = checkKubepodsCgroups({ procRoot: nodeTree({ '1/mounts': V2 }), sysRoot: nodeTree({}, ['fs/cgroup/kubelet.slice/kubelet-kubepods.slice']) });
  t.match(kind.found, /^systemd driver: .*kubelet\.slice\/kubelet-kubepods\.slice/, 'kind\'s nesting');

  // a node whose cgroup tree is not visible (no /sys mount) still shows its pods in processes' cgroup files
  const fromProcs = checkKubepodsCgroups({
    procRoot: nodeTree({ '1/mounts': V2, '1/cgroup': '0::/init.scope\n', '40/cgroup': podCgroup(uid), '41/cgroup': `0::/kubepods/besteffort/pod${uid}/${'cd'.repeat(32)}\n` }),
    sysRoot: '/nonexistent-sys',
  });
  t.equal(fromProcs.status, 'ok');
  t.match(fromProcs.found, /^cgroupfs and systemd drivers: 2 of 3 processes in pod cgroups$/);

  const none = checkKubepodsCgroups({ procRoot: nodeTree({ '1/mounts': V2, '1/cgroup': '0::/init.scope\n' }), sysRoot: nodeTree({}, ['fs/cgroup/system.slice']) });
  t.equal(none.status, 'warn', 'a node without pods is a warning, not a failure');
  t.match(none.found, /^no kubepods cgroup under .*\/fs\/cgroup and 0 of 1 processes in pod cgroups/);
});

t.test('kubepods cgroups on this machine: answers, whatever pods the other tests left', async (t) => {
  const r = checkKubepodsCgroups({ procRoot: '/proc', sysRoot: '/sys' });
  t.match(r.found, /\d+ of \d+ processes/);
  t.ok(r.status === 'ok' || r.status === 'warn');
});

t.test('driver of a pod\'s cgroup path', async (t) => {
  t.equal(driverOfPath('/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podx.slice/crio-1.scope'), 'systemd');
  t.equal(driverOfPath('/system.slice/containerd.service/kubepods-burstable-pody.slice:cri-containerd:ab'), 'systemd');
  t.equal(driverOfPath('/kubepods/burstable/podx/ab'), 'cgroupfs');
  t.equal(driverOfPath('/kubelet/kubepods/podx/ab'), 'cgroupfs');
});
