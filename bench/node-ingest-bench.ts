import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { churnHistory, smallNodeHistory } from './node-history.js';
import { writeNodeLog, type NodeLogSummary } from './node-log-writer.js';

/**
 * `seccomp-auditor ingest` of a generated node log against its proc and kubelet log roots, the
 * way a user runs it: the 30-day case in a process of its own with its RSS sampled as it goes
 * (flat or not), the small case as `node dist/cli.js ingest`, timed from spawn to exit.
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

/** The ingest command in a process of its own (timed from its start, not the process's), RSS sampled. */
export function ingestInChild(dir: string): IngestRun {
  const out = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'child', dir], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').pop()!) as IngestRun;
}

/** `node dist/cli.js ingest`: wall time from spawn to exit, process start included. */
export function ingestCli(dir: string): { records: number; attributed: number; ms: number } {
  const db = mkdtempSync(join(tmpdir(), 'sa-node-ingest-'));
  try {
    const start = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [CLI, 'ingest', join(dir, 'audit.log'), '--db', join(db, 'bench.db'), '--proc-root', join(dir, 'proc'), '--log-dir', join(dir, 'log')], { encoding: 'utf8' });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (r.status !== 0) throw new Error(`ingest failed (${r.status}): ${r.stderr}`);
    return { ...summaryOf(r.stdout), ms };
  } finally {
    rmSync(db, { recursive: true, force: true });
  }
}

function summaryOf(stdout: string): { records: number; attributed: number } {
  const m = /records (\d+), attributed (\d+)/.exec(stdout);
  if (m === null) throw new Error(`no summary in ${JSON.stringify(stdout)}`);
  return { records: Number(m[1]), attributed: Number(m[2]) };
}

async function child(dir: string): Promise<IngestRun> {
  const { main } = await import('../dist/cli/main.js');
  const db = mkdtempSync(join(tmpdir(), 'sa-node-ingest-'));
  try {
    const file = join(dir, 'audit.log');
    let stdout = '';
    // the command reads the file in 1 MiB chunks and yields between them: a timer sees it work
    const samples: { at: number; rss: number }[] = [];
    const start = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    const timer = setInterval(() => samples.push({ at: Number(process.hrtime.bigint() - start) / 1e6, rss: process.memoryUsage.rss() }), 100);
    const code = await main(['ingest', file, '--db', join(db, 'bench.db'), '--proc-root', join(dir, 'proc'), '--log-dir', join(dir, 'log')], {
      stdin: process.stdin, env: {}, isTTY: false,
      stdout: { write: (s: string) => { stdout += s; return true; } } as NodeJS.WritableStream,
      stderr: process.stderr,
    });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const used = process.cpuUsage(cpu);
    clearInterval(timer);
    samples.push({ at: ms, rss: process.memoryUsage.rss() });
    if (code !== 0) throw new Error(`ingest exited ${code}`);
    const rssMiB = [0.25, 0.5, 0.75, 1].map((q) => Math.round(samples.find((s) => s.at >= q * ms)!.rss / 1048576));
    const sqlite = new Database(join(db, 'bench.db'), { readonly: true });
    const count = (sql: string): number => sqlite.prepare(sql).pluck().get() as number;
    const stored = {
      workloads: count('SELECT count(*) FROM workloads'),
      syscallRows: count('SELECT count(*) FROM syscalls'),
      violationRows: count("SELECT count(*) FROM syscalls WHERE action <> 'log'"),
    };
    sqlite.close();
    return { ...summaryOf(stdout), ms, cpuMs: (used.user + used.system) / 1000, peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024), rssMiB, ...stored };
  } finally {
    rmSync(db, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [mode, arg] = process.argv.slice(2);
  if (mode === 'child') console.log(JSON.stringify(await child(arg!)));
  else {
    // `npx tsx bench/node-ingest-bench.ts [churn|small] [RECORDS]`: one case on its own
    const kind = (mode ?? 'small') as NodeCase;
    const { dir, summary } = prepareNodeLog(kind, Number(arg ?? (kind === 'churn' ? 6_000_000 : 2_000_000)));
    console.log(JSON.stringify(summary));
    for (let i = 0; i < (kind === 'churn' ? 1 : 3); i++) {
      const r = kind === 'churn' ? ingestInChild(dir) : ingestCli(dir);
      console.log(JSON.stringify({ ...r, millionPerSecond: +(r.records / r.ms / 1000).toFixed(2) }));
    }
  }
}
