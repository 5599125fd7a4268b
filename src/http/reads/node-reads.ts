/**
 * What the node-wide routes read: violations, unattributed records, and the store's part of
 * /api/v1/status. Pure over the store, plain data out (see pod-reads.ts).
 */
import type { SyscallStore } from '../../store/syscall-store.js';
import { archName, syscallName } from '../../syscalls/syscall-table.js';
import { iso } from '../api-json.js';
import { decodeContinue, encodeContinue, isWholeNumber } from '../continue-token.js';

const isViolationKey = (v: unknown): v is [number, number, number, string] => Array.isArray(v) && v.length === 4
  && Number.isSafeInteger(v[0]) && Number.isSafeInteger(v[1]) && Number.isSafeInteger(v[2]) && typeof v[3] === 'string';

/** GET /api/v1/violations: syscall rows whose action was not log, a page at a time. */
export function violationsPage(store: SyscallStore, args: { limit: number; continue?: string | undefined }) {
  const after = decodeContinue('violations', args.continue, isViolationKey);
  const page = store.violationPage({
    limit: args.limit,
    after: after === null ? null : { workloadId: after[0], auditArch: after[1], syscallNr: after[2], action: after[3] },
  });
  const n = page.next;
  return {
    items: page.items.map((r) => ({
      namespace: r.namespace, pod: r.pod, container: r.container, workload: r.workload,
      syscall: syscallName(r.auditArch, r.syscallNr), arch: archName(r.auditArch, r.syscallNr), nr: r.syscallNr,
      action: r.action, count: r.count, firstSeen: iso(r.firstSeen), lastSeen: iso(r.lastSeen),
    })),
    ...(n !== null ? { continue: encodeContinue('violations', [n.workloadId, n.auditArch, n.syscallNr, n.action]) } : {}),
  };
}

/** GET /api/v1/unattributed: groups by comm, exe and reason, a page at a time, with the cap's overflow. */
export function unattributedPage(store: SyscallStore, args: { limit: number; continue?: string | undefined }) {
  const page = store.unattributedPage({ limit: args.limit, after: decodeContinue('unattributed', args.continue, isWholeNumber) });
  const overflow = store.overflow().unattributed;
  return {
    items: page.items.map((u) => ({ comm: u.comm, exe: u.exe, reason: u.reason, count: u.count, firstSeen: iso(u.firstSeen), lastSeen: iso(u.lastSeen) })),
    ...(page.next !== null ? { continue: encodeContinue('unattributed', page.next) } : {}),
    ...(Object.keys(overflow).length > 0 ? { overflow } : {}),
  };
}

/** The database's part of GET /api/v1/status (the daemon's own part is read where it lives). */
export function statusOfStore(store: SyscallStore, _args: Record<string, never>) {
  return {
    positions: store.positions().map((p) => ({ source: p.source, position: p.position, updatedAt: iso(p.updatedAt) })),
    lost: store.lost(),
    databaseBytes: store.sizeBytes(),
    overflow: store.overflow(),
  };
}
