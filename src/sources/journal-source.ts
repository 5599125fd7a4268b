import { spawn, type ChildProcess } from 'node:child_process';
import type { LineSink } from './kmsg-source.js';

export type JournalSourceEventType = 'started' | 'exited' | 'restarting' | 'error';
export interface JournalSourceEvent {
  type: JournalSourceEventType;
  detail: string;
}

export interface JournalSourceOptions {
  /** gets `buf[start, end)` per `journalctl -o json` line; `buf` is reused, so copy what must outlive the call */
  sink: LineSink;
  /** the journal cursor from the store: resume right after that entry; else (or if malformed) only new entries */
  startCursor?: string;
  /** the journalctl binary, a name on PATH or a path; default `journalctl` */
  journalctl?: string;
  /**
   * `--directory`: a journal directory instead of this machine's journal, e.g. the host's `/var/log/journal`
   * mounted into a DaemonSet pod (its machine-id subdirectories are read too), or a test's directory.
   */
  directory?: string;
  onEvent?: (e: JournalSourceEvent) => void;
  /** The first restart after journalctl ended comes after this long; each further one waits twice as long. */
  retryMs?: number;
  /** The longest wait between restarts. */
  maxRetryMs?: number;
}

/**
 * The journal fields the parser reads (see parse/journal-entry.ts and the `"_AUDIT_TYPE":"1326"` marker);
 * SYSLOG_FACILITY tells the kernel's own messages from what user space wrote into /dev/kmsg.
 * `-o json` always adds `__CURSOR`, `__REALTIME_TIMESTAMP`, `__MONOTONIC_TIMESTAMP` and `_BOOT_ID`. Without
 * this list an audit-transport entry also carries every `_AUDIT_FIELD_*`, `_PID`, `_COMM`, ... (about 3x the bytes).
 */
const OUTPUT_FIELDS = 'MESSAGE,_TRANSPORT,SYSLOG_FACILITY,_AUDIT_TYPE,_AUDIT_ID,_SOURCE_REALTIME_TIMESTAMP';
/** Two matches on one field are ORed by journalctl (different fields would be ANDed; `+` is not needed). */
const MATCHES = ['_TRANSPORT=kernel', '_TRANSPORT=audit'] as const;

/**
 * The arguments of the following journalctl: from the entry of `cursor` on (JournalSource drops that entry
 * itself, see the class comment), or (null) every matching entry the journal holds.
 *
 * - `--merge`: without it `--follow` implies `--boot` (journalctl 252: "if (arg_follow && !arg_merge &&
 *   !arg_boot) arg_boot = true"), i.e. only the journal's newest boot. A resume across a reboot then skips the
 *   rest of the old boot and, since `--after-cursor` skips one entry blindly after seeking, the new boot's
 *   first entry too; on a journal without entries it fails ("Data from the specified boot (+0) is not
 *   available"). Measured with systemd 252. The price: without `--directory`, `--merge` also reads journals of
 *   other machines stored on this one (`/var/log/journal/remote`, `--link-journal` containers).
 * - `--no-tail`: `--follow` alone shows only the last 10 entries before following, even after
 *   `--after-cursor` or `--cursor` (25 entries after the cursor gave 10 lines, measured): the rest would be lost.
 */
export function followArgs(directory: string | undefined, cursor: string | null): string[] {
  return [
    '--follow', '--merge', '--output=json', `--output-fields=${OUTPUT_FIELDS}`, '--no-pager',
    ...(directory === undefined ? [] : [`--directory=${directory}`]),
    ...(cursor === null ? [] : [`--cursor=${cursor}`]),
    '--no-tail',
    ...MATCHES,
  ];
}

/** The arguments that print the newest matching entry (or nothing), to start following after it. */
export function probeArgs(directory: string | undefined): string[] {
  return [
    '--merge', '--output=json', '--output-fields=_TRANSPORT', '--no-pager',
    ...(directory === undefined ? [] : [`--directory=${directory}`]),
    '--lines=1',
    ...MATCHES,
  ];
}

