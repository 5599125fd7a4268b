/**
 * What the pods routes read: a page of pods with their containers' summaries, and one pod's
 * syscalls and executables. Pure over the store: they run on a read thread (store-reader-worker)
 * or, without one, on the main thread, and return plain data that crosses between the two.
 */
import type { StoredWorkload, SyscallStore } from '../../store/syscall-store.js';
import { archName, syscallName } from '../../syscalls/syscall-table.js';
import { podOwner } from '../../profile/workload-pods.js';
import { ApiError } from '../api-errors.js';
import { iso } from '../api-json.js';
import { decodeContinue, encodeContinue, isStrings } from '../continue-token.js';
import { podWorkloads } from '../pod-lookup.js';

const convergence = (w: StoredWorkload) => ({
  lastNewSyscallAt: w.lastNewSyscallAt === null ? null : iso(w.lastNewSyscallAt), recordsSinceNewSyscall: w.recordsSinceNewSyscall,
});

/** GET /api/v1/pods: one item per pod incarnation, a page at a time. */
export function podsPage(store: SyscallStore, args: { namespace?: string | undefined; limit: number; continue?: string | undefined }) {
  const { namespace, limit } = args;
  const after = decodeContinue('pods', args.continue, isStrings(3));
  if (after !== null && namespace !== undefined && after[0] !== namespace) {
    throw new ApiError('SA_BAD_REQUEST', `continue: a token of namespace ${after[0]}, not ${namespace}; pass the same ?namespace= on every page`);
  }
  const page = store.podPage({
    limit, ...(namespace !== undefined ? { namespace } : {}),
    after: after === null ? null : { namespace: after[0]!, pod: after[1]!, podUid: after[2]! },
  });
  return {
    items: page.items.map(({ key, workloads }) => ({
      namespace: key.namespace, pod: key.pod, podUid: key.podUid === '' ? null : key.podUid, owner: podOwner(workloads),
      containers: workloads.map((w) => ({
        name: w.container, containerId: w.containerId, syscalls: w.syscalls, records: w.records, violations: w.violations,
        firstSeen: iso(w.firstSeen), lastSeen: iso(w.lastSeen), ...convergence(w),
      })),
    })),
    ...(page.next !== null ? { continue: encodeContinue('pods', [page.next.namespace, page.next.pod, page.next.podUid]) } : {}),
  };
}

/** GET /api/v1/namespaces/{ns}/pods/{pod}/syscalls: per container, each syscall and executable. */
export function podSyscalls(store: SyscallStore, args: { namespace: string; pod: string; container?: string | undefined }) {
  const { namespace, pod, container } = args;
  const workloads = podWorkloads(store, namespace, pod, container);
  const rows = store.syscallsOf(workloads.map((w) => w.key));
  const executables = store.executablesOf(workloads.map((w) => w.key));
  return {
    // the owner is the pod's: with ?container= its sibling containers may be the ones that know it
    namespace, pod, owner: podOwner(container === undefined ? workloads : store.workloadsOfPod(namespace, pod)),
    containers: workloads.map((w) => ({
      name: w.container,
      containerId: w.containerId,
      ...convergence(w),
      syscalls: rows.filter((r) => r.workload === w.key).map((r) => ({
        name: syscallName(r.auditArch, r.syscallNr), arch: archName(r.auditArch, r.syscallNr), nr: r.syscallNr,
        action: r.action, count: r.count, firstSeen: iso(r.firstSeen), lastSeen: iso(r.lastSeen),
      })),
      executables: executables.filter((e) => e.workload === w.key).map((e) => ({
        exe: e.exe, processes: e.count, firstSeen: iso(e.firstSeen), lastSeen: iso(e.lastSeen),
      })),
    })),
  };
}
