/**
 * The plain data types every stage shares. Kept free of imports from any stage so that
 * sources, parse, attribute and profile can all depend on it without depending on each other.
 */

/** What the filter decided, from the `code=` field (SECCOMP_RET_ACTION_FULL of the filter's return value). */
export const SECCOMP_ACTIONS = ['log', 'errno', 'kill_process', 'kill_thread', 'trap', 'user_notif', 'trace', 'allow', 'unknown'] as const;
export type SeccompAction = (typeof SECCOMP_ACTIONS)[number];

/** Kinds of "records were lost" signals the kernel prints instead of records. */
export type LostSignalKind =
  /** `kauditd_printk_skb: N callbacks suppressed`: printk rate limiting dropped N records. */
  | 'printk_suppressed'
  /** `audit: audit_lost=N ...`: the kernel's cumulative lost counter (N is a total since boot, not a delta). */
  | 'audit_lost'
  /** `audit: backlog limit exceeded`: one event, count unknown. */
  | 'backlog_exceeded'
  /** `audit: rate limit exceeded`: one event, count unknown. */
  | 'rate_limit_exceeded';

/** Marks a numeric field the record did not carry. */
export const ABSENT = -1;

/**
 * One seccomp record. The parser fills one instance over and over (no allocation per record on
 * the hot path); string fields stay byte ranges until someone asks for them. An instance is only
 * valid inside the callback that received it: call `snapshot()` to keep one.
 */
export interface SeccompRecordView {
  /** Milliseconds since the epoch from `audit(SECS.MS:SERIAL)`, or ABSENT. */
  readonly time: number;
  /** The audit serial, or ABSENT. */
  readonly serial: number;
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
  readonly auid: number;
  readonly ses: number;
  readonly sig: number;
  /** The AUDIT_ARCH_* value of the syscall's calling convention (`arch=`), or ABSENT. */
  readonly auditArch: number;
  /** The syscall number exactly as logged (x32 numbers keep bit 0x40000000), or ABSENT. */
  readonly syscallNr: number;
  /** 1 when the call came through a compat entry point, 0 when not, ABSENT when not logged. */
  readonly compat: number;
  /** The filter's return value (`code=`), or ABSENT. */
  readonly code: number;
  readonly action: SeccompAction;
  comm(): string | null;
  exe(): string | null;
  subj(): string | null;
  ip(): string | null;
  /** A plain object that stays valid after the callback returns. */
  snapshot(): SeccompRecordData;
}

/** A record detached from the parser's buffers. */
export interface SeccompRecordData {
  time: number | null;
  serial: number | null;
  pid: number | null;
  uid: number | null;
  gid: number | null;
  auid: number | null;
  ses: number | null;
  sig: number | null;
  auditArch: number | null;
  syscallNr: number | null;
  compat: boolean | null;
  code: number | null;
  action: SeccompAction;
  comm: string | null;
  exe: string | null;
  subj: string | null;
  ip: string | null;
}
