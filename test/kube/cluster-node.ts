/**
 * One node of the fake cluster: the built `seccomp-auditor run` as a process, following an
 * audit.log written in the kernel's format before it starts (--read-existing), attributing the
 * records against a proc root and kubelet log root made for this node's containers, with its
 * read routes behind the token (--protect-reads), as the DaemonSet runs it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { builtCli } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/real-kernel.js';
import { sourceFollowing } from '../helpers/source-following.js';
import { makeNode, type FakeContainer } from '../ingest/fake-node.js';

export class ClusterNode {
  readonly dir = makeTempDir('sa-cluster-node-');
  readonly log = join(this.dir, 'audit.log');
  readonly seccompDir = join(this.dir, 'kubelet-seccomp');
  #child: ChildProcess | null = null;
  url = '';

  constructor(readonly node: string, containers: readonly FakeContainer[], lines: string, readonly tokenFile: string, readonly extraArgs: string[] = []) {
    const made = makeNode(this.dir, containers);
    this.extraArgs = ['--proc-root', made.procRoot, '--log-dir', made.logDir, ...extraArgs];
    mkdirSync(this.seccompDir);
    writeFileSync(this.log, lines);
  }

  get port(): number {
    return Number(new URL(this.url).port);
  }

  async start(): Promise<void> {
    const child = spawn(process.execPath, [
      builtCli(), 'run', '--source', `file:${this.log}`, '--read-existing', '--db', join(this.dir, 'auditor.db'),
      '--listen', '127.0.0.1:0', '--node-name', this.node, '--kubelet-seccomp-dir', this.seccompDir,
      '--token-file', this.tokenFile, '--protect-reads', ...this.extraArgs,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    const stderr: string[] = [];
    child.stderr!.on('data', (c: Buffer) => stderr.push(c.toString()));
    this.url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the daemon of ${this.node} did not start within 20 s: ${stderr.join('')}`)), 20_000);
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the daemon of ${this.node} exited (${code}): ${stderr.join('')}`)); });
      // every line read to the end: a full pipe would stall the daemon's log
      createInterface({ input: child.stdout! }).on('line', (text) => {
        if (!text.includes('"event":"started"')) return;
        // the port the kernel chose for --listen 127.0.0.1:0
        const listen = /"listen":"([^"]+)"/.exec(text)?.[1];
        if (listen === undefined) { reject(new Error(`no listen address in the started line: ${text}`)); return; }
        clearTimeout(timer);
        resolve(`http://${listen}`);
      });
    });
    await sourceFollowing(this.url, `file:${this.log}`);
  }

  /** SIGSTOP: the kernel still accepts connections on its socket, nothing answers (a slow node) */
  pause(): void {
    this.#child?.kill('SIGSTOP');
  }

  resume(): void {
    this.#child?.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGCONT');
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
}

let generation = 0;
/**
 * Writes a ConfigMap volume the way the kubelet's atomic writer does: the data in a new
 * `..<timestamp>` directory, `..data` swapped to it by renaming a new symlink over it, one
 * `KEY -> ..data/KEY` symlink per key, then the old directory removed.
 */
export function writeConfigMapVolume(dir: string, data: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  const previous = existsSync(join(dir, '..data')) ? readdirSync(dir).filter((f) => f.startsWith('..') && f !== '..data') : [];
  const ts = join(dir, `..2026_12_03_10_00_00.${process.pid}${generation++}`);
  mkdirSync(ts);
  for (const [key, value] of Object.entries(data)) writeFileSync(join(ts, key), value);
  symlinkSync(basename(ts), join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const key of Object.keys(data)) if (!existsSync(join(dir, key))) symlinkSync(join('..data', key), join(dir, key));
  for (const f of readdirSync(dir)) if (!f.startsWith('..') && !(f in data)) unlinkSync(join(dir, f));
  for (const old of previous) rmSync(join(dir, old), { recursive: true });
}
