import { typeMarkerAt } from './line-markers.js';
import type { RelayTrust } from './record-framing.js';
import type { ParseStats, RecordHandler } from './record-handler.js';
import { SeccompLineParser } from './seccomp-line-parser.js';

const NL = 0x0a;
const EQ = 0x3d;
const LBRACE = 0x7b;
const SP = 0x20;
/**
 * The fast path reads at most this far ahead, and only where the chunk has that much left: reads
 * past a typed array's end would deoptimise the parser (the last lines of a chunk take the
 * general path).
 */
const FAST_WINDOW = 16 * 1024;
const AUDIT = Buffer.from('audit');
const SECCOMP = Buffer.from('SECCOMP');

function search(chunk: Buffer, needle: Buffer, from: number): number {
  const at = chunk.indexOf(needle, from);
  return at < 0 ? Infinity : at;
}
/** Lines a run reader that read nothing waits at most before it is asked again. */
const MAX_RUNS_BACKOFF = 1024;
/** Longer lines are cut: no seccomp record comes near it, and a stream without newlines must not grow memory. */
const MAX_LINE_BYTES = 64 * 1024;

/**
 * Splits a byte stream (file chunks, stdin) into lines and hands the interesting ones to the
 * line parser.
 *
 * Why it is fast: instead of searching each line for each marker, it remembers where each
 * marker next occurs in the chunk (one native `indexOf` per marker, repeated only after that
 * occurrence has been passed). A line that holds no marker costs one `indexOf` for its newline
 * and one comparison; a record line costs its field parse and one marker search.
 */
/**
 * Reads a run of record lines on the parser's behalf and delivers them itself (the ingest's
 * packer, with native code: see src/ingest/record-scan-addon.ts). It must read exactly as the
 * parser would: whatever it leaves, the parser reads.
 */
export interface RunReader {
  /**
   * Reads lines from `pos` (a line's start) on, each ending before `end`; returns where it
   * stopped (`pos` when it read none), and sets `records` and `skipped` to what it read.
   */
  readRun(chunk: Buffer, pos: number, end: number): number;
  readonly records: number;
  readonly skipped: number;
}

export class RecordStreamParser {
  readonly #lines: SeccompLineParser;
  readonly #runs: RunReader | null;
  #runsBackoff = 0;
  /** the line count from which the run reader is asked again */
  #askRunsAt = 0;
  #carry: Buffer | null = null;
  #overlong = false;
  #lineNo = 0;
  /** Offset of `type=`'s '=' in the last record line, where the next one likely has it too. */
  #guess = 0;

  constructor(options: { handler: RecordHandler; now?: () => number; trust?: RelayTrust; runs?: RunReader }) {
    this.#lines = new SeccompLineParser(options);
    this.#runs = options.runs ?? null;
  }

  get stats(): ParseStats {
    return this.#lines.stats;
  }

  /** Lines seen so far (a line is counted when its newline, or the input's end, is). */
  get lineCount(): number {
    return this.#lineNo;
  }



