/**
 * Helpers for tests that run against the machine's real kernel: real /dev/kmsg records and real seccomp
 * audit records from processes run under a logging filter (see seccomp-log.c). Without auditd the kernel
 * prints them through printk, 10 per 5 s unless kernel.printk_ratelimit is 0, into a ring of ~128 KB.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { KmsgReader } from '../../src/sources/kmsg-reader.js';

const execFileP = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const SECCOMP_LOG_SOURCE = path.join(HERE, 'seccomp-log.c');
const PRINTK_RATELIMIT = '/proc/sys/kernel/printk_ratelimit';

/** The subset of tap's `t` we need, so helpers do not depend on tap's class hierarchy. */
export interface TestLike {
  fail(message: string): unknown;
  plan(n: number, comment?: string): unknown;
}

export interface KernelNeeds {
  /** false for tests that only need /dev/kmsg (no C compiler, no seccomp); default true */
  seccomp?: boolean;
}

const reasonCache = new Map<boolean, string | null>();

/** Why this machine cannot run the real-kernel tests, or null when it can. */
export function realKernelUnavailable(needs: KernelNeeds = {}): string | null {
  const seccomp = needs.seccomp ?? true;
  if (!reasonCache.has(seccomp)) reasonCache.set(seccomp, findMissing(seccomp));
  return reasonCache.get(seccomp)!;
}

function findMissing(seccomp: boolean): string | null {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (process.getuid?.() !== 0) return `not root (uid ${process.getuid?.()})`;
  try {
    fs.closeSync(fs.openSync('/dev/kmsg', fs.constants.O_RDONLY | fs.constants.O_NONBLOCK));
  } catch (err) {
    return `/dev/kmsg not readable (${(err as NodeJS.ErrnoException).code})`;
  }
  if (!seccomp) return null;
  if (!onPath('cc')) return 'no C compiler: `cc` is not on PATH';
  const avail = readTrimmed('/proc/sys/kernel/seccomp/actions_avail');
  if (avail === null) return 'seccomp unavailable: no /proc/sys/kernel/seccomp/actions_avail';
  if (!avail.split(/\s+/).includes('log')) return `seccomp has no log action (actions_avail: ${avail})`;
  const logged = readTrimmed('/proc/sys/kernel/seccomp/actions_logged') ?? '';
  if (!logged.split(/\s+/).includes('log')) {
    return `seccomp does not log the log action: add it to /proc/sys/kernel/seccomp/actions_logged (now: ${logged})`;
  }
  try {
    fs.accessSync(PRINTK_RATELIMIT, fs.constants.W_OK);
  } catch {
    return `${PRINTK_RATELIMIT} is not writable (read-only /proc?)`;
  }
  const auditd = findProcess('auditd');
  if (auditd !== null) return `auditd is running (pid ${auditd}): seccomp records go to it, not to /dev/kmsg`;
  return null;
}

/**
 * Guards a real-kernel test: returns true when it can run. Otherwise it fails the test when
 * SECCOMP_AUDITOR_REQUIRE_KERNEL=1 says this machine must run them (CI), or ends it with
 * `t.plan(0, reason)`, which tap reports as a skip showing the reason. A plan of 0 can be declared from
 * inside the running test, after probing the machine, which a skip option cannot.
 */
export function requireRealKernel(t: TestLike, needs: KernelNeeds = {}): boolean {
  const reason = realKernelUnavailable(needs);
  if (reason === null) return true;
  if (process.env['SECCOMP_AUDITOR_REQUIRE_KERNEL'] === '1') {
    t.fail(`real-kernel test cannot run, but SECCOMP_AUDITOR_REQUIRE_KERNEL=1: ${reason}`);
  } else {
    t.plan(0, `needs a real kernel: ${reason}`);
  }
  return false;
}

// ---- temp dirs and child processes, cleaned up however the test ends ----

const tempDirs = new Set<string>();
const children = new Set<ChildProcess>();
let exitHookInstalled = false;

function cleanupAtExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' also runs after failed assertions and uncaught errors; handlers must be synchronous
  process.once('exit', () => {
    for (const child of children) killTree(child);
    for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  });
}

