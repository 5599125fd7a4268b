/**
 * The built `seccomp-auditor run` as a separate process, as an operator runs it: its JSON log
 * lines are kept, its HTTP API is reached over a real socket.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { builtCli } from '../../helpers/cli.js';

export interface DaemonLogLine {
  event?: string;
  listen?: string;
  [key: string]: unknown;
}

export class DaemonProcess {
  readonly lines: DaemonLogLine[] = [];
  readonly stderr: string[] = [];
  #url = '';

  private constructor(readonly child: ChildProcess) {}

  /**
   * Starts `run` with the given flags (plus `--listen 127.0.0.1:0`) and waits for its `started`
   * line. `prefix`: words the daemon runs under (e.g. setpriv, for the DaemonSet's privileges).
   */
  static async start(args: string[], timeoutMs = 20_000, prefix: string[] = []): Promise<DaemonProcess> {
    const argv = [...prefix, process.execPath, builtCli(), 'run', '--listen', '127.0.0.1:0', ...args];
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    const d = new DaemonProcess(child);
    createInterface({ input: child.stderr! }).on('line', (l) => d.stderr.push(l));
    const started = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the daemon did not start within ${timeoutMs} ms: ${d.stderr.join('\n')}`)), timeoutMs);
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the daemon exited (${code}) before it started: ${d.stderr.join('\n')}`)); });
      createInterface({ input: child.stdout! }).on('line', (text) => {
        let line: DaemonLogLine;
        try {
          line = JSON.parse(text) as DaemonLogLine;
        } catch {
          d.stderr.push(`(stdout, not JSON) ${text}`);
          return;
        }
        d.lines.push(line);
        if (line.event === 'started') {
          d.#url = `http://${line.listen}`;
          clearTimeout(timer);
          resolve();
        }
      });
    });
    await started;
    return d;
  }

  get url(): string {
    return this.#url;
  }

  async get<T>(path: string): Promise<{ status: number; body: T }> {
    const res = await fetch(this.#url + path);
    const text = await res.text();
    return { status: res.status, body: (res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) as T };
  }

  /** Polls until pred holds for a GET answer, bounded. */
  async until<T>(path: string, pred: (body: T) => boolean, timeoutMs = 15_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: T | undefined;
    while (Date.now() < deadline) {
      const r = await this.get<T>(path);
      last = r.body;
      if (r.status === 200 && pred(r.body)) return r.body;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`GET ${path}: condition not met within ${timeoutMs} ms; last answer: ${JSON.stringify(last).slice(0, 2000)}`);
  }

  /** SIGTERM and wait: the daemon commits what it holds before it exits. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const [code] = await once(this.child, 'exit') as [number | null];
    return code;
  }

  /** SIGKILL: nothing after the last commit survives. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGKILL');
    await once(this.child, 'exit');
  }
}
