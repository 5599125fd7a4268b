import { readFileSync } from 'node:fs';
import { canaryNeedle, canarySyscallNr } from './audit-canary.js';
import type { CanaryState } from '../types/audit-channel.js';
import { auditNetlink, ReadStat, type AuditHandle, type AuditNetlinkAddon, type KernelAuditStatus } from './audit-netlink.js';

/** Where the audit source delivers records: `buf[start, end)` is one record's body. */
export interface AuditBodySink {
  onAuditBody(buf: Buffer, start: number, end: number): void;
  /** called after each burst of records, so the consumer can flush or advance its clock */
  onBatchEnd?(): void;
}

export interface AuditSourceOptions {
  sink: AuditBodySink;
  /** receive buffer asked for: past net.core.rmem_max only with CAP_NET_ADMIN */
  rcvbufBytes?: number;
  /** the addon's ring, where its receive thread moves records while this thread is busy */
  ringBytes?: number;
  /** how long the canary's record may take before the channel is declared deaf */
  canaryTimeoutMs?: number;
  /** how often the canary runs again once it was seen (a deaf channel retries every minute) */
  canaryEveryMs?: number;
  /** /proc/net/netlink, where the kernel counts what it dropped for each socket */
  netlinkTable?: string;
  /** the addon; a test may hand one that fails */
  addon?: AuditNetlinkAddon;
  /**
   * The serial of the last record committed before this start, on the same boot: the records
   * the kernel made between it and the first one read now were missed (see `gap`).
   */
  resumeAfterSerial?: number;
  /** told when the canary's state changes (readiness follows it) */
  onCanary?: (canary: CanaryState) => void;
}

export const AUDIT_MESSAGE_SECCOMP = 1326;
const NLMSG_HDRLEN = 16;
/** the socket's receive buffer asked for by default (an unprivileged socket gets at most 2 x net.core.rmem_max) */
export const DEFAULT_RCVBUF_BYTES = 32 << 20;
/**
 * The ring the addon's receive thread empties the socket into: records at their own size
 * (~220 bytes), about 150 000 of them, some seconds of the fastest fork burst measured here
 * while this thread parses; memory is touched only as far as a burst fills it.
 */
export const DEFAULT_RING_BYTES = 32 << 20;
/** how long one read waits for the kernel before the thread's timers and messages get a turn */
const WAIT_MS = 20;
/** one read's room: enough for ~4 000 records at once */
const READ_BUFFER_BYTES = 1 << 20;

export const NOT_IN_HOST_NETWORK = 'no record arrived from the kernel\'s audit multicast group within %MS% ms of the canary ' +
  '(a syscall this daemon logs on purpose): the kernel sends the group only to sockets in the host\'s initial network ' +
  'namespace. Run the daemon there (Kubernetes: hostNetwork: true; systemd: no PrivateNetwork=), or choose another --source. ' +
  'Also check that /proc/sys/kernel/seccomp/actions_logged contains "log" and that the kernel was not booted with audit=0';

/**
 * Follows the kernel's audit multicast group (NETLINK_AUDIT, AUDIT_NLGRP_READLOG): every audit
 * record, as the kernel makes it, without printk's rate limit or kmsg's ring, whether or not
 * auditd runs. Seccomp records (netlink type 1326) go to the sink; other types are ignored.
 *
 * The addon's own receive thread empties the socket into a ring as records come; this thread
 * waits on the ring for at most WAIT_MS, hands on what arrived, then yields to its event loop
 * (setImmediate): timers (flush, stats) and the stop message run between reads, and a record
 * is handed on as soon as it arrives.
 *
 * Losses are the kernel's word: when the ring is full the receive thread stops reading, the
 * socket overflows, an ENOBUFS on receive says the kernel dropped messages for it, and
 * /proc/net/netlink says how many (its Drops column, matched by the socket's inode).
 *
 * The group has no history: a restart misses what was made while the daemon was down. The
 * position is the serial of the last record handed on; a restart on the same boot compares it
 * with the first serial it reads and reports the gap (records read are never read twice).
 *
 * Shutdown order: stop the loop, read once more without waiting, close the socket (before the
 * thread ends, so nothing is left holding it).
 */
export class AuditSource {
  readonly name = 'audit';
  records = 0;
  /** messages of other audit types (SYSCALL, USER_*, ...), ignored */
  otherMessages = 0;
  /** datagrams from senders other than the kernel (dropped unread) */
  foreign = 0;
  lastError: string | null = null;
  rcvbuf = 0;
  rcvbufForced = false;
  /** the addon's ring, bytes */
  ring = 0;
  readonly canary: CanaryState = { state: 'pending', latencyMs: null, detail: null };
  /**
   * After a restart on the same boot: the serials between the committed one and the first one
   * read now. The group has no history, so those records are gone; the serials count every
   * audit record (seccomp ones and any other kind), so their number is an upper bound.
   */
  gap: { afterSerial: number; firstSerial: number; missedAtMost: number } | null = null;
  readonly #sink: AuditBodySink;
  readonly #addon: AuditNetlinkAddon;
  readonly #options: AuditSourceOptions;
  readonly #buf = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  readonly #stats = new Float64Array(4);
  readonly #canaryNr: number | null;
  readonly #canaryNeedle = canaryNeedle();
  #handle: AuditHandle | null = null;
  #inode = -1;
  #running = false;
  #overrunsSeen = 0;
  #dropsAtOpen = 0;
  #lost = 0;
  #serial = -1;
  #canaryAt = 0;
  /** a canary ran and its record has not been seen yet */
  #awaiting = false;
  #canaryTimer: NodeJS.Timeout | null = null;
  #canaryNext: NodeJS.Timeout | null = null;
  #loopTimer: NodeJS.Immediate | null = null;

