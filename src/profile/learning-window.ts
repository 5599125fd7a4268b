import type { UnattributedDelta } from '../types/flush-batch.js';
/**
 * What a learned profile was learned from, and whether it can be trusted: the records and the
 * time window they span, the losses of this node that overlap that window, unattributed records
 * in it that could be the workload's, and whether the window is long enough to have seen more
 * than a start. Pure: the store's rows in, the answer's `learned` part out; the REST routes and
 * the CLI share it, so they say the same thing in the same words.
 */

/**
 * How far before and after its window a loss still counts against a profile. A window is the
 * first and last record *seen*; lost records right before it can be the workload's first calls
 * (its start), right after it the calls it made next (printk suppresses everything after the
 * 10th record of its 5 s interval, so the last record seen may be another process's). A minute is
 * also the loss timeline's bucket: its intervals are up to a minute wider than the events.
 */
export const LOSS_MARGIN_MS = 60_000;

/**
 * When a profile is young: learned from a window shorter than `minWindowMs` or fewer than
 * `minRecords` records. 10 minutes: a start is over in seconds, but what a service does
 * periodically (probes every 10 s by default, timers and flushes of a minute or more, log
 * rotation) needs several of its periods to be seen; 1 000 records: a container's start alone
 * (runtime init, exec, dynamic loading) makes a few hundred under a logging filter, so a
 * profile from fewer has seen little beyond it.
 */
export interface YoungThresholds {
  minWindowMs: number;
  minRecords: number;
}

export const DEFAULT_YOUNG_THRESHOLDS: YoungThresholds = { minWindowMs: 10 * 60_000, minRecords: 1000 };

/** A row of the loss timeline (ms). */
export interface LossRow {
  source: string;
  reason: string;
  count: number;
  from: number;
  to: number;
}

/** An unattributed group (ms): the store keeps them as the pipeline hands them over. */
export type UnattributedRow = UnattributedDelta;

export interface LearnedLoss {
  source: string;
  reason: string;
  count: number;
  /** ISO 8601: the interval the lost records were made in (bucketed: up to a minute wider) */
  from: string;
  to: string;
  /** in a merge: the daemon that reported it */
  node?: string;
}

export interface LearnedUnattributed {
  comm: string | null;
  exe: string | null;
  reason: string;
  /** the group's records; those within the window are at most this many */
  count: number;
  firstSeen: string;
  lastSeen: string;
  node?: string;
}

