import type { FastifyReply } from 'fastify';
import { assessLearning, incompleteMessage, lossQueryWindow, lostSummary, unattributedSummary, type LearnedFrom, type YoungThresholds } from '../profile/learning-window.js';
import type { ProfileExplain } from '../profile/oci-profile.js';
import type { SyscallStore } from '../store/syscall-store.js';
import { ApiError } from './api-errors.js';

/**
 * What every profile route (pod, workload, unit) says about what a profile was learned from:
 * the `learned` part of explain, the X-Learned-* headers, and the refusal of an incomplete one.
 */

/** `learned` for a profile built from these workloads' rows (`explain` gives the records and the window). */
export function learnedFor(s: SyscallStore, workloadKeys: readonly string[], explain: ProfileExplain, young: YoungThresholds): LearnedFrom {
  const fromMs = explain.from === null ? null : Date.parse(explain.from);
  const toMs = explain.to === null ? null : Date.parse(explain.to);
  // no records: nothing was learned, so nothing of it can have been lost (and it is young)
  const evidence = fromMs === null || toMs === null
    ? { losses: [], unattributed: [] }
    : (({ fromMs: a, toMs: b }) => s.learningEvidence(workloadKeys, a, b))(lossQueryWindow(fromMs, toMs));
  return assessLearning({ records: explain.records, fromMs, toMs, losses: evidence.losses, unattributed: evidence.unattributed, thresholds: young });
}

/**
 * The headers, on every answer (an allowed incomplete one included): X-Learned-Records, -From,
 * -To, -Complete (true|false), -Lost (`source/reason=count,...` or none), -Young, -Unattributed.
 */
export function sendLearnedHeaders(reply: FastifyReply, learned: LearnedFrom): void {
  reply.header('X-Learned-Records', String(learned.records));
  if (learned.from !== null) reply.header('X-Learned-From', learned.from);
  if (learned.to !== null) reply.header('X-Learned-To', learned.to);
  reply.header('X-Learned-Complete', String(learned.complete));
  reply.header('X-Learned-Lost', lostSummary(learned));
  reply.header('X-Learned-Young', String(learned.young));
  reply.header('X-Learned-Unattributed', String(unattributedSummary(learned)));
}

/** The default answer for an incomplete profile: 409 SA_PROFILE_INCOMPLETE saying what was lost and what to do. */
export function refuseIncomplete(learned: LearnedFrom, allowIncomplete: boolean, what: string): void {
  if (learned.complete || allowIncomplete) return;
  throw new ApiError('SA_PROFILE_INCOMPLETE', incompleteMessage(what, learned, '?allowIncomplete=true'));
}
