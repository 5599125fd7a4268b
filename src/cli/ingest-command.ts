import { statSync } from 'node:fs';
import { hostname } from 'node:os';
import { startFileIngest } from '../ingest/file-ingest.js';
import type { FileIngestSummary } from '../ingest/file-ingest-protocol.js';
import { keepLargeAllocationsMapped } from '../runtime/malloc-policy.js';
import { checkSyscallTables } from '../syscalls/syscall-table.js';
import type { Command, CommandIo } from './command.js';
import { formatOptions, parseCommandLine, UsageError, type OptionTable } from './options.js';
import { relayTrustOf, TRUST_RELAY_OPTION } from './relay-trust-option.js';

const OPTIONS = {
  db: { type: 'string', value: 'PATH', env: 'SECCOMP_AUDITOR_DB', description: 'the SQLite database to add to (required)' },
  'proc-root': {
    type: 'string', value: 'PATH', env: 'SECCOMP_AUDITOR_PROC_ROOT',
    description: "a /proc to resolve the records' pids in; default none: pids in logs from another node mean nothing here",
  },
  'log-dir': {
    type: 'string', value: 'PATH', env: 'SECCOMP_AUDITOR_LOG_DIR',
    description: "the kubelet's log root (containers/, pods/) for names; default none",
  },
  'node-name': { type: 'string', value: 'NAME', env: 'SECCOMP_AUDITOR_NODE_NAME', default: hostname(), description: 'the node the logs come from' },
  'max-errors': { type: 'string', value: 'N', default: '20', description: 'malformed lines reported one by one before only counting them' },
  'trust-relay': TRUST_RELAY_OPTION,
} satisfies OptionTable;

/**
 * A batch every few seconds, or sooner when it has grown to MAX_PENDING_ROWS. A key counted in
 * two batches is written twice: on a month's log at ~500 000 records/s, 1 s batches wrote 1.45 M
 * rows for its 1.08 M keys; the row bound keeps the memory a batch holds flat however fast the
 * input comes.
 */
const BATCH_EVERY_MS = 5000;
const MAX_PENDING_ROWS = 131_072;
/**
 * Batches read ahead of the store: two keep both threads busy (one commits while the next is
 * gathered); more would only hold memory when the store is the slower half.
 */
const MAX_BATCHES_IN_FLIGHT = 2;

export const ingestCommand: Command = {
  name: 'ingest',
  summary: 'add seccomp records from log files (copied from a node, .gz too) to a database, once',
  help: () => `Usage: seccomp-auditor ingest FILE... --db PATH [options]

Reads seccomp audit records from FILEs ('-' for stdin; a pipe such as <(ssh node cat ...) is
read as it comes) in any form 'parse' reads, attributes them like the daemon does (when
--proc-root and --log-dir point at something that resolves their pids; otherwise they go to the
unattributed bucket by comm and exe) and adds them to the database. Prints a summary at the end;
a progress line on a terminal.

Options:
${formatOptions(OPTIONS)}
`,
  async run(argv: string[], io: CommandIo): Promise<number> {
    const { values, positionals } = parseCommandLine(argv, OPTIONS, io.env);
    if (positionals.length === 0) throw new UsageError('name at least one FILE (or - for stdin)');
    if (values.db === undefined) throw new UsageError('--db PATH is required: the database to add the records to');
    const maxErrors = Number(values['max-errors']);
    const trust = relayTrustOf(values['trust-relay']);
    const started = Date.now();
    const totalBytes = positionals.reduce((sum, f) => sum + (f === '-' ? 0 : sizeOf(f)), 0);
    // before the threads start: their batches are the large buffers freed most often
    keepLargeAllocationsMapped();
    const ingest = startFileIngest({
      files: positionals, procRoot: values['proc-root'] ?? null, logDir: values['log-dir'] ?? null, nodeName: values['node-name']!, trust,
      maxErrors, batchEveryMs: BATCH_EVERY_MS, maxPendingRows: MAX_PENDING_ROWS, maxBatchesInFlight: MAX_BATCHES_IN_FLIGHT,
    }, values.db, io.stdin);
    try {
      // the threads' start overlaps this check (a table is read on first use, and `ingest` must not
      // stop halfway through a log on a broken one)
      checkSyscallTables();
    } catch (err) {
      await ingest.cancel();
      io.stderr.write(`seccomp-auditor ingest: ${(err as Error).message}\n`);
      return 1;
    }
    let doneBytes = 0, lastProgress = 0, failed = 0, shownFile = '';
    let summary: FileIngestSummary;
    try {
      summary = await ingest.run({
        onMalformed: (file, lineNo, reason, excerpt) => io.stderr.write(`${file}:${lineNo}: malformed seccomp record (${reason}): ${excerpt}\n`),
        onProgress: (file, bytes) => {
          doneBytes += bytes;
          const now = Date.now();
          if (io.isTTY && totalBytes > 0 && (now - lastProgress >= 200 || file !== shownFile)) {
            lastProgress = now;
            shownFile = file;
            io.stderr.write(`\r${progressBar(Math.min(1, doneBytes / totalBytes))} ${file}`);
          }
        },
        onInputError: (_file, message) => {
          io.stderr.write(`${io.isTTY ? '\n' : ''}seccomp-auditor ingest: ${message}\n`);
          failed++;
        },
      });
    } catch (err) {
      io.stderr.write(`${io.isTTY ? '\n' : ''}seccomp-auditor ingest: ${(err as Error).message}\n`);
      return 1;
    }
    if (io.isTTY && totalBytes > 0) io.stderr.write(`\r${' '.repeat(60)}\r`);
    if (summary.malformed > maxErrors) io.stderr.write(`... ${summary.malformed - maxErrors} more malformed lines not shown\n`);
    const { stats, counts } = summary;
    const attributed = counts.proc + counts.cache + counts.lineage + counts.label;
    const seconds = Math.max(1e-3, (Date.now() - started) / 1000);
    io.stdout.write(
      `records ${stats.records}, attributed ${attributed}, unattributed ${stats.records - attributed}, ` +
        `lost-record signals ${stats.lostSignals}, malformed lines ${stats.malformed}, foreign lines ${stats.foreign}, distinct syscalls ${summary.newKeys}, ` +
        `${withThousands(Math.round(stats.records / seconds))} records/s\n`,
    );
    return failed > 0 ? 1 : 0;
  },
};

/**
 * 1234567 as "1,234,567". Not toLocaleString: its first use loads ICU's locale data, ~13 ms of
 * every ingest's end.
 */
function withThousands(n: number): string {
  const digits = String(n);
  let out = '';
  for (let i = 0; i < digits.length; i++) {
    if (i > 0 && (digits.length - i) % 3 === 0 && digits[i - 1] !== '-') out += ',';
    out += digits[i];
  }
  return out;
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function progressBar(share: number): string {
  const width = 30;
  const full = Math.round(share * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${(share * 100).toFixed(0).padStart(3)}%`;
}
