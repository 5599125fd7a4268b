import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { builtCli } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/real-kernel.js';
import { procWithSysctls } from '../doctor/node-tree.js';

interface LogLine { level?: number; event?: string; msg?: string; fix?: string }

/**
 * `run` with a proc root whose printk sysctls are given (the kernel's own are left alone): its
 * log lines up to `started`, then SIGTERM. The warning does not depend on /dev/kmsg opening.
 */
async function startLines(sources: string[], sysctls: Record<string, string>): Promise<LogLine[]> {
  const dir = makeTempDir('sa-run-kmsg-');
  const args = [builtCli(), 'run', '--listen', '127.0.0.1:0', '--db', join(dir, 'sa.db'), '--log-dir', '/nonexistent', '--kubelet-seccomp-dir', 'none',
    '--proc-root', procWithSysctls(sysctls), ...sources.flatMap((s) => ['--source', s])];
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: LogLine[] = [];
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not started within 15 s; stderr: ${stderr}; ${JSON.stringify(lines)}`)), 15_000);
    createInterface({ input: child.stdout }).on('line', (text) => {
      const line = JSON.parse(text) as LogLine;
      lines.push(line);
      if (line.event === 'started') { clearTimeout(timer); resolve(); }
    });
  });
  child.kill('SIGTERM');
  await once(child, 'exit');
  return lines;
}

t.test('run warns at start when it reads /dev/kmsg under printk\'s rate limit', async (t) => {
  const limited = await startLines(['kmsg'], {});
  const warning = limited.find((l) => l.event === 'kmsg_rate_limited');
  t.ok(warning, 'the warning is logged');
  t.equal(warning?.level, 40, 'at warn level');
  t.match(warning?.msg, /^reading \/dev\/kmsg with kernel\.printk_ratelimit=5, printk_ratelimit_burst=10: at most 10 records per 5 s reach \/dev\/kmsg; a fork burst loses ~99%/);
  t.match(warning?.msg, /; fix: read the kernel's audit multicast group instead: grant CAP_AUDIT_READ and the host's network namespace/);
  t.ok(limited.findIndex((l) => l.event === 'kmsg_rate_limited') < limited.findIndex((l) => l.event === 'started'), 'before the started line');

  const off = await startLines(['kmsg'], { printk_ratelimit: '0\n' });
  t.notOk(off.some((l) => l.event === 'kmsg_rate_limited'), 'no warning with the rate limit off');
  const other = await startLines(['-'], {});
  t.notOk(other.some((l) => l.event === 'kmsg_rate_limited'), 'no warning for a source that is not /dev/kmsg');
});