  constructor(options: AuditSourceOptions) {
    this.#options = options;
    this.#sink = options.sink;
    this.#addon = options.addon ?? auditNetlink();
    this.#canaryNr = canarySyscallNr();
  }

  /** The serial of the last record handed on, -1 before the first. */
  get position(): number {
    return this.#serial;
  }

  /**
   * Records the kernel dropped for this socket since it was opened. The kernel signals ENOBUFS
   * once per congestion, not per drop, and keeps dropping until the queue is read empty: once an
   * overrun was seen, each look reads the kernel's count again (twice a second from the flush).
   */
  get lostRecords(): number {
    if (this.#overrunsSeen > 0) this.#countDrops();
    return this.#lost;
  }

  /**
   * Joins the group; throws an error that names the cause and the fix when it cannot. Reading
   * starts at once; the canary runs right after.
   */
  start(): void {
    let opened: ReturnType<AuditNetlinkAddon['open']>;
    try {
      opened = this.#addon.open(this.#options.rcvbufBytes ?? DEFAULT_RCVBUF_BYTES, this.#options.ringBytes ?? DEFAULT_RING_BYTES);
    } catch (err) {
      throw new Error(openFailure(err as NodeJS.ErrnoException));
    }
    this.#handle = opened.handle;
    this.#inode = opened.inode;
    this.rcvbuf = opened.rcvbuf;
    this.rcvbufForced = opened.forced;
    this.ring = opened.ring;
    this.#dropsAtOpen = this.#readDrops() ?? 0;
    this.#running = true;
    this.#loop();
    this.#runCanary();
  }

  stop(): void {
    this.#running = false;
    if (this.#loopTimer !== null) clearImmediate(this.#loopTimer);
    this.#loopTimer = null;
    for (const t of [this.#canaryTimer, this.#canaryNext]) if (t !== null) clearTimeout(t);
    this.#canaryTimer = this.#canaryNext = null;
    if (this.#handle !== null) {
      this.drain(0);
      this.#addon.close(this.#handle);
      this.#handle = null;
    }
  }

  /** The kernel's own audit counters; throws (EPERM without CAP_AUDIT_CONTROL). */
  kernelStatus(): KernelAuditStatus {
    return this.#addon.status();
  }

  /** Reads what the socket holds (waiting up to `waitMs` for a first message) and hands it on. */
  drain(waitMs: number): number {
    const handle = this.#handle;
    if (handle === null) return 0;
    let handed = 0;
    try {
      // a full buffer means more may wait: read again at once, without waiting
      for (let wait = waitMs; ; wait = 0) {
        const n = this.#addon.read(handle, this.#buf, this.#stats, wait);
        handed += this.#handOn(n);
        if (n < READ_BUFFER_BYTES / 2) break;
      }
    } catch (err) {
      this.lastError = (err as Error).message;
    }
    if (this.#stats[ReadStat.Overruns]! !== this.#overrunsSeen) this.#countDrops();
    this.foreign = this.#stats[ReadStat.Foreign]!;
    if (handed > 0) {
      this.records += handed;
      this.#sink.onBatchEnd?.();
    }
    return handed;
  }

  readonly #loop = (): void => {
    this.#loopTimer = null;
    if (!this.#running) return;
    this.drain(WAIT_MS);
    this.#loopTimer = setImmediate(this.#loop);
  };

  #handOn(n: number): number {
    const b = this.#buf;
    let off = 0, handed = 0;
    while (off + NLMSG_HDRLEN <= n) {
      const len = b.readUInt32LE(off);
      const type = b.readUInt16LE(off + 4);
      const next = off + ((len + 3) & ~3);
      if (type === AUDIT_MESSAGE_SECCOMP) {
        let end = off + len;
        // the kernel may count a trailing NUL (or newline) in the length
        while (end > off + NLMSG_HDRLEN && (b[end - 1] === 0 || b[end - 1] === 0x0a)) end--;
        const start = off + NLMSG_HDRLEN;
        const first = this.#serial < 0;
        this.#serial = readSerial(b, start, end, this.#serial);
        if (first) this.#checkGap();
        if (this.#awaiting && isCanary(b, start, end, this.#canaryNeedle)) this.#canarySeen();
        else {
          this.#sink.onAuditBody(b, start, end);
          handed++;
        }
      } else {
        this.otherMessages++;
      }
      off = next;
    }
    return handed;
  }

  #checkGap(): void {
    const after = this.#options.resumeAfterSerial;
    if (after === undefined || this.#serial <= after + 1) return;
    this.gap = { afterSerial: after, firstSerial: this.#serial, missedAtMost: this.#serial - after - 1 };
  }

  #countDrops(): void {
    const overruns = this.#stats[ReadStat.Overruns]!;
    const drops = this.#readDrops();
    // without the table, each overrun is at least one record
    this.#lost = drops === null ? this.#lost + (overruns - this.#overrunsSeen) : Math.max(this.#lost, drops - this.#dropsAtOpen);
    this.#overrunsSeen = overruns;
  }

  /** This socket's Drops in /proc/net/netlink (columns: sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode). */
  #readDrops(): number | null {
    let table: string;
    try {
      table = readFileSync(this.#options.netlinkTable ?? '/proc/net/netlink', 'latin1');
    } catch {
      return null;
    }
    const inode = String(this.#inode);
    for (const line of table.split('\n')) {
      const cols = line.trim().split(/\s+/);
      if (cols.length >= 10 && cols[9] === inode && cols[1] === '9') return Number(cols[8]);
    }
    return null;
  }

  #runCanary(): void {
    this.#canaryNext = null;
    if (!this.#running) return;
    if (this.#canaryNr === null) {
      this.#setCanary('unavailable', `no canary on ${process.arch}: the channel is not proven`);
      return;
    }
    this.#canaryAt = performance.now();
    const failed = this.#addon.canary(this.#canaryNr);
    if (failed !== null) {
      // e.g. a systemd unit whose SystemCallFilter refuses seccomp(): the channel stays
      // unproven, which is not an error by itself
      this.#setCanary('unavailable', `the canary could not run (${failed}): the channel is not proven`);
      return;
    }
    // a canary run again keeps the state it had until it is answered: readiness does not blink
    this.#awaiting = true;
    const timeout = this.#options.canaryTimeoutMs ?? 1000;
    this.#canaryTimer = setTimeout(() => {
      this.#canaryTimer = null;
      if (!this.#awaiting) return;
      // read once more: the record may wait in the socket behind a busy thread
      this.drain(0);
      if (!this.#awaiting) return;
      this.#setCanary('missing', NOT_IN_HOST_NETWORK.replace('%MS%', String(timeout)));
      this.lastError = this.canary.detail;
      this.#scheduleCanary(60_000);
    }, timeout);
    this.#canaryTimer.unref();
  }

  #canarySeen(): void {
    this.#awaiting = false;
    this.canary.latencyMs = Math.round((performance.now() - this.#canaryAt) * 10) / 10;
    this.#setCanary('seen', null);
    if (this.#canaryTimer !== null) clearTimeout(this.#canaryTimer);
    this.#canaryTimer = null;
    if (this.lastError !== null && this.lastError.startsWith('no record arrived')) this.lastError = null;
    this.#scheduleCanary(this.#options.canaryEveryMs ?? 600_000);
  }

  #scheduleCanary(ms: number): void {
    if (!this.#running || this.#canaryNext !== null) return;
    this.#canaryNext = setTimeout(() => this.#runCanary(), ms);
    this.#canaryNext.unref();
  }

  #setCanary(state: CanaryState['state'], detail: string | null): void {
    const changed = this.canary.state !== state;
    this.canary.state = state;
    this.canary.detail = detail;
    if (changed) this.#options.onCanary?.(this.canary);
  }
}

/** The serial in `audit(SECS.MS:SERIAL):`, or `previous` when the stamp is not there. */
function readSerial(b: Buffer, start: number, end: number, previous: number): number {
  const colon = b.indexOf(0x3a, start);
  if (colon < 0 || colon > start + 32 || colon >= end) return previous;
  let serial = 0, q = colon + 1, d = 0;
  while ((d = b[q]! - 0x30) >= 0 && d <= 9) { serial = serial * 10 + d; q++; }
  return q > colon + 1 ? serial : previous;
}

function isCanary(b: Buffer, start: number, end: number, needle: Buffer): boolean {
  const at = b.indexOf(needle, start);
  return at >= 0 && at < end;
}

/** Why joining failed, and what fixes it. */
function openFailure(err: NodeJS.ErrnoException): string {
  const base = err.message;
  switch (err.code) {
    case 'EPERM':
    case 'EACCES':
      return `${base}: the daemon needs the capability CAP_AUDIT_READ to read the kernel's audit records ` +
        '(Kubernetes: securityContext.capabilities.add: [AUDIT_READ]; systemd: AmbientCapabilities=CAP_AUDIT_READ), ' +
        'and must run in the host\'s initial pid and user namespace';
    case 'EPROTONOSUPPORT':
    case 'EAFNOSUPPORT':
      return `${base}: this kernel has no audit support (CONFIG_AUDIT); use --source kmsg`;
    default:
      return base;
  }
}