/** The `learned` part of a profile answer (explain, headers, SPO annotations). */
export interface LearnedFrom {
  records: number;
  /** ISO 8601 of the first and last record, null without any */
  from: string | null;
  to: string | null;
  /** no loss of this node overlaps the window (LOSS_MARGIN_MS on either side) */
  complete: boolean;
  losses: LearnedLoss[];
  /**
   * Unattributed records within the window whose comm or exe is one the workload ran: they may
   * be its own (a child that exited before it could be attributed). Reported, not counted against
   * completeness: the store keeps them by comm and exe, without their syscalls, so a host's
   * `sh` cannot be told from a pod's, and refusing on them would refuse most pods of a busy node.
   */
  unattributed: LearnedUnattributed[];
  /** the window is shorter than `thresholds.minWindowMs` or has fewer than `thresholds.minRecords` records */
  young: boolean;
  thresholds: { minWindowMinutes: number; minRecords: number };
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** The window to ask the store about: the records' span widened by the margin. */
export function lossQueryWindow(fromMs: number, toMs: number): { fromMs: number; toMs: number } {
  return { fromMs: fromMs - LOSS_MARGIN_MS, toMs: toMs + LOSS_MARGIN_MS };
}

/** Whether a window is young by the thresholds (no records at all: young). */
export function isYoung(records: number, fromMs: number | null, toMs: number | null, t: YoungThresholds): boolean {
  return records < t.minRecords || fromMs === null || toMs === null || toMs - fromMs < t.minWindowMs;
}

export function assessLearning(input: {
  records: number;
  fromMs: number | null;
  toMs: number | null;
  /** the timeline's rows overlapping lossQueryWindow(from, to) */
  losses: readonly LossRow[];
  unattributed: readonly UnattributedRow[];
  thresholds: YoungThresholds;
}): LearnedFrom {
  const { records, fromMs, toMs, thresholds } = input;
  const losses = input.losses.filter((l) => l.count > 0)
    .map((l) => ({ source: l.source, reason: l.reason, count: l.count, from: iso(l.from), to: iso(l.to) }));
  return {
    records,
    from: fromMs === null ? null : iso(fromMs),
    to: toMs === null ? null : iso(toMs),
    complete: losses.length === 0,
    losses,
    unattributed: input.unattributed.map((u) => ({ comm: u.comm, exe: u.exe, reason: u.reason, count: u.count, firstSeen: iso(u.firstSeen), lastSeen: iso(u.lastSeen) })),
    young: isYoung(records, fromMs, toMs, thresholds),
    thresholds: thresholdsOut(thresholds),
  };
}

function thresholdsOut(t: YoungThresholds): LearnedFrom['thresholds'] {
  return { minWindowMinutes: t.minWindowMs / 60_000, minRecords: t.minRecords };
}

/**
 * The `learned` of a profile merged from several daemons: complete only if every one is; the
 * losses and unattributed groups of each, named by daemon; young judged on the merged window.
 */
export function mergeLearned(parts: readonly { node: string; learned: LearnedFrom }[], thresholds: YoungThresholds): LearnedFrom {
  let records = 0;
  let from: number | null = null;
  let to: number | null = null;
  const losses: LearnedLoss[] = [];
  const unattributed: LearnedUnattributed[] = [];
  let complete = true;
  for (const { node, learned } of parts) {
    records += learned.records;
    if (learned.from !== null) from = Math.min(from ?? Infinity, Date.parse(learned.from));
    if (learned.to !== null) to = Math.max(to ?? -Infinity, Date.parse(learned.to));
    complete &&= learned.complete;
    for (const l of learned.losses) losses.push({ ...l, node });
    for (const u of learned.unattributed) unattributed.push({ ...u, node });
  }
  return {
    records,
    from: from === null ? null : iso(from),
    to: to === null ? null : iso(to),
    complete,
    losses,
    unattributed,
    young: isYoung(records, from, to, thresholds),
    thresholds: thresholdsOut(thresholds),
  };
}

/** `X-Learned-Lost` and the SPO annotation: `kmsg/printk_suppressed=12688,audit/socket_overrun=3`, or `none`. */
export function lostSummary(learned: LearnedFrom): string {
  const sums = new Map<string, number>();
  for (const l of learned.losses) {
    const key = `${l.node !== undefined ? `${l.node} ` : ''}${l.source}/${l.reason}`;
    sums.set(key, (sums.get(key) ?? 0) + l.count);
  }
  return sums.size === 0 ? 'none' : [...sums].map(([k, n]) => `${k}=${n}`).join(',');
}

/** `X-Learned-Unattributed`: records of the workload's comms or exes nobody could be named for, or 0. */
export function unattributedSummary(learned: LearnedFrom): number {
  return learned.unattributed.reduce((n, u) => n + u.count, 0);
}

/** What to do about each kind of loss, by reason. */
const FIXES: Record<string, string> = {
  printk_suppressed: "read the kernel's audit multicast group instead of /dev/kmsg (--source audit; grant CAP_AUDIT_READ and hostNetwork: true; `seccomp-auditor doctor` checks it): /dev/kmsg passes at most 10 records per 5 s",
  overwritten: "read the kernel's audit multicast group instead of /dev/kmsg (--source audit; grant CAP_AUDIT_READ and hostNetwork: true): the kernel's ring holds a few hundred records",
  socket_overrun: 'give the audit socket more room (raise net.core.rmem_max to --audit-rcvbuf, or --audit-buffer) or CPU (CAP_SYS_NICE for the reader)',
  audit_lost: "raise the kernel's audit backlog (auditctl -b 8192): it dropped records before any reader",
  daemon_down: 'keep the daemon running while the workload learns: records made while it was down are gone',
};

/**
 * The message of the refusal (409 SA_PROFILE_INCOMPLETE, the CLI's error): what was lost, when,
 * and what to do. `allowFlag` names the way to take it anyway (`?allowIncomplete=true`, `--allow-incomplete`).
 */
export function incompleteMessage(what: string, learned: LearnedFrom, allowFlag: string): string {
  const window = learned.from === null ? 'no records' : `${learned.records} records from ${learned.from} to ${learned.to}`;
  const shown = learned.losses.slice(0, 5).map((l) => `${l.node !== undefined ? `${l.node}: ` : ''}${l.count} records lost by ${l.source} (${l.reason}) between ${l.from} and ${l.to}`);
  if (learned.losses.length > shown.length) shown.push(`${learned.losses.length - shown.length} more losses (?explain=true lists them)`);
  const fixes = [...new Set(learned.losses.map((l) => FIXES[l.reason]).filter((f): f is string => f !== undefined))];
  return `the profile of ${what} is incomplete: its learning window (${window}) overlaps records the node lost, which may hold calls the profile would block: ` +
    `${shown.join('; ')}. To fix: ${fixes.length > 0 ? `${fixes.join('; ')}; then ` : ''}learn again (run the workload once more and export when no loss overlaps its window), ` +
    `or take this profile anyway, marked incomplete, with ${allowFlag}`;
}

/** The SPO object's annotations: what it was learned from, as strings. */
export function learnedAnnotations(learned: LearnedFrom): Record<string, string> {
  return {
    'seccomp-auditor.io/complete': String(learned.complete),
    'seccomp-auditor.io/lost': lostSummary(learned),
    'seccomp-auditor.io/young': String(learned.young),
    'seccomp-auditor.io/learned-records': String(learned.records),
    ...(learned.from !== null ? { 'seccomp-auditor.io/learned-from': learned.from } : {}),
    ...(learned.to !== null ? { 'seccomp-auditor.io/learned-to': learned.to } : {}),
  };
}
