import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export interface Recorded {
  records: string[];
  /** records the kernel overwrote before the recorder read them */
  lost: number;
}

const CHILD = fileURLToPath(new URL('./kmsg-recorder-child.ts', import.meta.url));

/** Records the kernel's records while fn runs (see kmsg-recorder-child.ts). */
export async function recordKmsg(fn: () => Promise<void>): Promise<Recorded> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => { out += s; });
  try {
    while (!out.includes('ready\n')) {
      if (child.exitCode !== null) throw new Error(`the kmsg recorder exited (${child.exitCode})`);
      await new Promise((r) => setTimeout(r, 10));
    }
    await fn();
  } finally {
    child.kill('SIGTERM');
  }
  await once(child, 'exit');
  const last = out.slice(out.indexOf('ready\n') + 6).trim();
  return JSON.parse(last) as Recorded;
}
