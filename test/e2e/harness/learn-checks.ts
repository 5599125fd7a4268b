import type { Test } from 'tap';
import { syscallName } from '../../../src/syscalls/syscall-table.js';
import type { DaemonProcess } from './daemon-process.js';
import type { LearnRun } from './learn-run.js';
import { syscallNamesOf } from './scenario.js';

const X86_64 = 0xc000003e;


/**
 * What scenario 1 promises of a learning run: both pods ran, the API lists them with their
 * names, every record of a pod's children went to that pod (at least 99%, printed), none of
 * another pod's, and the syscalls listed are the ones the kernel logged for it.
 */
export async function checkLearned(t: Test, daemon: DaemonProcess, run: LearnRun): Promise<void> {
  // (a repeated run leaves the earlier run's pods in the namespace too)
  t.ok(run.pods.every((p) => run.listed.items.some((i) => i.pod === p.container.pod)), 'the API lists both pods');
  for (const p of run.pods) {
    const c = p.container;
    t.equal(p.run.code, 0, `${c.pod} ran (${p.run.stderr.trim()})`);
    t.match(p.run.stdout, p.workload.expectOutput, `${c.pod} printed what it should`);
    t.ok(p.truth.children > 500, `${c.pod}'s children made ${p.truth.children} records`);
    const item = run.listed.items.find((i) => i.pod === c.pod);
    t.match(item, { namespace: c.namespace, pod: c.pod, podUid: c.podUid, containers: [{ name: c.container, containerId: c.containerId }] }, `${c.pod}: names and ids from the kubelet's files`);
    t.equal(item?.containers.length, 1, `${c.pod}: one container, no other`);
    t.ok(p.attributed <= p.truth.total, `${c.pod}: no record of another process attributed to it (${p.attributed} <= ${p.truth.total})`);
    const children = p.attributed - p.truth.main - p.truth.runtimeInit;
    const share = children / p.truth.children;
    t.comment(`attribution share for ${c.pod}'s short-lived children: ${children} / ${p.truth.children} = ${(100 * share).toFixed(2)}% (unattributed: ${p.unattributed})`);
    t.ok(share >= 0.99, `${c.pod}: at least 99% of the children's records attributed (${(100 * share).toFixed(2)}%)`);
    const names = [...await syscallNamesOf(daemon, c)].sort();
    const logged = syscallNames(p.truth.syscalls);
    if (share === 1) t.same(names, logged, `${c.pod}: exactly the syscalls the kernel logged for it`);
    else {
      t.ok(names.every((n) => logged.includes(n)), `${c.pod}: only syscalls the kernel logged for it`);
      // a syscall may be missing only when all its records can be among the unattributed ones
      const unattributedChildren = p.truth.children - children;
      const missing = [...p.truth.counts].filter(([nr]) => !names.includes(syscallName(X86_64, nr) ?? String(nr)));
      t.same(missing.filter(([, n]) => n > unattributedChildren), [], `${c.pod}: every syscall with more records than went unattributed is listed`);
    }
  }
}

export function syscallNames(nrs: Iterable<number>): string[] {
  return [...nrs].map((nr) => syscallName(X86_64, nr) ?? String(nr)).sort();
}