  push(chunk: Buffer): void {
    let pos = 0;
    if (this.#carry !== null || this.#overlong) {
      const nl = chunk.indexOf(NL);
      if (nl < 0) { this.#hold(chunk, 0); return; }
      this.#finishCarried(chunk, nl);
      pos = nl + 1;
    }
    const len = chunk.length;
    const lines = this.#lines;
    const lineNo = this.#lineNo;
    // Positions of the next "audit" and "SECCOMP" in the chunk: every line worth parsing holds
    // one of the two, so lines before them are skipped with one comparison. Each is searched
    // again only once passed (a needle that is absent is never searched twice in a chunk).
    // `hit` -1 means "the last line held a hit": the next line is first tried with the cheap
    // '=' check below, since record lines tend to follow each other.
    let nextAudit = -1, nextSeccomp = -1;
    let hit = -1;
    let n = lineNo;
    const runs = this.#runs;
    while (pos < len) {
      if (runs !== null && hit < 0 && n >= this.#askRunsAt) {
        const after = runs.readRun(chunk, pos, len);
        if (after > pos) {
          const stats = lines.stats;
          n += runs.records + runs.skipped;
          stats.lines += runs.records + runs.skipped;
          stats.records += runs.records;
          stats.skipped += runs.skipped;
          pos = after;
          this.#runsBackoff = 0;
          continue;
        }
        // The line here is not for it: this parser reads it, and the reader is asked again after
        // it, or after twice as many lines each time it reads none (a kernel log's lines are
        // never its own: a wasted call each would cost more than the lines it reads).
        this.#runsBackoff = Math.min(MAX_RUNS_BACKOFF, this.#runsBackoff * 2 || 1);
        this.#askRunsAt = n + this.#runsBackoff;
      }
      if (hit < 0 && pos + FAST_WINDOW < len) {
        // A record line like the last one: auditd's lines start with `type=`, a kernel log's
        // have it at the same offset as the line before (a source's prefix has a steady
        // length). Such a line is parsed without first looking for its newline.
        const eq = chunk[pos + 4] === EQ ? pos + 4 : pos + this.#guess;
        if (eq > pos && chunk[eq] === EQ && chunk[pos] !== LBRACE && chunk[pos] !== SP) {
          const kind = typeMarkerAt(chunk, eq);
          if (kind >= 0) {
            const done = lines.tryRecordLine(chunk, pos, kind, eq - 4, pos + FAST_WINDOW, n + 1);
            if (done >= 0) {
              n++;
              pos = done + 1;
              continue;
            }
          }
        }
      }
      const nl = chunk.indexOf(NL, pos);
      if (nl < 0) { this.#hold(chunk, pos); break; }
      n++;
      const end = nl - pos > MAX_LINE_BYTES ? pos + MAX_LINE_BYTES : nl;
      if (hit < nl) {
        // kernel and auditd lines: the first '=' is the one of `type=`, and what follows names
        // the record type; one memchr classifies the line without a substring search
        const eq = chunk.indexOf(EQ, pos);
        if (eq >= pos + 4 && eq < end && chunk[eq - 1] === 0x65 && chunk[eq - 2] === 0x70 && chunk[eq - 3] === 0x79 && chunk[eq - 4] === 0x74) {
          const kind = typeMarkerAt(chunk, eq);
          if (kind >= 0) {
            lines.parseMarked(chunk, pos, end, kind, eq - 4, n);
            this.#guess = eq - pos;
          }
          else if (chunk[pos] === LBRACE) lines.parseLine(chunk, pos, end, n);
          else { lines.stats.lines++; lines.stats.skipped++; }
          hit = -1;
          pos = nl + 1;
          continue;
        }
        if (hit < 0) {
          if (nextAudit < pos) nextAudit = search(chunk, AUDIT, pos);
          if (nextSeccomp < pos) nextSeccomp = search(chunk, SECCOMP, pos);
          hit = nextAudit < nextSeccomp ? nextAudit : nextSeccomp;
        }
      }
      if (hit >= nl) {
        lines.stats.lines++;
        lines.stats.skipped++;
      } else {
        // a rarer form (journald, signals): the line parser searches its markers within the line
        lines.parseLine(chunk, pos, end, n);
        hit = -1;
      }
      pos = nl + 1;
    }
    this.#lineNo = n;
  }

  /** The input is over: a last line without a newline is still a line. */
  end(): void {
    const carry = this.#carry;
    this.#carry = null;
    this.#overlong = false;
    if (carry !== null && carry.length > 0) {
      this.#lineNo++;
      this.#lines.parseLine(carry, 0, carry.length, this.#lineNo);
    }
  }

  /** Keeps an unfinished line; beyond MAX_LINE_BYTES only its start is kept. */
  #hold(chunk: Buffer, from: number): void {
    if (this.#overlong) return;
    const have = this.#carry?.length ?? 0;
    const room = MAX_LINE_BYTES - have;
    const part = chunk.subarray(from, from + Math.max(0, room));
    this.#carry = this.#carry === null ? Buffer.from(part) : Buffer.concat([this.#carry, part]);
    if (chunk.length - from > room) this.#overlong = true;
  }

  /** The line held from earlier chunks ends at `chunk[nl]`. */
  #finishCarried(chunk: Buffer, nl: number): void {
    this.#hold(chunk.subarray(0, nl), 0);
    const line = this.#carry!;
    this.#carry = null;
    this.#overlong = false;
    this.#lineNo++;
    this.#lines.parseLine(line, 0, line.length, this.#lineNo);
  }
}
