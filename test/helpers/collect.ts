import { RecordStreamParser } from '../../src/parse/record-stream-parser.js';
import type { RelayTrust } from '../../src/parse/record-framing.js';
import type { RecordHandler } from '../../src/parse/record-handler.js';
import { archName, syscallName } from '../../src/syscalls/syscall-table.js';
import type { LostSignalKind, SeccompRecordData } from '../../src/types/seccomp-record.js';

export interface Collected {
  records: (SeccompRecordData & { line: number; arch: string | null; syscall: string | null })[];
  signals: { kind: LostSignalKind; count: number; line: number }[];
  malformed: { line: number; reason: string; excerpt: string }[];
  stats: RecordStreamParser['stats'];
}

/**
 * Parses `input` (split into chunks of `chunkSize` bytes to exercise lines across chunks), trusting
 * the relays in `trust`.
 */
export function collect(input: string | Buffer, chunkSize = 1 << 20, now?: () => number, trust?: RelayTrust): Collected {
  const out: Collected = { records: [], signals: [], malformed: [], stats: undefined as never };
  const handler: RecordHandler = {
    onRecord(rec, line) {
      const data = rec.snapshot();
      out.records.push({
        ...data,
        line,
        arch: data.auditArch === null ? null : archName(data.auditArch, data.syscallNr ?? 0),
        syscall: data.auditArch === null || data.syscallNr === null ? null : syscallName(data.auditArch, data.syscallNr),
      });
    },
    onLostSignal(kind, count, line) {
      out.signals.push({ kind, count, line });
    },
    onMalformed(line, reason, excerpt) {
      out.malformed.push({ line, reason, excerpt });
    },
  };
  const parser = new RecordStreamParser({ handler, ...(now ? { now } : {}), ...(trust ? { trust } : {}) });
  const buf = typeof input === 'string' ? Buffer.from(input) : input;
  for (let i = 0; i < buf.length; i += chunkSize) parser.push(buf.subarray(i, i + chunkSize));
  parser.end();
  out.stats = parser.stats;
  return out;
}
