import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateAuditLog } from './generate-audit-log.js';
import { parseFile, plainLineSplit } from './parse-bench.js';

// `npm run bench [-- LINES]`: figures for the README. Run on an idle machine; each measurement is
// the best of three runs, so page-cache warm-up and JIT warm-up do not count against the parser.
const lines = Number(process.argv[2] ?? 2_000_000);
const dir = mkdtempSync(join(tmpdir(), 'seccomp-auditor-bench-'));
try {
  const file = join(dir, 'node.log');
  generateAuditLog(file, lines);
  const size = statSync(file).size;
  console.log(`generated ${lines.toLocaleString('en')} lines (${(size / 1048576).toFixed(0)} MiB, 90% seccomp records) in ${file}`);

  const best = <T extends { ms: number }>(f: () => T): T => [f(), f(), f()].sort((a, b) => a.ms - b.ms)[0]!;
  const split = best(() => plainLineSplit(file));
  const parsed = best(() => parseFile(file));
  const rate = (n: number, ms: number): string => `${((n / ms) * 1000 / 1e6).toFixed(2)} M/s`;
  console.log(`plain line split:  ${split.lines} lines in ${split.ms.toFixed(0)} ms = ${rate(split.lines, split.ms)} lines`);
  console.log(`parse:             ${parsed.lines} lines, ${parsed.records} records in ${parsed.ms.toFixed(0)} ms = ` +
    `${rate(parsed.lines, parsed.ms)} lines, ${rate(parsed.records, parsed.ms)} seccomp records (checksum ${parsed.checksum})`);
  console.log(`parse target: >= 5 M seccomp lines/s on one core: ${parsed.records / parsed.ms * 1000 >= 5e6 ? 'met' : 'NOT met'}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