/** A temp dir removed when the process exits. */
export function makeTempDir(prefix: string): string {
  cleanupAtExit();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

function killTree(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    // children run in their own process group, so this also reaches what they forked, even after the
    // leader exited (the group id is not reused while members live)
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

let binary: Promise<string> | undefined;

/** Compiles seccomp-log.c once per process; returns the binary's path. */
export function buildSeccompLog(): Promise<string> {
  binary ??= (async () => {
    const dir = makeTempDir('seccomp-log-');
    const out = path.join(dir, 'seccomp-log');
    try {
      await execFileP('cc', ['-O2', '-Wall', '-o', out, SECCOMP_LOG_SOURCE]);
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`compiling ${SECCOMP_LOG_SOURCE} failed: ${e.stderr || e.message}`);
    }
    return out;
  })();
  return binary;
}

/** The native syscall number for a name seccomp-log knows (see NAMES in seccomp-log.c). */
export async function resolveSyscall(name: string): Promise<number> {
  const { stdout } = await execFileP(await buildSeccompLog(), ['--resolve', name]);
  return Number(stdout.trim());
}

export interface RunOptions {
  /** syscalls (numbers, or names seccomp-log knows) that fail with EPERM instead of being logged */
  errno?: Array<number | string>;
  /** load the filter with SECCOMP_FILTER_FLAG_LOG so that the ERRNO actions are logged too */
  logFlag?: boolean;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** kill the process tree and reject after this long; default 10 s */
  timeoutMs?: number;
}

export interface RunResult {
  /** host pid of the program (seccomp-log execs it, so the pid carries over) */
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs argv under a filter that logs every syscall, children included. */
export async function runUnderLogFilter(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  if (argv.length === 0) throw new TypeError('runUnderLogFilter: empty argv');
  const bin = await buildSeccompLog();
  const args: string[] = [];
  if (opts.errno !== undefined && opts.errno.length > 0) args.push('--errno', opts.errno.join(','));
  if (opts.logFlag) args.push('--log-flag');
  args.push('--', ...argv);
  cleanupAtExit();
  const child = spawn(bin, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  children.add(child);
  const pid = child.pid;
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
  const timeoutMs = opts.timeoutMs ?? 10_000;
  try {
    return await new Promise<RunResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        killTree(child);
        reject(new Error(`${argv.join(' ')} did not finish within ${timeoutMs} ms; stderr: ${stderr}`));
      }, timeoutMs);
      child.once('error', (err) => { clearTimeout(timer); reject(err); });
      // 'close' rather than 'exit': it waits for stdout and stderr to be fully read
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        if (pid === undefined) return reject(new Error(`could not start ${bin}`));
        if (code === 125 && stderr.includes('seccomp-log:')) return reject(new Error(stderr.trim()));
        resolve({ pid, code, signal, stdout, stderr });
      });
    });
  } finally {
    killTree(child);
    children.delete(child);
  }
}

// ---- printk rate limit, shared between concurrently running test processes ----

const STATE_FILE = path.join(os.tmpdir(), 'seccomp-auditor-printk-ratelimit.json');
const LOCK_FILE = `${STATE_FILE}.lock`;

interface RatelimitState {
  /** the value to restore once nobody needs the rate limit off */
  original: string;
  /** `pid:n` of every caller currently inside withPrintkRatelimitOff */
  holders: string[];
}

let holderCounter = 0;

/**
 * Runs fn with `kernel.printk_ratelimit` at 0: without auditd the kernel prints audit records through
 * printk, which otherwise lets ~10 records per 5 s through. Test files run in parallel processes, so the
 * holders are recorded in a shared state file: the original value is restored only by the last one out,
 * never overwritten with another process's 0. Holders whose process died are dropped on the next call.
 */
export async function withPrintkRatelimitOff<T>(fn: () => Promise<T>): Promise<T> {
  const me = `${process.pid}:${++holderCounter}`;
  await withLock(() => {
    const state = readState() ?? { original: fs.readFileSync(PRINTK_RATELIMIT, 'utf8').trim(), holders: [] };
    // a state file whose holders all died still has the right original: the current value is their 0
    state.holders = state.holders.filter(isAlive);
    state.holders.push(me);
    fs.writeFileSync(STATE_FILE, JSON.stringify(state));
    fs.writeFileSync(PRINTK_RATELIMIT, '0');
  });
  try {
    return await fn();
  } finally {
    await withLock(() => {
      const state = readState();
      if (state === null) return;
      state.holders = state.holders.filter((h) => h !== me && isAlive(h));
      if (state.holders.length > 0) {
        fs.writeFileSync(STATE_FILE, JSON.stringify(state));
      } else {
        fs.writeFileSync(PRINTK_RATELIMIT, state.original);
        fs.rmSync(STATE_FILE, { force: true });
      }
    });
  }
}

