import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RecordPipeline } from '../dist/ingest/record-pipeline.js';
import { SyscallStore } from '../dist/store/syscall-store.js';
import { generateAuditLog } from './generate-audit-log.js';
import { plainLineSplit } from './parse-bench.js';

/**
 * `ingest` end to end, as the command runs it: read, parse, attribute against a prepared proc
 * root and kubelet log root (every pid of the generated log is a process of one of 48 pods),
 * aggregate, commit a batch every second to a real SQLite file. Each size runs in a process of
 * its own, so its peak RSS is its own.
 */
export interface IngestResult { records: number; ms: number; peakRssMiB: number; splitMs: number; attributed: number }

export function ingestBench(records: number): IngestResult {
  const out = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), String(records)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').pop()!) as IngestResult;
}

const PROCESSES = 48;

function prepareNode(dir: string): { proc: string; logs: string } {
  const proc = join(dir, 'proc');
  const logs = join(dir, 'log');
  mkdirSync(join(logs, 'containers'), { recursive: true });
  for (let c = 0; c < PROCESSES; c++) {
    const id = c.toString(16).padStart(64, 'f');
    const uid = `00000000-0000-0000-0000-${c.toString(16).padStart(12, '0')}`;
    const podDir = join(logs, 'pods', `bench_pod-${c}_${uid}`, 'app');
    mkdirSync(podDir, { recursive: true });
    writeFileSync(join(podDir, '0.log'), '');
    symlinkSync(join(podDir, '0.log'), join(logs, 'containers', `pod-${c}_bench_app-${id}.log`));
    // the generator's pids: 20000 + k*7 for k < processes
    const pid = 20000 + c * 7;
    mkdirSync(join(proc, String(pid)), { recursive: true });
    writeFileSync(join(proc, String(pid), 'cgroup'), `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid.replaceAll('-', '_')}.slice/cri-containerd-${id}.scope\n`);
    writeFileSync(join(proc, String(pid), 'stat'), `${pid} (app) S 1 ${'0 '.repeat(17)}${1000 + c} 0 0\n`);
  }
  return { proc, logs };
}

function run(records: number): IngestResult {
  const dir = mkdtempSync(join(tmpdir(), 'sa-ingest-bench-'));
  try {
    const { proc, logs } = prepareNode(dir);
    const file = join(dir, 'audit.log');
    generateAuditLog(file, records, { form: 'auditd', otherShare: 0, processes: PROCESSES });
    const split = plainLineSplit(file);
    const store = SyscallStore.open({ path: join(dir, 'bench.db') });
    const pipeline = new RecordPipeline({
      source: 'ingest', procRoot: proc, logDir: logs, nodeName: 'bench',
      events: { onNewSyscall() {}, onLostSignal() {}, onMalformed() {} },
    });
    pipeline.start({ watch: false });
    const buf = Buffer.allocUnsafe(1 << 20);
    const fd = openSync(file, 'r');
    const start = process.hrtime.bigint();
    let lastBatch = Date.now();
    for (let n = readSync(fd, buf, 0, buf.length, null); n > 0; n = readSync(fd, buf, 0, buf.length, null)) {
      pipeline.push(buf.subarray(0, n));
      const now = Date.now();
      if (now - lastBatch >= 1000) {
        pipeline.onBatchEnd();
        const batch = pipeline.takeBatch([]);
        if (batch) store.commitBatch(batch);
        lastBatch = now;
      }
    }
    pipeline.end();
    const batch = pipeline.takeBatch([]);
    if (batch) store.commitBatch(batch);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    closeSync(fd);
    store.close();
    const c = pipeline.attributor.counts;
    return {
      records: pipeline.stats.records, ms, splitMs: split.ms,
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
      attributed: c.proc + c.cache + c.lineage + c.label,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(run(Number(process.argv[2]))));
}
