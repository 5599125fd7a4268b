import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { parseCgroupFile } from '../../src/attribute/cgroup-path.js';
import { ProcFs } from '../../src/attribute/proc-fs.js';
import { CgroupSandbox, cgroupMounts, randomHex, randomPodUid, requireCgroups } from './cgroup-sandbox.js';

// Real processes in real cgroups named like the kubelet names them, read back through /proc: the kernel
// writes the file the parser is tested on. Each test makes its own top-level group (`sa-test-<hex>`),
// which also exercises a kubepods tree below another root (--cgroup-root).

const proc = new ProcFs();

async function waitUntil(cond: () => boolean, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

t.test('cgroupfs driver layout (v1 pids hierarchy, or v2 on a pure v2 host)', async (t) => {
  if (!requireCgroups(t)) return;
  const { v1Pids, v2 } = cgroupMounts();
  const box = new CgroupSandbox(t);
  const uid = randomPodUid();
  const id = randomHex(32);
  const cg = box.make((v1Pids ?? v2)!, `kubepods/burstable/pod${uid}/${id}`);
  const child = box.sleeper();
  box.move(cg.dir, child.pid);
  const content = proc.readCgroup(child.pid);
  t.ok(content?.includes(`:${cg.path}\n`), content ?? 'no cgroup file');
  t.same(parseCgroupFile(content!), { containerId: id, podUid: uid, qos: 'burstable', runtime: null, unit: null, path: cg.path });
  t.equal((proc.readStat(child.pid)?.ppid ?? null), process.pid);
  t.ok(proc.readStartTime(child.pid)! >= proc.readStartTime(process.pid)!, 'a child starts after its parent');
});

t.test('systemd driver layout in cgroup v2', async (t) => {
  if (!requireCgroups(t)) return;
  const { v2 } = cgroupMounts();
  if (v2 === null) return t.plan(0, 'no cgroup2 mount');
  const box = new CgroupSandbox(t);
  const uid = randomPodUid();
  const id = randomHex(32);
  const cg = box.make(v2, `kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${uid.replaceAll('-', '_')}.slice/cri-containerd-${id}.scope`);
  const child = box.sleeper();
  box.move(cg.dir, child.pid);
  t.same(parseCgroupFile(proc.readCgroup(child.pid)!), { containerId: id, podUid: uid, qos: 'besteffort', runtime: 'containerd', unit: null, path: cg.path });
});

t.test('hybrid host: v1 and v2 name different containers, and the v2 line wins', async (t) => {
  if (!requireCgroups(t)) return;
  const { v1Pids, v2 } = cgroupMounts();
  if (v1Pids === null || v2 === null) return t.plan(0, 'not a hybrid (v1 + v2) host');
  const box = new CgroupSandbox(t);
  const uid = randomPodUid();
  const [idV1, idV2] = [randomHex(32), randomHex(32)];
  const inV1 = box.make(v1Pids, `kubepods/pod${uid}/${idV1}`);
  const inV2 = box.make(v2, `kubepods.slice/kubepods-pod${uid.replaceAll('-', '_')}.slice/crio-${idV2}.scope`);
  const child = box.sleeper();
  box.move(inV1.dir, child.pid);
  box.move(inV2.dir, child.pid);
  const content = proc.readCgroup(child.pid)!;
  t.match(content, `pids:${inV1.path}\n`);
  t.same(parseCgroupFile(content), { containerId: idV2, podUid: uid, qos: 'guaranteed', runtime: 'cri-o', unit: null, path: inV2.path });
});

t.test('a process whose v2 cgroup was removed after it exited shows "(deleted)"', async (t) => {
  if (!requireCgroups(t)) return;
  const { v2 } = cgroupMounts();
  if (v2 === null) return t.plan(0, 'no cgroup2 mount');
  const box = new CgroupSandbox(t);
  const id = randomHex(32);
  const cg = box.make(v2, `system.slice/docker-${id}.scope`);
  const { childPid } = await box.unreapedChild();
  box.move(cg.dir, childPid);
  process.kill(childPid, 'SIGKILL');
  t.ok(await waitUntil(() => /State:\s+Z/.test(readStatus(childPid))), 'the child is a zombie (its parent does not reap it)');
  // a zombie no longer populates its cgroup, so the cgroup can go while /proc still shows the process
  await box.removeDirs();
  t.notOk(existsSync(cg.dir), 'cgroup removed');
  const content = proc.readCgroup(childPid)!;
  t.match(content, `0::${cg.path} (deleted)\n`);
  t.same(parseCgroupFile(content), { containerId: id, podUid: null, qos: null, runtime: 'docker', unit: null, path: cg.path });
  t.ok(proc.readStartTime(childPid)! > 0, 'a zombie still has its start time');
});

function readStatus(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return '';
  }
}