/**
 * sd_journal_get_cursor() formats "s=%s;i=%"PRIx64";b=%s;m=%"PRIx64";t=%"PRIx64";x=%"PRIx64" (two 128-bit
 * ids as 32 hex digits, four hex numbers): only `[0-9a-f;=sibmtx]`, never a quote, backslash or space. So the
 * cursor in a JSON line needs no unescaping and ends at the next quote. This checks the general
 * `k=hex;k=hex...` shape, so a later key would still pass.
 */
const CURSOR_SHAPE = /^[a-z]=[0-9a-f]+(?:;[a-z]=[0-9a-f]+)*$/;
const CURSOR_KEY = Buffer.from('"__CURSOR"');
const NEWLINE = 0x0a;
const QUOTE = 0x22;
const SPACE = 0x20;
const COLON = 0x3a;
/** No journalctl line comes near this (fields over 4096 bytes print as null); longer ones are skipped. */
const MAX_LINE_BYTES = 1024 * 1024;
/** How long the start-at-the-end probe may take. */
const PROBE_TIMEOUT_MS = 10_000;
/** A journalctl that ran this long counts as healthy again: the next failure restarts after retryMs. */
const HEALTHY_AFTER_MS = 10_000;
/** stop(): SIGTERM, then SIGKILL after this long. */
const KILL_AFTER_MS = 500;
const STDERR_KEEP = 2048;

/** The journalctl of the moment: the probe or the follower. */
interface Run {
  child: ChildProcess;
  probe: boolean;
  args: string[];
  stderr: string;
  /** the probe's output */
  out: string;
  spawnError: NodeJS.ErrnoException | null;
  exited: Promise<void>;
  timer: NodeJS.Timeout | null;
  timedOut: boolean;
  /** the cursor the follower started at: its first line is dropped when it is that entry */
  startedAt: string | null;
}

/**
 * Follows the journal's kernel and audit transports through `journalctl --follow --output=json` as a child
 * process and hands each JSON line to the sink as bytes; the parser finds the seccomp records in them.
 *
 * Where it starts: with `startCursor` right after that entry, so a restart of the daemon resumes exactly after
 * the last committed entry. Not with `--after-cursor`: that seeks to the cursor and then skips one entry
 * without checking it is the cursor's (journalctl 252: `sd_journal_next_skip(j, 1 + !!arg_after_cursor)`), so
 * when the cursor's entry is gone (its file vacuumed while the daemon was down) the first entry after it is
 * lost too (measured). With `--cursor` journalctl starts AT the cursor's entry, or at the next one when it is
 * gone; the source drops the first line only when it is the cursor's own entry (cursorsMatch). Without one, at the end: not with `-n 0` but by asking journalctl
 * for the newest matching entry first (probeArgs) and following after its cursor (or from the beginning
 * when there is none, which is also the end). That gives the source a cursor from the first moment, so a
 * journalctl that dies before the first record restarts without losing what came in between.
 *
 * `position` is the `__CURSOR` of the last complete line delivered (before any, the cursor it started after,
 * or '' on an empty journal); read right after `onBatchEnd()` it is exactly what the batch covered. Only
 * the batch's last line is searched for it (see CURSOR_SHAPE for why no JSON parsing is needed).
 *
 * When journalctl ends (missing binary, unreadable journal, killed, the journal directory gone) the source
 * reports why and what to do, and starts it again after retryMs, doubling up to maxRetryMs, from
 * `position`. Timers are unref()ed and the child and its pipes are too: like the other sources, a
 * JournalSource never keeps the process alive by itself.
 *
 * No child is left behind: on process 'exit' every live journalctl gets SIGKILL; when the process dies
 * without running 'exit' handlers (a signal, SIGKILL), journalctl notices its stdout pipe closing (POLLHUP)
 * and exits on its own (systemd 252, measured).
 *
 * Duplicates: without auditd, the kernel both multicasts a record to journald's audit socket (audit
 * transport) and printk's it (kernel transport, rate-limited), so with journald's audit socket on one record
 * can arrive twice, with the same `audit(TIME:SERIAL)` / `_AUDIT_ID`. This source delivers what the journal
 * holds; telling the two apart is for a later stage.
 *
 * Shutdown order: stop the timers, stop delivering (lines still in the pipe are left to the next start,
 * which reads them again after `position`), SIGTERM the child, SIGKILL it after 500 ms, resolve once it
 * exited.
 */
