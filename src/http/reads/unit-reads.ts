/** What the units list reads (the unit profile is in profile-reads.ts). Pure over the store, plain data out. */
import type { SyscallStore } from '../../store/syscall-store.js';
import { iso } from '../api-json.js';
import { decodeContinue, encodeContinue, isString } from '../continue-token.js';

/** GET /api/v1/units: host systemd units seen, by name, a page at a time. */
export function unitsPage(store: SyscallStore, args: { limit: number; continue?: string | undefined }) {
  const page = store.unitPage({ limit: args.limit, after: decodeContinue('units', args.continue, isString) });
  return {
    items: page.items.map((w) => ({ unit: w.unit!, syscalls: w.syscalls, records: w.records, firstSeen: iso(w.firstSeen), lastSeen: iso(w.lastSeen) })),
    ...(page.next !== null ? { continue: encodeContinue('units', page.next) } : {}),
  };
}
