/**
 * The tests' own reader of the kernel's audit multicast group (audit-recorder.c): ground truth
 * that does not go through the product's addon or parser.
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { makeTempDir } from './real-kernel.js';

const SOURCE = fileURLToPath(new URL('./audit-recorder.c', import.meta.url));

export interface AuditRecorded {
  /** `type=1326 audit(...): fields` lines, as the kernel's records came */
  records: string[];
  /** messages the kernel dropped for the recorder's socket (from /proc/net/netlink) */
  lost: number;
}

let binary: Promise<string> | undefined;

export function buildAuditRecorder(): Promise<string> {
  binary ??= (async () => {
    const out = path.join(makeTempDir('audit-recorder-'), 'audit-recorder');
    await promisify(execFile)('cc', ['-O2', '-Wall', '-o', out, SOURCE]).catch((err: { stderr?: string; message: string }) => {
      throw new Error(`compiling ${SOURCE} failed: ${err.stderr || err.message}`);
    });
    return out;
  })();
  return binary;
}

/** Records the kernel's seccomp records from the audit group while fn runs. */
export async function recordAudit(fn: () => Promise<void>): Promise<AuditRecorded> {
  // into a file, not a pipe: a test that holds its event loop (spawnSync) would leave a pipe
  // unread, the recorder would block on it and its socket overflow
  const file = path.join(makeTempDir('audit-recorded-'), 'records');
  const out = openSync(file, 'w');
  const child = spawn(await buildAuditRecorder(), [], { stdio: ['ignore', out, 'pipe'] });
  closeSync(out);
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { err += s; });
  try {
    while (!err.includes('ready\n')) {
      if (child.exitCode !== null) throw new Error(`the audit recorder exited (${child.exitCode}): ${err}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    await fn();
  } finally {
    child.kill('SIGTERM');
  }
  await once(child, 'close');
  const lines = readFileSync(file, 'latin1').split('\n');
  const last = [...lines].reverse().find((l) => l.startsWith('# lost '));
  return { records: lines.filter((l) => l.startsWith('type=1326 ')), lost: last === undefined ? -1 : Number(last.slice(7)) };
}
