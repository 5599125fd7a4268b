import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { SyscallStore } from '../dist/store/syscall-store.js';

/**
 * The live path under a burst: the built daemon follows /dev/kmsg while another process
 * injects `count` seccomp records through /dev/kmsg as fast as it can (one open per record:
 * the kernel rate-limits writes per open file). User space can only write the user facility
 * (PRI 12), so the daemon reads each as a foreign line, not a record: it counts them
 * (`foreignLines` of the kmsg source in /api/v1/status) after reading them through the same
 * path, which is what the burst measures, along with what it says it lost. Needs root.
 */
export async function kmsgBurstBench(count = 100_000): Promise<{ injected: number; counted: number; lost: number; ms: number } | { skipped: string }> {
  if (process.getuid?.() !== 0) return { skipped: 'needs root (writes to /dev/kmsg)' };
  const repo = fileURLToPath(new URL('..', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'sa-burst-'));
  const db = join(dir, 'burst.db');
  const emptyProc = mkdtempSync(join(tmpdir(), 'sa-burst-proc-'));
  try {
    const daemon = spawn(process.execPath, [join(repo, 'dist', 'cli.js'), 'run', '--source', 'kmsg', '--db', db, '--listen', '127.0.0.1:0', '--proc-root', emptyProc, '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const listen = await new Promise<string>((resolve) => {
      createInterface({ input: daemon.stdout! }).on('line', (l) => { if (l.includes('"event":"started"')) resolve((JSON.parse(l) as { listen: string }).listen); });
    });
    const tag = `burst${process.pid}`;
    const start = process.hrtime.bigint();
    // the writer is a process of its own, so the daemon competes for the CPU as it would on a node
    execFileSync(process.execPath, ['-e', `
      const fs = require('fs');
      for (let i = 0; i < ${count}; i++) {
        const fd = fs.openSync('/dev/kmsg', 'w');
        fs.writeSync(fd, '<12>audit: type=1326 audit(1795759595.000:' + i + '): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=' + (4000000 + (i % 7)) + ' comm="${tag}" exe="/bench" sig=0 arch=c000003e syscall=' + (i % 300) + ' compat=0 ip=0x7f0000001000 code=0x7ffc0000\\n');
        fs.closeSync(fd);
      }`]);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    // the reader thread reports its counts once a second: wait until they stop growing
    let counted = -1;
    for (let i = 0; i < 30; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      const status = await (await fetch(`http://${listen}/api/v1/status`)).json() as { sources: { name: string; foreignLines?: number }[] };
      const now = status.sources.find((s) => s.name === 'kmsg')?.foreignLines ?? 0;
      if (now === counted || now === count) { counted = now; break; }
      counted = now;
    }
    daemon.kill('SIGTERM');
    await once(daemon, 'exit');
    const store = SyscallStore.open({ path: db });
    // none of them may have become a record
    const stored = store.unattributedPage({ limit: 100_000 }).items.filter((u) => u.comm === tag).reduce((n, u) => n + u.count, 0);
    if (stored > 0) throw new Error(`${stored} user-written records were stored as records: the kmsg facility check failed`);
    const lost = store.lost().filter((l) => l.source === 'kmsg' && l.reason === 'overwritten').reduce((n, l) => n + l.count, 0);
    store.close();
    return { injected: count, counted, lost, ms };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(emptyProc, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await kmsgBurstBench(Number(process.argv[2] ?? 100_000))));
}
