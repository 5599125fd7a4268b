/**
 * /dev/kmsg on a stock node (issue 11): printk's rate limit (10 records per 5 s) drops most of a
 * burst before any reader sees it. The kmsg source cannot have those records, but it must not
 * report silently fewer: the kernel's `kauditd_printk_skb: N callbacks suppressed`, printed with
 * the first record after the interval, is counted as lost (printk_suppressed), so that records
 * read + lost = what the kernel made (an independent reader of the audit group counts those).
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { recordAudit } from '../helpers/audit-recorder.js';
import { buildSeccompLog, makeTempDir, requireRealKernel, withStockPrintkRatelimit } from '../helpers/real-kernel.js';
import { DaemonProcess } from '../e2e/harness/daemon-process.js';

interface Status { sources: { name: string; records?: number }[]; lost: { source: string; reason: string; count: number }[] }

t.test('kmsg at the stock rate limit: the suppressed records are counted lost, not silently missing', async (t) => {
  if (!requireRealKernel(t)) return;
  const seccompLog = await buildSeccompLog();
  await withStockPrintkRatelimit(async () => {
    const daemon = await DaemonProcess.start(['--source', 'kmsg', '--db', join(makeTempDir('sa-kmsg-stock-'), 'node.db'), '--kubelet-seccomp-dir', 'none']);
    t.teardown(() => daemon.kill());
    const read = async (): Promise<{ records: number; suppressed: number }> => {
      const s = (await daemon.get<Status>('/api/v1/status')).body;
      return {
        records: s.sources.find((x) => x.name === 'kmsg')?.records ?? 0,
        suppressed: s.lost.filter((l) => l.source === 'kmsg' && l.reason === 'printk_suppressed').reduce((n, l) => n + l.count, 0),
      };
    };
    // A rate-limit interval that began before this test (another test's records) must end, and
    // what it suppressed is reported with the next record printed: a first small run here takes
    // that report; its own records and the burst then share one fresh interval.
    await new Promise((r) => setTimeout(r, 5500));
    const before = await read();
    let suppressedBefore = 0;
    const recorded = await recordAudit(async () => {
      spawnSync(seccompLog, ['--', '/bin/true'], { stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, 500));
      suppressedBefore = (await read()).suppressed;
      const burst = spawnSync(seccompLog, ['--', '/bin/sh', '-c', 'i=0; while [ $i -lt 40 ]; do /bin/true; i=$((i+1)); done'], { stdio: 'ignore' });
      t.equal(burst.status, 0, 'the burst ran');
      await new Promise((r) => setTimeout(r, 1000));
    });
    const afterBurst = await read();
    // the kernel reports what it suppressed with the first record it prints after the interval
    await new Promise((r) => setTimeout(r, 5000));
    spawnSync(seccompLog, ['--', '/bin/true'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 1000));
    const after = await read();
    const records = afterBurst.records - before.records, suppressed = after.suppressed - suppressedBefore;
    t.equal(recorded.lost, 0, 'the independent reader lost nothing');
    t.ok(records <= 10, `/dev/kmsg passed at most a burst of 10 of the records (${records} of ${recorded.records.length})`);
    t.equal(afterBurst.suppressed, suppressedBefore, 'nothing is known lost until the kernel says so');
    t.ok(suppressed > recorded.records.length / 2, `the daemon counted the suppressed ones as lost once the kernel said so (${suppressed})`);
    t.equal(records + suppressed, recorded.records.length, `read (${records}) + lost (${suppressed}) = what the kernel made (${recorded.records.length})`);
  });
});
