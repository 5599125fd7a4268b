import { createRequire } from 'node:module';

/** native/record-scan.c: auditd's SECCOMP lines in the kernel's field order, read into packed entries. */
export interface RecordScanAddon {
  /**
   * Reads the record lines from `pos` (a line's start) on, before `end`, into entries from
   * `entry`; returns where it stopped. out[0]: entries written; out[1]: lines skipped (auditd's
   * other record types).
   */
  scan(buf: Buffer, pos: number, end: number, numbers: Float64Array, ranges: Int32Array, entry: number, maxEntries: number, out: Int32Array): number;
}

/** The same from src/ingest (tsx) and dist/ingest (built). */
const ADDON_PATH = '../../build/Release/record_scan.node';

let loaded: RecordScanAddon | null | undefined;

/**
 * The addon, or null when it is not built: the JavaScript parser then reads every line, with
 * the same result, at about twice the parse thread's CPU (`npm install` builds it with node-gyp).
 */
export function recordScan(): RecordScanAddon | null {
  if (loaded === undefined) {
    try {
      loaded = createRequire(import.meta.url)(ADDON_PATH) as RecordScanAddon;
    } catch {
      loaded = null;
    }
  }
  return loaded;
}
