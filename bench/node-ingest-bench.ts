import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { churnHistory, smallNodeHistory } from './node-history.js';
import { plainLineSplit } from './parse-bench.js';
import { writeNodeLog, type NodeLogSummary } from './node-log-writer.js';

/**
 * `seccomp-auditor ingest` of a generated node log against its proc and kubelet log roots, the
 * way a user runs it: `node dist/cli.js ingest`, timed from spawn to exit; the 30-day case with
 * its RSS sampled as it goes (flat or not), its peak RSS and CPU time from the process itself.
 *
 * Generated files go to bench/out/ (ignored by git) and are kept between runs: writing the
 * 30-day log takes longer than ingesting it.
 */
const HERE = dirname(fileURLToPath(import.meta.url));
const OUT = join(HERE, 'out');
const CLI = join(HERE, '..', 'dist', 'cli.js');

export type NodeCase = 'churn' | 'small';
/** raised whenever the generator changes what it writes, so a kept log is not reused */
const GENERATOR_VERSION = 3;

export function prepareNodeLog(kind: NodeCase, records: number): { dir: string; summary: NodeLogSummary; generated: boolean } {
  const dir = join(OUT, `${kind}-${records}-v${GENERATOR_VERSION}`);
  const marker = join(dir, 'summary.json');
  if (existsSync(marker)) return { dir, summary: JSON.parse(readFileSync(marker, 'utf8')) as NodeLogSummary, generated: false };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const summary = kind === 'churn'
    ? writeNodeLog(dir, churnHistory(), { records, otherShare: 0.03 })
    : writeNodeLog(dir, smallNodeHistory(), { records, otherShare: 0.08 });
  writeFileSync(marker, JSON.stringify(summary));
  return { dir, summary, generated: true };
}

export interface IngestRun {
  records: number;
  attributed: number;
  ms: number;
  /**
   * A plain line split of the same log just before the run (parse-bench.ts): this VM's speed moves
   * by half from one hour to the next, and this tells a slow spell from a slow ingest
   */
  splitMs: number;
  /** CPU time of the process (user and system, all threads): the figure to compare on a shared machine */
  cpuMs: number;
  peakRssMiB: number;
  /** RSS (MiB) at a quarter, half, three quarters and the end of the run */
  rssMiB: number[];
  /** what the database holds afterwards */
  workloads: number;
  syscallRows: number;
  violationRows: number;
}

/**
 * `node dist/cli.js ingest` as a user runs it, timed from spawn to exit, its RSS sampled from
 * /proc every 100 ms (flat or not); its peak RSS and CPU time (all threads) come from
 * `process.resourceUsage()` at its exit, which a one-line `--import` prints on fd 3.
 */
export async function ingestInChild(dir: string): Promise<IngestRun> {
  const db = mkdtempSync(join(tmpdir(), 'sa-node-ingest-'));
  try {
    const splitMs = plainLineSplit(join(dir, 'audit.log')).ms;
    // the main thread's only: the import runs in every thread of the process, and a thread's exit is an 'exit' too
    const report = 'data:text/javascript,import{writeSync}from"node:fs";import{isMainThread}from"node:worker_threads";if(isMainThread)process.on("exit",()=>writeSync(3,JSON.stringify(process.resourceUsage())))';
    const start = process.hrtime.bigint();
    const child = spawn(process.execPath, [`--import=${report}`, CLI, 'ingest', join(dir, 'audit.log'), '--db', join(db, 'bench.db'), '--proc-root', join(dir, 'proc'), '--log-dir', join(dir, 'log')],
      { stdio: ['ignore', 'pipe', 'inherit', 'pipe'] });
    let stdout = '', usageText = '';
    child.stdout!.on('data', (c: Buffer) => { stdout += c.toString(); });
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (c: Buffer) => { usageText += c.toString(); });
    const samples: { at: number; rss: number }[] = [];
    const timer = setInterval(() => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        samples.push({ at: Number(process.hrtime.bigint() - start) / 1e6, rss: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024 });
      } catch {
        // exited between two samples
      }
    }, 100);
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    clearInterval(timer);
    if (code !== 0) throw new Error(`ingest exited ${code}`);
    const used = JSON.parse(usageText) as NodeJS.ResourceUsage;
    const rssMiB = [0.25, 0.5, 0.75, 1].map((q) => Math.round((samples.find((x) => x.at >= q * ms) ?? samples.at(-1)!).rss / 1048576));
    const sqlite = new Database(join(db, 'bench.db'), { readonly: true });
    const count = (sql: string): number => sqlite.prepare(sql).pluck().get() as number;
    const stored = {
      workloads: count('SELECT count(*) FROM workloads'),
      syscallRows: count('SELECT count(*) FROM syscalls'),
      violationRows: count("SELECT count(*) FROM syscalls WHERE action <> 'log'"),
    };
    sqlite.close();
    return { ...summaryOf(stdout), ms, splitMs, cpuMs: (used.userCPUTime + used.systemCPUTime) / 1000, peakRssMiB: Math.round(used.maxRSS / 1024), rssMiB, ...stored };
  } finally {
    rmSync(db, { recursive: true, force: true });
  }
}

/** `node dist/cli.js ingest`: wall time from spawn to exit, process start included. */
export function ingestCli(dir: string): { records: number; attributed: number; ms: number; splitMs: number } {
  const db = mkdtempSync(join(tmpdir(), 'sa-node-ingest-'));
  try {
    const splitMs = plainLineSplit(join(dir, 'audit.log')).ms;
    const start = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [CLI, 'ingest', join(dir, 'audit.log'), '--db', join(db, 'bench.db'), '--proc-root', join(dir, 'proc'), '--log-dir', join(dir, 'log')], { encoding: 'utf8' });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (r.status !== 0) throw new Error(`ingest failed (${r.status}): ${r.stderr}`);
    return { ...summaryOf(r.stdout), ms, splitMs };
  } finally {
    rmSync(db, { recursive: true, force: true });
  }
}

function summaryOf(stdout: string): { records: number; attributed: number } {
  const m = /records (\d+), attributed (\d+)/.exec(stdout);
  if (m === null) throw new Error(`no summary in ${JSON.stringify(stdout)}`);
  return { records: Number(m[1]), attributed: Number(m[2]) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [mode, arg] = process.argv.slice(2);
  {
    // `npx tsx bench/node-ingest-bench.ts [churn|small] [RECORDS]`: one case on its own
    const kind = (mode ?? 'small') as NodeCase;
    const { dir, summary } = prepareNodeLog(kind, Number(arg ?? (kind === 'churn' ? 6_000_000 : 2_000_000)));
    console.log(JSON.stringify(summary));
    for (let i = 0; i < (kind === 'churn' ? 1 : 3); i++) {
      const r = kind === 'churn' ? await ingestInChild(dir) : ingestCli(dir);
      console.log(JSON.stringify({ ...r, millionPerSecond: +(r.records / r.ms / 1000).toFixed(2), splitMs: Math.round(r.splitMs), timesSplit: +(r.ms / r.splitMs).toFixed(1) }));
    }
  }
}
