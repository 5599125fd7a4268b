/**
 * The built `seccomp-auditor run` as Prometheus meets it on a node: a separate process on a fixed
 * loopback port (so a restart keeps its `instance`), following an audit.log it is fed kernel-format
 * lines through, attributing them against a prepared proc root and kubelet log root (two pods of
 * two workloads, one process gone), with a kubelet seccomp directory to install its profile in.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { builtCli } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/real-kernel.js';
import { sourceFollowing } from '../helpers/source-following.js';
import { makeNode, recordLine, type FakeContainer } from '../ingest/fake-node.js';
import { freePort } from './prometheus-server.js';

/** a Deployment's pod: its workload label is `web` */
export const WEB: FakeContainer = { namespace: 'shop', pod: 'web-7d9f8b6c4-x2k4p', podUid: '00000000-0000-0000-0000-0000000000a1', container: 'nginx', id: 'a1'.repeat(32), pid: 5101 };
/** a StatefulSet's pod: workload `db` */
export const DB: FakeContainer = { namespace: 'shop', pod: 'db-0', podUid: '00000000-0000-0000-0000-0000000000b1', container: 'postgres', id: 'b1'.repeat(32), pid: 5102 };
/** a pid with no process behind it: its records are unattributed (reason `exited`) */
export const GONE = 9_999;

/**
 * What every fed node gets: WEB calls read, write and (blocked) execve; DB read and (killed)
 * socket; a gone process read; the kernel reports 5 records lost.
 */
export function firstLines(): string {
  return [
    recordLine(WEB.pid, 0), recordLine(WEB.pid, 0), recordLine(WEB.pid, 1), recordLine(WEB.pid, 59, 'errno'),
    recordLine(DB.pid, 0), recordLine(DB.pid, 41, 'kill_process'),
    recordLine(GONE, 0), recordLine(GONE, 0),
    'audit: audit_lost=5 audit_rate_limit=0 audit_backlog_limit=64\n',
  ].join('');
}

export class FedDaemon {
  readonly dir = makeTempDir('sa-prom-node-');
  readonly log = join(this.dir, 'audit.log');
  readonly db = join(this.dir, 'auditor.db');
  readonly seccompDir = join(this.dir, 'seccomp');
  readonly #node: { procRoot: string; logDir: string };
  #child: ChildProcess | null = null;
  port = 0;

  constructor(readonly extraArgs: string[] = []) {
    this.#node = makeNode(this.dir, [WEB, DB]);
    mkdirSync(this.seccompDir);
    writeFileSync(this.log, firstLines());
  }

  get target(): string {
    return `127.0.0.1:${this.port}`;
  }

  get source(): string {
    return `file:${this.log}`;
  }

  /** Starts (or restarts, on the same port) the daemon; resolves once it follows the file. */
  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    const child = spawn(process.execPath, [
      builtCli(), 'run', '--source', this.source, '--read-existing', '--db', this.db, '--listen', this.target,
      '--proc-root', this.#node.procRoot, '--log-dir', this.#node.logDir, '--node-name', 'node-a',
      '--kubelet-seccomp-dir', this.seccompDir, ...this.extraArgs,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    const stderr: string[] = [];
    child.stderr!.on('data', (c: Buffer) => stderr.push(c.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the daemon did not start within 20 s: ${stderr.join('')}`)), 20_000);
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the daemon exited (${code}): ${stderr.join('')}`)); });
      // read every line to the end: a full pipe would stall the daemon's log
      createInterface({ input: child.stdout! }).on('line', (text) => {
        if (text.includes('"event":"started"')) { clearTimeout(timer); resolve(); }
      });
    });
    await sourceFollowing(`http://${this.target}`, this.source);
  }

  append(lines: string): void {
    appendFileSync(this.log, lines);
  }

  /** SIGTERM and wait: the daemon commits what it holds before it exits. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
}
