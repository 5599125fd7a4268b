import type { LostSignalKind, SeccompRecordView } from '../types/seccomp-record.js';

/** Where the parser delivers what it found. `lineNo` counts from 1 within the input. */
export interface RecordHandler {
  /** A seccomp record; `rec` is only valid during the call (see SeccompRecordView). */
  onRecord(rec: SeccompRecordView, lineNo: number): void;
  /** The kernel said records were lost; `count` is 1 for events that carry no number. */
  onLostSignal(kind: LostSignalKind, count: number, lineNo: number): void;
  /** A line that looks like a seccomp record but is broken; `excerpt` is its start, for the report. */
  onMalformed(lineNo: number, reason: string, excerpt: string): void;
}

/** What a parser has seen so far. */
export interface ParseStats {
  lines: number;
  records: number;
  skipped: number;
  malformed: number;
  lostSignals: number;
  /**
   * Lines holding a record (or a lost-records signal) in a framing the kernel does not write:
   * inside another program's message, under another syslog tag, from a user facility. Never
   * records, never malformed: see record-framing.ts.
   */
  foreign: number;
}
