/**
 * A real auditd for one test: Debian's binary in the foreground with a temporary configuration
 * (its own log file, no dispatcher plugins), so the kernel sends seccomp records to it instead of
 * printk. The kernel's audit settings it changes (enabled, backlog limit) are put back on stop.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, writeFileSync, openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { join } from 'node:path';
import type { Recorded } from './kmsg-recorder.js';

const AUDITD = '/sbin/auditd';
const AUDITCTL = '/sbin/auditctl';

export function auditdUnavailable(): string | null {
  if (!existsSync(AUDITD) || !existsSync(AUDITCTL)) return 'auditd is not installed (Debian package auditd)';
  if (!existsSync('/etc/audit/auditd.conf')) return 'no /etc/audit/auditd.conf to start from (Debian package auditd)';
  return null;
}

/** `auditctl -s` as numbers (enabled, pid, lost, backlog_limit...). */
export function auditStatus(): Record<string, number> {
  const out = spawnSync(AUDITCTL, ['-s'], { encoding: 'utf8' }).stdout;
  const status: Record<string, number> = {};
  for (const line of out.split('\n')) {
    const [key, value] = line.split(' ');
    if (key !== undefined && value !== undefined && /^\d+$/.test(value)) status[key] = Number(value);
  }
  return status;
}

export class AuditdProcess {
  readonly logFile: string;
  #child: ChildProcess | null = null;
  readonly #restore: { enabled: number; backlogLimit: number };

  private constructor(readonly dir: string) {
    this.logFile = join(dir, 'audit.log');
    const s = auditStatus();
    this.#restore = { enabled: s['enabled'] ?? 0, backlogLimit: s['backlog_limit'] ?? 64 };
  }

  /** Starts auditd with Debian's configuration, changed only where this test needs it. */
  static async start(dir: string): Promise<AuditdProcess> {
    const a = new AuditdProcess(dir);
    mkdirSync(join(dir, 'plugins.d'), { recursive: true });
    const conf = readFileSync('/etc/audit/auditd.conf', 'utf8')
      .replace(/^log_file\s*=.*$/m, `log_file = ${a.logFile}`)
      .replace(/^plugin_dir\s*=.*$/m, `plugin_dir = ${join(dir, 'plugins.d')}`)
      .replace(/^log_group\s*=.*$/m, 'log_group = root')
      // the test's partition may be small: no suspending on space
      .replace(/^(space_left|admin_space_left)_action\s*=.*$/gm, '$1_action = IGNORE')
      .replace(/^(disk_full|disk_error)_action\s*=.*$/gm, '$1_action = IGNORE');
    writeFileSync(join(dir, 'auditd.conf'), conf, { mode: 0o640 });
    // a pod's burst is thousands of records: the kernel's default backlog (64) would drop them
    spawnSync(AUDITCTL, ['-b', '8192'], { stdio: 'ignore' });
    a.#child = spawn(AUDITD, ['-n', '-c', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    a.#child.stderr!.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    const deadline = Date.now() + 10_000;
    while (auditStatus()['pid'] !== a.#child.pid) {
      if (a.#child.exitCode !== null || Date.now() > deadline) {
        await a.stop();
        throw new Error(`auditd did not take the audit socket: ${stderr.trim()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return a;
  }

  /** The SECCOMP lines auditd wrote while fn ran; lost = the kernel's audit lost counter's rise. */
  async record(fn: () => Promise<void>): Promise<Recorded> {
    const lostBefore = auditStatus()['lost'] ?? 0;
    const from = existsSync(this.logFile) ? fstatSize(this.logFile) : 0;
    await fn();
    // auditd writes asynchronously (flush = INCREMENTAL_ASYNC): wait until the file stops growing
    let size = -1;
    for (let i = 0; i < 50; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const now = fstatSize(this.logFile);
      if (now === size) break;
      size = now;
    }
    const text = readFrom(this.logFile, from);
    return { records: text.split('\n').filter((l) => l.startsWith('type=SECCOMP ')), lost: (auditStatus()['lost'] ?? 0) - lostBefore };
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (child !== null && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    this.#child = null;
    spawnSync(AUDITCTL, ['-e', String(this.#restore.enabled)], { stdio: 'ignore' });
    spawnSync(AUDITCTL, ['-b', String(this.#restore.backlogLimit)], { stdio: 'ignore' });
  }
}

function fstatSize(file: string): number {
  const fd = openSync(file, 'r');
  try {
    return fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
}

function readFrom(file: string, offset: number): string {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size - offset;
    const buf = Buffer.alloc(Math.max(0, size));
    readSync(fd, buf, 0, buf.length, offset);
    return buf.toString('utf8');
  } finally {
    closeSync(fd);
  }
}
