/**
 * Issue 12's first "done when", on the real kernel: a pod learned through /dev/kmsg at the stock
 * printk rate limit (the daemon sees at most 10 of its records, the kernel reports the rest as
 * suppressed only with the next record it prints, seconds later) gets no unmarked profile: the
 * profile route answers 409 SA_PROFILE_INCOMPLETE, and ?allowIncomplete=true returns it marked.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { DaemonProcess } from '../e2e/harness/daemon-process.js';
import { KubeNode } from '../helpers/kube-node.js';
import { buildSeccompLog, makeTempDir, requireRealKernel, withStockPrintkRatelimit } from '../helpers/real-kernel.js';

t.test('a pod learned through /dev/kmsg at the stock rate limit: the profile route answers 409', async (t) => {
  if (!requireRealKernel(t)) return;
  const seccompLog = await buildSeccompLog();
  const node = new KubeNode(makeTempDir('sa-incomplete-logs-'));
  t.teardown(() => node.cleanup());
  const c = node.addContainer({ namespace: 'shop', pod: 'busy-6c9d7', container: 'busybox', driver: 'systemd' });
  await withStockPrintkRatelimit(async () => {
    const daemon = await DaemonProcess.start(['--source', 'kmsg', '--db', join(makeTempDir('sa-incomplete-db-'), 'node.db'), '--kubelet-seccomp-dir', 'none', '--log-dir', node.logRoot]);
    t.teardown(() => daemon.kill());
    // a rate-limit interval begun before this test must end: the pod's records then open a fresh one
    await new Promise((r) => setTimeout(r, 5500));
    const pod = spawnSync('/bin/sh', ['-c', `${KubeNode.enter(c)} && exec ${seccompLog} -- /bin/sh -c 'i=0; while [ $i -lt 40 ]; do /bin/true; i=$((i+1)); done'`], { stdio: 'ignore' });
    t.equal(pod.status, 0, 'the pod ran');
    const profile = `/api/v1/namespaces/shop/pods/${c.pod}/profile`;
    interface Explained { explain: { learned: { records: number; complete: boolean; losses: { count: number }[] } } }
    const lostInWindow = (e: Explained): number => e.explain.learned.losses.reduce((n, l) => n + l.count, 0);
    // what got through is committed; the pod's own burst is not known lost yet (a suppression
    // the kernel reports with the pod's first record, from before it, may already overlap)
    const before = lostInWindow(await daemon.until<Explained>(`${profile}?allowIncomplete=true&explain=true`, (e) => e.explain.learned.records > 0));
    // the kernel prints the suppression count with its first record after the interval: another
    // program's, outside the pod, seconds after the pod's last record
    await new Promise((r) => setTimeout(r, 5000));
    spawnSync(seccompLog, ['--', '/bin/true'], { stdio: 'ignore' });
    const after = await daemon.until<Explained>(`${profile}?allowIncomplete=true&explain=true`, (e) => lostInWindow(e) > before);
    t.ok(lostInWindow(after) - before > 40, `the late count is charged to the pod's window (${before} then ${lostInWindow(after)} lost records overlap it)`);

    const refused = await daemon.get<{ code: string; message: string }>(profile);
    t.equal(refused.status, 409, `refused: ${JSON.stringify(refused.body).slice(0, 500)}`);
    t.equal(refused.body.code, 'SA_PROFILE_INCOMPLETE');
    t.match(refused.body.message, /records lost by kmsg \(printk_suppressed\)/);
    t.match(refused.body.message, /CAP_AUDIT_READ/);

    const res = await fetch(`${daemon.url}${profile}?allowIncomplete=true&explain=true`);
    t.equal(res.status, 200);
    t.equal(res.headers.get('x-learned-complete'), 'false', 'taken anyway, marked');
    t.match(res.headers.get('x-learned-lost'), /^kmsg\/printk_suppressed=\d+$/);
    const body = await res.json() as Explained;
    t.ok(body.explain.learned.records <= 10, `the daemon saw at most the burst of 10 (${body.explain.learned.records})`);
    t.equal(body.explain.learned.complete, false);
  });
});