function readState(): RatelimitState | null {
  try {
    return JSON.parse(fs.readFileSync(STATE_FILE, 'utf8')) as RatelimitState;
  } catch {
    return null;
  }
}

function isAlive(holder: string): boolean {
  const pid = Number(holder.split(':')[0]);
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function withLock(fn: () => void): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      fs.writeFileSync(LOCK_FILE, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // a lock left by a killed process would otherwise block every later run
      const owner = (() => { try { return fs.readFileSync(LOCK_FILE, 'utf8'); } catch { return ''; } })();
      if (owner !== '' && !isAlive(owner)) fs.rmSync(LOCK_FILE, { force: true });
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${LOCK_FILE}`);
      await sleep(5);
    }
  }
  try {
    fn();
  } finally {
    fs.rmSync(LOCK_FILE, { force: true });
  }
}

// ---- /dev/kmsg ----

/**
 * Injects one record per message. Each write opens the device anew because the kernel rate-limits
 * writes per open file (printk_devkmsg=ratelimit: 10 per 5 s) and silently drops the rest.
 */
export function writeKmsg(messages: string | string[], pri = 12): void {
  for (const m of typeof messages === 'string' ? [messages] : messages) {
    const fd = fs.openSync('/dev/kmsg', 'w');
    try {
      fs.writeSync(fd, `<${pri}>${m}\n`);
    } finally {
      fs.closeSync(fd);
    }
  }
}

export interface CollectOptions {
  /** stop once no record has arrived for this long after fn finished; default 300 ms */
  quietMs?: number;
  /** stop at the latest this long after fn finished; default 5000 ms */
  timeoutMs?: number;
  /** drain interval, also while fn runs; default 10 ms */
  pollMs?: number;
}

export interface Collected {
  /** each record's whole text: `PRI,SEQ,USEC,FLAGS;MESSAGE\n` plus continuation lines */
  records: string[];
  /** records the reader knows it lost (overwritten before it read them) */
  lost: number;
}

/**
 * Collects the kernel records that arrive while fn runs and shortly after. It drains while fn runs too:
 * the ring buffer holds only a few hundred audit records, fewer than a small shell script produces.
 */
export async function collectKmsg(fn: () => Promise<void>, opts: CollectOptions = {}): Promise<Collected> {
  const quietMs = opts.quietMs ?? 300;
  const timeoutMs = opts.timeoutMs ?? 5000;
  const pollMs = opts.pollMs ?? 10;
  const records: string[] = [];
  const reader = new KmsgReader().open();
  const drain = (): number =>
    reader.drain((buf, start, end) => { records.push(buf.toString('utf8', start, end)); });
  let timer: NodeJS.Timeout | undefined;
  try {
    reader.skipToEnd();
    timer = setInterval(drain, pollMs);
    await fn();
    clearInterval(timer);
    timer = undefined;
    const deadline = Date.now() + timeoutMs;
    let lastNew = Date.now();
    while (Date.now() - lastNew < quietMs && Date.now() < deadline) {
      if (drain() > 0) lastNew = Date.now();
      await sleep(pollMs);
    }
    return { records, lost: reader.lostRecords };
  } finally {
    if (timer !== undefined) clearInterval(timer);
    reader.close();
  }
}

// ---- small utilities ----

function readTrimmed(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

function onPath(cmd: string): boolean {
  for (const dir of (process.env['PATH'] ?? '').split(':')) {
    if (dir === '') continue;
    try {
      fs.accessSync(path.join(dir, cmd), fs.constants.X_OK);
      return true;
    } catch {
      // next
    }
  }
  return false;
}

function findProcess(comm: string): number | null {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return null;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    if (readTrimmed(`/proc/${e}/comm`) === comm) return Number(e);
  }
  return null;
}

/**
 * Runs fn with the kernel's own printk rate limit (5 s, burst 10), as a stock node has it, and
 * restores what the machine had: a test of learning on a stock node must not depend on a
 * machine where someone turned the limit off.
 */
export async function withStockPrintkRatelimit<T>(fn: () => Promise<T>): Promise<T> {
  const files = [[PRINTK_RATELIMIT, '5'], ['/proc/sys/kernel/printk_ratelimit_burst', '10']] as const;
  const before = files.map(([f]) => fs.readFileSync(f, 'utf8').trim());
  for (const [f, v] of files) fs.writeFileSync(f, v);
  try {
    return await fn();
  } finally {
    files.forEach(([f], i) => fs.writeFileSync(f, before[i]!));
  }
}
