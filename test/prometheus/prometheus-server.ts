/**
 * A real Prometheus (Debian's `prometheus` package, 2.42; .ci/run installs it) for the tests: its
 * own data directory, loopback only, a free port, a 1 s scrape and rule interval, and the targets
 * and rule files a test gives. Queried over its HTTP API as Grafana and people do.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { makeTempDir } from '../helpers/real-kernel.js';

export const PROMETHEUS = process.env['PROMETHEUS_BIN'] ?? 'prometheus';
export const PROMTOOL = process.env['PROMTOOL_BIN'] ?? 'promtool';

/** A port nobody listens on now (the kernel picks it; the listener is closed at once). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

export interface ScrapeJob {
  job: string;
  /** host:port */
  target: string;
  /** target labels, as a ServiceMonitor's relabelling adds `node` (and a cluster's external `cluster`) */
  labels?: Record<string, string>;
}

export interface VectorSample { metric: Record<string, string>; value: [number, string] }

export class PrometheusServer {
  readonly #child: ChildProcess;
  readonly #log: string[] = [];
  readonly url: string;

  private constructor(child: ChildProcess, url: string) {
    this.#child = child;
    this.url = url;
    const keep = (chunk: Buffer): void => { this.#log.push(chunk.toString()); };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
  }

  /** Starts Prometheus scraping `jobs` every second and evaluating `ruleFiles`; waits until it is ready. */
  static async start(jobs: ScrapeJob[], ruleFiles: string[] = []): Promise<PrometheusServer> {
    const dir = makeTempDir('sa-prometheus-');
    const config = {
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      rule_files: ruleFiles,
      scrape_configs: jobs.map((j) => ({ job_name: j.job, static_configs: [{ targets: [j.target], labels: j.labels ?? {} }] })),
    };
    writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
    const port = await freePort();
    const child = spawn(PROMETHEUS, [
      `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    const server = new PrometheusServer(child, `http://127.0.0.1:${port}`);
    const exited = once(child, 'exit').then(([code]) => { throw new Error(`prometheus exited (${code}): ${server.#log.join('')}`); });
    exited.catch(() => {});
    const deadline = Date.now() + 30_000;
    for (;;) {
      const ready = await Promise.race([fetch(`${server.url}/-/ready`).then((r) => r.ok, () => false), exited]);
      if (ready) return server;
      if (Date.now() > deadline) {
        await server.stop();
        throw new Error(`prometheus was not ready within 30 s: ${server.#log.join('')}`);
      }
      await sleep(100);
    }
  }

  /** An instant query; throws on an error answer (a query that does not parse, say). */
  async query(promql: string, time?: number): Promise<VectorSample[]> {
    const params = new URLSearchParams({ query: promql });
    if (time !== undefined) params.set('time', String(time));
    const res = await fetch(`${this.url}/api/v1/query?${params}`);
    const body = await res.json() as { status: string; error?: string; data: { resultType: string; result: unknown } };
    if (body.status !== 'success') throw new Error(`${promql}: ${body.error}`);
    if (body.data.resultType === 'scalar') {
      return [{ metric: {}, value: body.data.result as [number, string] }];
    }
    return body.data.result as VectorSample[];
  }

  /** A range query over the last `seconds`, one step per second. */
  async queryRange(promql: string, seconds: number): Promise<{ metric: Record<string, string>; values: [number, string][] }[]> {
    const end = Date.now() / 1000;
    const params = new URLSearchParams({ query: promql, start: String(end - seconds), end: String(end), step: '1' });
    const res = await fetch(`${this.url}/api/v1/query_range?${params}`);
    const body = await res.json() as { status: string; error?: string; data: { result: { metric: Record<string, string>; values: [number, string][] }[] } };
    if (body.status !== 'success') throw new Error(`${promql}: ${body.error}`);
    return body.data.result;
  }

  /** Polls `promql` until `pred` holds for its answer (bounded); returns that answer. */
  async until(promql: string, pred: (r: VectorSample[]) => boolean, ms = 30_000): Promise<VectorSample[]> {
    const deadline = Date.now() + ms;
    let last: VectorSample[] = [];
    while (Date.now() < deadline) {
      last = await this.query(promql);
      if (pred(last)) return last;
      await sleep(250);
    }
    throw new Error(`${promql}: condition not met within ${ms} ms; last answer ${JSON.stringify(last).slice(0, 1500)}`);
  }

  /**
   * Waits until `job` has been scraped successfully `n` more times from now (its `up` samples),
   * so that what a test fed is in at least that many samples.
   */
  async scrapes(job: string, n = 2): Promise<void> {
    const count = async (): Promise<number> => Number((await this.query(`count_over_time(up{job="${job}"}[10m])`))[0]?.value[1] ?? 0);
    const from = await count();
    await this.until(`count_over_time(up{job="${job}"}[10m])`, (r) => Number(r[0]?.value[1] ?? 0) >= from + n);
    const up = await this.query(`up{job="${job}"}`);
    if (up[0]?.value[1] !== '1') throw new Error(`the last scrape of ${job} failed: ${JSON.stringify(await this.targets())}`);
  }

  /** The targets' states, for messages. */
  async targets(): Promise<unknown> {
    return (await (await fetch(`${this.url}/api/v1/targets`)).json() as { data: unknown }).data;
  }

  /** The rules as loaded, with their state (inactive, pending, firing). */
  async rules(): Promise<{ name: string; type: string; state?: string; health: string; lastError?: string }[]> {
    const body = await (await fetch(`${this.url}/api/v1/rules`)).json() as { data: { groups: { rules: { name: string; type: string; state?: string; health: string; lastError?: string }[] }[] } };
    return body.data.groups.flatMap((g) => g.rules);
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000);
    await once(this.#child, 'exit');
    clearTimeout(timer);
  }
}
