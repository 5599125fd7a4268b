import { once } from 'node:events';
import { RecordStreamParser } from '../parse/record-stream-parser.js';
import type { RecordHandler } from '../parse/record-handler.js';
import { inputChunks, InputError } from '../sources/input-chunks.js';
import { archName, syscallName } from '../syscalls/syscall-table.js';
import { ABSENT, type LostSignalKind, type SeccompRecordView } from '../types/seccomp-record.js';
import type { Command, CommandIo } from './command.js';
import { formatOptions, parseCommandLine, type OptionTable } from './options.js';
import { relayTrustOf, TRUST_RELAY_OPTION } from './relay-trust-option.js';

const OPTIONS = {
  'max-errors': {
    type: 'string',
    value: 'N',
    default: '20',
    description: 'malformed lines reported one by one on stderr before only counting them',
  },
  'trust-relay': TRUST_RELAY_OPTION,
} satisfies OptionTable;

/** Output is written in blocks: one write per record would make the command syscall-bound. */
const FLUSH_BYTES = 256 * 1024;

export const parseCommand: Command = {
  name: 'parse',
  summary: 'print seccomp audit records from logs as NDJSON, with syscall names',
  help: () => `Usage: seccomp-auditor parse [FILE...] [options]

Reads seccomp audit records in any form the kernel, auditd or journald write them (/dev/kmsg
dumps, dmesg, syslog/kern.log, audit.log raw or enriched, journalctl -o json, ausearch -i
output; gzip too) from FILEs, or stdin when there is none or FILE is '-', and prints one JSON
object per record. Syscall names come from the record's own arch, not from this machine.
Other lines are skipped; a summary goes to stderr. A record counts only in the framing the
kernel or auditd writes it in (at the start of a kernel message, of an audit.log line, of a
journal entry of the kernel or audit transport): one inside another program's line is counted
as foreign.

Options:
${formatOptions(OPTIONS)}

Output keys: time (ms since the epoch), serial, pid, comm, exe, arch, auditArch, syscallNr,
syscall (null when unknown), compat, action, code, uid, gid, auid, ses, sig, subj, ip.
`,
  async run(argv: string[], io: CommandIo): Promise<number> {
    const { values, positionals } = parseCommandLine(argv, OPTIONS, io.env);
    const maxErrors = Number(values['max-errors']);
    const trust = relayTrustOf(values['trust-relay']);
    const inputs = positionals.length === 0 ? ['-'] : positionals;
    const out = new BlockWriter(io.stdout);
    const lost = new Map<LostSignalKind, number>();
    let currentInput = '';
    let reported = 0;
    const handler: RecordHandler = {
      onRecord(rec) {
        out.write(recordJson(rec));
      },
      onLostSignal(kind, count) {
        lost.set(kind, (lost.get(kind) ?? 0) + count);
      },
      onMalformed(lineNo, reason, excerpt) {
        if (reported++ < maxErrors) io.stderr.write(`${currentInput}:${lineNo}: malformed seccomp record (${reason}): ${excerpt}\n`);
      },
    };
    const totals = { lines: 0, records: 0, skipped: 0, malformed: 0, lostSignals: 0, foreign: 0 };
    let failed = 0;
    for (const input of inputs) {
      currentInput = input === '-' ? '<stdin>' : input;
      const parser = new RecordStreamParser({ handler, trust });
      try {
        for await (const chunk of inputChunks(input, io.stdin)) {
          parser.push(chunk);
          if (out.pending >= FLUSH_BYTES) await out.flush();
          if (out.closed) break;
        }
        parser.end();
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        io.stderr.write(`seccomp-auditor parse: ${err.message}\n`);
        failed++;
      }
      for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += parser.stats[k];
      if (out.closed) break;
    }
    await out.flush();
    if (reported > maxErrors) io.stderr.write(`... ${reported - maxErrors} more malformed lines not shown\n`);
    const lostText = [...lost].map(([k, n]) => `${k} ${n}`).join(', ');
    io.stderr.write(
      `records ${totals.records}, skipped lines ${totals.skipped}, malformed lines ${totals.malformed}, foreign lines ${totals.foreign}, ` +
        `lost-record signals ${totals.lostSignals}${lostText ? ` (${lostText})` : ''}\n`,
    );
    return failed > 0 ? 1 : 0;
  },
};

function recordJson(r: SeccompRecordView): string {
  const arch = r.auditArch === ABSENT ? null : archName(r.auditArch, r.syscallNr);
  return JSON.stringify({
    time: n(r.time),
    serial: n(r.serial),
    pid: n(r.pid),
    comm: r.comm(),
    exe: r.exe(),
    arch,
    auditArch: r.auditArch === ABSENT ? null : r.auditArch.toString(16).padStart(8, '0'),
    syscallNr: n(r.syscallNr),
    syscall: r.auditArch === ABSENT ? null : syscallName(r.auditArch, r.syscallNr),
    compat: r.compat === ABSENT ? null : r.compat !== 0,
    action: r.action,
    code: r.code === ABSENT ? null : `0x${r.code.toString(16)}`,
    uid: n(r.uid),
    gid: n(r.gid),
    auid: n(r.auid),
    ses: n(r.ses),
    sig: n(r.sig),
    subj: r.subj(),
    ip: r.ip(),
  }) + '\n';
}

function n(v: number): number | null {
  return v === ABSENT ? null : v;
}

/** Collects output and writes it in blocks; stops quietly when the reader went away (`| head`). */
class BlockWriter {
  #parts: string[] = [];
  #pending = 0;
  closed = false;

  constructor(readonly stream: NodeJS.WritableStream) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') this.closed = true;
    });
  }

  get pending(): number {
    return this.#pending;
  }

  write(s: string): void {
    if (this.closed) return;
    this.#parts.push(s);
    this.#pending += s.length;
  }

  async flush(): Promise<void> {
    if (this.#parts.length === 0 || this.closed) return;
    const text = this.#parts.join('');
    this.#parts = [];
    this.#pending = 0;
    if (!this.stream.write(text)) await Promise.race([once(this.stream, 'drain'), once(this.stream, 'error')]).catch(() => {});
  }
}