export class JournalSource {
  readonly name = 'journal';
  /** lines delivered */
  lines = 0;
  /** journalctl started again after it ended */
  restarts = 0;
  lastError: string | null = null;

  readonly #sink: LineSink;
  readonly #journalctl: string;
  readonly #directory: string | undefined;
  readonly #onEvent: ((e: JournalSourceEvent) => void) | undefined;
  readonly #retryMs: number;
  readonly #maxRetryMs: number;
  /** where the next journalctl starts: after a cursor; null: every matching entry; undefined: probe first */
  #resume: string | null | undefined;
  #badStart: string | null = null;
  #running = false;
  #run: Run | null = null;
  #retry: NodeJS.Timeout | null = null;
  #healthy: NodeJS.Timeout | null = null;
  #failures = 0;
  #lastErrorEvent = '';
  #stopping: Promise<void> | null = null;
  /** a partial line from the previous chunk */
  #carry: Buffer | null = null;
  #skipping = false;

  constructor(options: JournalSourceOptions) {
    const journalctl = options.journalctl ?? 'journalctl';
    if (typeof journalctl !== 'string' || journalctl === '' || journalctl.includes('\0')) {
      throw new RangeError(`journal source: journalctl must be a non-empty string, got ${JSON.stringify(options.journalctl)}`);
    }
    const dir = options.directory;
    if (dir !== undefined && (typeof dir !== 'string' || dir === '' || dir.includes('\0'))) {
      throw new RangeError(`journal source: directory must be a non-empty string, got ${JSON.stringify(dir)}`);
    }
    this.#retryMs = positive('retryMs', options.retryMs ?? 1000);
    this.#maxRetryMs = Math.max(this.#retryMs, positive('maxRetryMs', options.maxRetryMs ?? 30_000));
    const cursor = options.startCursor;
    if (cursor === undefined || cursor === '') {
      this.#resume = undefined;
    } else if (CURSOR_SHAPE.test(cursor) && cursor.length <= 1024) {
      this.#resume = cursor;
    } else {
      // it comes from the database, not from config: say so and read only new entries, which counts nothing twice
      this.#resume = undefined;
      this.#badStart = `journal: the saved position ${JSON.stringify(cursor.slice(0, 200))} is not a journal cursor; reading only new entries`;
    }
    this.#sink = options.sink;
    this.#journalctl = journalctl;
    this.#directory = dir;
    this.#onEvent = options.onEvent;
  }

  /** The cursor of the last entry delivered (see the class comment); read it right after `onBatchEnd()`. */
  get position(): string {
    return this.#resume ?? '';
  }

  /** The running journalctl's pid, or null. */
  get pid(): number | null {
    return this.#run?.child.pid ?? null;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#stopping = null;
    this.#failures = 0;
    this.#lastErrorEvent = '';
    if (this.#badStart !== null) this.#fail(this.#badStart);
    this.#badStart = null;
    this.#spawn();
  }

  stop(): Promise<void> {
    if (!this.#running) return this.#stopping ?? Promise.resolve();
    this.#running = false;
    if (this.#retry !== null) clearTimeout(this.#retry);
    if (this.#healthy !== null) clearTimeout(this.#healthy);
    this.#retry = this.#healthy = null;
    this.#carry = null;
    this.#skipping = false;
    const run = this.#run;
    this.#run = null;
    this.#stopping = run === null ? Promise.resolve() : this.#terminate(run);
    return this.#stopping;
  }

  #spawn(): void {
    this.#retry = null;
    if (!this.#running) return;
    const probe = this.#resume === undefined;
    const args = probe ? probeArgs(this.#directory) : followArgs(this.#directory, this.#resume ?? null);
    let child: ChildProcess;
    try {
      child = spawn(this.#journalctl, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      // synchronous failures (EMFILE, ENOMEM, EINVAL): report and retry like any other end of journalctl
      this.#fail(`${this.#journalctl}: cannot be started: ${(err as Error).message}`);
      this.#scheduleRestart();
      return;
    }
    let exited!: () => void;
    const run: Run = {
      child, probe, args, stderr: '', out: '', spawnError: null, timer: null, timedOut: false,
      startedAt: probe ? null : this.#resume ?? null,
      exited: new Promise<void>((resolve) => { exited = resolve; }),
    };
    this.#run = run;
    track(child);
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (child.pid === undefined) run.spawnError = err; // otherwise a failed kill(): 'exit' still comes
    });
    child.once('exit', () => {
      untrack(child);
      exited();
    });
    child.on('close', (code: number | null, signal: NodeJS.Signals | null) => this.#onClose(run, code, signal));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      run.stderr = (run.stderr + s).slice(-STDERR_KEEP);
    });
    if (probe) {
      child.stdout!.setEncoding('utf8').on('data', (s: string) => {
        if (run.out.length < 64 * 1024) run.out += s;
      });
      run.timer = setTimeout(() => {
        run.timedOut = true;
        child.kill('SIGKILL');
      }, PROBE_TIMEOUT_MS);
      run.timer.unref();
    } else {
      this.#carry = null;
      this.#skipping = false;
      child.stdout!.on('data', (chunk: Buffer) => this.#onData(run, chunk));
    }
    // never keep the process alive by ourselves (see the class comment for how the child still ends)
    child.unref();
    for (const s of [child.stdout, child.stderr]) (s as unknown as { unref?: () => void } | null)?.unref?.();
    if (child.pid === undefined) return; // 'error' and 'close' follow
    if (!probe) {
      this.#report({ type: 'started', detail: `${this.#journalctl} ${args.join(' ')} (pid ${child.pid})` });
      this.#healthy = setTimeout(this.#onHealthy, HEALTHY_AFTER_MS);
      this.#healthy.unref();
    }
  }

  /** Delivers the complete lines of `chunk` (after the partial line before it), then ends the batch. */
  #onData(run: Run, chunk: Buffer): void {
    if (run !== this.#run || !this.#running) return;
    if (this.#healthy !== null) this.#onHealthy(); // the first output of this journalctl
    const sink = this.#sink;
    let pos = 0;
    let count = 0;
    let lastBuf: Buffer | null = null, lastStart = 0, lastEnd = 0;
    if (this.#carry !== null || this.#skipping) {
      const nl = chunk.indexOf(NEWLINE);
      if (nl < 0) {
        this.#hold(chunk, 0);
        return;
      }
      pos = nl + 1;
      if (this.#skipping) {
        this.#skipping = false;
      } else {
        const line = Buffer.concat([this.#carry!, chunk.subarray(0, nl)]);
        this.#carry = null;
        if (line.length > 0 && this.#deliver(run, line, 0, line.length)) {
          count++;
          lastBuf = line;
          lastEnd = line.length;
        }
      }
    }
    let nl = chunk.indexOf(NEWLINE, pos);
    // a sink that stops the source mid-chunk: deliver no further
    while (nl >= 0 && run === this.#run) {
      if (nl > pos && this.#deliver(run, chunk, pos, nl)) {
        count++;
        lastBuf = chunk;
        lastStart = pos;
        lastEnd = nl;
      }
      pos = nl + 1;
      nl = chunk.indexOf(NEWLINE, pos);
    }
    if (run === this.#run && pos < chunk.length) this.#hold(chunk, pos);
    if (count === 0) return;
    this.lines += count;
    const cursor = cursorIn(lastBuf!, lastStart, lastEnd) ?? this.#cursorBefore(chunk, lastBuf === chunk ? lastStart : 0);
    if (cursor !== null) this.#resume = cursor;
    else this.#fail('journal: journalctl printed lines without "__CURSOR"; the position did not advance');
    sink.onBatchEnd?.();
  }

  /** Hands one line to the sink; false for the first line when it is the entry the follower started at. */
  #deliver(run: Run, buf: Buffer, start: number, end: number): boolean {
    if (run.startedAt !== null) {
      const at = run.startedAt;
      run.startedAt = null;
      const cursor = cursorIn(buf, start, end);
      if (cursor !== null && cursorsMatch(cursor, at)) return false;
    }
    try {
      this.#sink.onLine(buf, start, end);
    } catch (err) {
      this.#fail(`journal: the sink failed on a line: ${(err as Error).message}`);
    }
    return true;
  }

  /** The cursor of the last complete line in `chunk` before offset `before` that has one (rare path). */
  #cursorBefore(chunk: Buffer, before: number): string | null {
    let end = before - 1; // the newline ending the line before
    while (end > 0) {
      const start = chunk.lastIndexOf(NEWLINE, end - 1) + 1;
      const cursor = cursorIn(chunk, start, end);
      if (cursor !== null) return cursor;
      end = start - 1;
    }
    return null;
  }

  /** Keeps `chunk[from..]`, a line without its newline yet; skips a line that grows beyond MAX_LINE_BYTES. */
  #hold(chunk: Buffer, from: number): void {
    if (this.#skipping) return;
    const part = chunk.subarray(from);
    const held = this.#carry === null ? Buffer.from(part) : Buffer.concat([this.#carry, part]);
    if (held.length <= MAX_LINE_BYTES) {
      this.#carry = held;
      return;
    }
    this.#carry = null;
    this.#skipping = true;
    this.#fail(`journal: a journalctl line is longer than ${MAX_LINE_BYTES} bytes; skipped`);
  }

  #onClose(run: Run, code: number | null, signal: NodeJS.Signals | null): void {
    if (run.timer !== null) clearTimeout(run.timer);
    if (run !== this.#run) return; // stopped: stop() reports nothing more
    this.#run = null;
    this.#carry = null;
    this.#skipping = false;
    if (this.#healthy !== null) clearTimeout(this.#healthy);
    this.#healthy = null;
    if (!this.#running) return;
    if (run.probe && run.spawnError === null && code === 0) {
      const nl = run.out.indexOf('\n');
      const first = Buffer.from(nl < 0 ? run.out : run.out.slice(0, nl));
      this.#resume = cursorIn(first, 0, first.length); // null: no matching entry yet, so all of them are new
      this.#spawn();
      return;
    }
    const what = run.probe ? `${this.#journalctl} (asking for the newest entry)` : this.#journalctl;
    if (run.spawnError !== null) {
      this.#fail(describeSpawnError(this.#journalctl, run.spawnError));
    } else {
      const how = run.timedOut ? `did not answer within ${PROBE_TIMEOUT_MS / 1000} s`
        : signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
      const said = lastLines(run.stderr);
      this.#report({ type: 'exited', detail: `${what} (pid ${run.child.pid}) ${how}${said === '' ? '' : `: ${said}`}` });
      if (/Failed to seek to cursor/i.test(run.stderr) && typeof this.#resume === 'string') {
        this.#fail(`journal: journalctl rejected the cursor ${this.#resume} (${said}); reading only new entries`);
        this.#resume = undefined;
      } else {
        this.#fail(`journal: ${what} ${how}${said === '' ? '' : ` (${said})`}; ${this.#hint(run.stderr)}`);
      }
    }
    this.#scheduleRestart();
  }

  #hint(stderr: string): string {
    const where = this.#directory === undefined ? "this machine's journal" : `--directory ${this.#directory}`;
    if (/insufficient permissions|permission denied/i.test(stderr)) {
      return `run as root or in the systemd-journal group, and make sure ${where} is readable`;
    }
    if (this.#directory !== undefined && /No such file or directory/i.test(stderr)) {
      return `${this.#directory} does not exist: mount the host's journal (/var/log/journal, or /run/log/journal when it is volatile) there`;
    }
    return `reading ${where} again from the last position`;
  }

  #scheduleRestart(): void {
    if (!this.#running) return;
    const delay = Math.min(this.#maxRetryMs, this.#retryMs * 2 ** Math.min(this.#failures, 30));
    this.#failures++;
    this.restarts++;
    const from = this.#resume === undefined ? 'the end of the journal' : this.#resume === null ? 'the start of the journal' : `after cursor ${this.#resume}`;
    this.#report({ type: 'restarting', detail: `starting ${this.#journalctl} again in ${delay} ms, reading from ${from}` });
    this.#retry = setTimeout(() => this.#spawn(), delay);
    this.#retry.unref();
  }

  /** journalctl delivers, or ran long enough: the next failure is a new problem. */
  readonly #onHealthy = (): void => {
    if (this.#healthy !== null) clearTimeout(this.#healthy);
    this.#healthy = null;
    this.#failures = 0;
    this.#lastErrorEvent = '';
    this.lastError = null;
  };

  async #terminate(run: Run): Promise<void> {
    if (run.timer !== null) clearTimeout(run.timer);
    const { child } = run;
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      if (!(await settles(run.exited, KILL_AFTER_MS))) {
        child.kill('SIGKILL');
        await settles(run.exited, 2000);
      }
    }
    child.stdout?.destroy();
    child.stderr?.destroy();
    this.#report({ type: 'exited', detail: `${this.#journalctl} (pid ${child.pid ?? 'none'}) stopped` });
  }

  #fail(message: string): void {
    this.lastError = message;
    if (message === this.#lastErrorEvent) return; // a restart loop reports a lasting problem once
    this.#lastErrorEvent = message;
    this.#report({ type: 'error', detail: message });
  }

  #report(e: JournalSourceEvent): void {
    try {
      this.#onEvent?.(e);
    } catch { /* an event handler's failure is not the source's */ }
  }
}

/**
 * The value of `"__CURSOR":"..."` in the JSON line `buf[start, end)`, or null. Allows the spaces older
 * journalctl versions put around the colon. The key cannot match inside a string value: there every quote
 * is escaped, so `"__CURSOR"` never appears with both its quotes bare.
 */
export function cursorIn(buf: Buffer, start: number, end: number): string | null {
  const at = buf.indexOf(CURSOR_KEY, start);
  if (at < 0 || at >= end) return null;
  let p = at + CURSOR_KEY.length;
  while (p < end && buf[p] === SPACE) p++;
  if (buf[p] !== COLON) return null;
  p++;
  while (p < end && buf[p] === SPACE) p++;
  if (buf[p] !== QUOTE) return null;
  const close = buf.indexOf(QUOTE, p + 1);
  if (close < 0 || close >= end || close === p + 1) return null;
  return buf.toString('latin1', p + 1, close);
}

/**
 * Whether two cursors name the same entry. The same string, or the same boot, monotonic and realtime stamps
 * and content hash (`b`, `m`, `t`, `x`): `s` and `i` name the file's sequence, which differs when the entry
 * is read from a copy (journald's flush from /run to /var, a merged remote journal).
 */
export function cursorsMatch(a: string, b: string): boolean {
  if (a === b) return true;
  const x = cursorFields(a), y = cursorFields(b);
  return ['b', 'm', 't', 'x'].every((k) => x.has(k) && x.get(k) === y.get(k));
}

function cursorFields(cursor: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const part of cursor.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return fields;
}

function describeSpawnError(journalctl: string, err: NodeJS.ErrnoException): string {
  const fix = 'install systemd (Debian/Ubuntu: apt-get install systemd) or choose another --source';
  if (err.code === 'ENOENT') {
    return journalctl.includes('/')
      ? `journalctl not found: ${journalctl} does not exist; ${fix}`
      : `journalctl not found: no ${journalctl} on PATH (${process.env['PATH'] ?? ''}); ${fix}`;
  }
  if (err.code === 'EACCES') return `journalctl cannot be run: ${journalctl} is not executable (EACCES); fix its permissions or choose another --source`;
  return `journalctl cannot be started: ${journalctl}: ${err.code ?? err.message}`;
}

/** The last lines journalctl wrote to stderr, on one line. */
function lastLines(stderr: string): string {
  return stderr.trim().split('\n').slice(-3).map((l) => l.trim()).filter((l) => l !== '').join(' / ');
}

/** Whether `p` settles within `ms`. */
async function settles(p: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const done = await Promise.race([p.then(() => true), late]);
  clearTimeout(timer);
  return done;
}

// Every journalctl still running gets SIGKILL when the process exits: 'exit' handlers must be synchronous.
const live = new Set<ChildProcess>();
let exitHook = false;

function track(child: ChildProcess): void {
  if (child.pid === undefined) return;
  live.add(child);
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    for (const c of live) {
      try {
        c.kill('SIGKILL');
      } catch { /* gone */ }
    }
  });
}

function untrack(child: ChildProcess): void {
  live.delete(child);
}

function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`journal source: ${name} must be a positive integer, got ${value}`);
  return value;
}
