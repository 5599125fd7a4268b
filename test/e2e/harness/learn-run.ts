/**
 * Scenario 1's learning run, shared by the audit-group and auditd variants: two pods of different
 * images run at once under a log-everything profile while the daemon watches; the kernel's own
 * records (read beside the daemon) are the ground truth its answers are compared with.
 */
import type { OciProfile } from '../../../src/profile/oci-profile.js';
import type { DaemonProcess } from './daemon-process.js';
import { kernelRecords, podTruth, type PodTruth } from './kernel-truth.js';
import type { Recorded } from './kmsg-recorder.js';
import type { KubeletNode, PodContainer } from './kubelet-node.js';
import type { OciRuntime, RunResult } from './oci-runtime.js';
import { newId, unattributedByExe, type PodsAnswer } from './scenario.js';
import { batchJob, webServer, type Workload } from './workloads.js';

export interface LearnedPod {
  container: PodContainer;
  workload: Workload;
  run: RunResult;
  truth: PodTruth;
  /** records the daemon attributed to the container */
  attributed: number;
  /** records of the pod's image the daemon could not attribute */
  unattributed: number;
}

export interface LearnRun {
  pods: LearnedPod[];
  /** what the daemon listed for the namespace afterwards */
  listed: PodsAnswer;
  /** records the daemon (per its status) and the test's reader lost during the run */
  daemonLost: number;
  truthLost: number;
}

export interface LearnOptions {
  runtime: OciRuntime;
  node: KubeletNode;
  daemon: DaemonProcess;
  namespace: string;
  learningProfile: OciProfile;
  /** reads the records the kernel gave while fn runs: the audit group, /dev/kmsg, or auditd's log */
  record: (fn: () => Promise<void>) => Promise<Recorded>;
  batchIterations?: number;
  webRequests?: number;
}

export async function learnTwoPods(o: LearnOptions): Promise<LearnRun> {
  const batch = batchJob(o.batchIterations ?? 25);
  const web = webServer(o.webRequests ?? 15);
  const suffix = newId('').slice(4, 9);
  const batchPod = o.node.addContainer({ namespace: o.namespace, pod: `nightly-report-29112300-${suffix}`, container: 'report', driver: 'cgroupfs' });
  const webPod = o.node.addContainer({ namespace: o.namespace, pod: `web-7d4b9c6f8-${suffix}`, container: 'httpd', driver: 'systemd' });
  const lostBefore = await daemonLost(o.daemon);
  const unattributedBefore = await unattributedByExe(o.daemon);
  let runs: RunResult[] = [];
  const recorded = await o.record(async () => {
    runs = await Promise.all([
      o.runtime.run({ id: newId('learn-batch'), cgroupsPath: batchPod.cgroupsPath, args: batch.args, busybox: batch.busybox, seccomp: o.learningProfile }),
      o.runtime.run({ id: newId('learn-web'), cgroupsPath: webPod.cgroupsPath, args: web.args, busybox: web.busybox, seccomp: o.learningProfile }),
    ]);
  });
  const records = kernelRecords(recorded.records);
  const truths = [podTruth(records, batch), podTruth(records, web)];
  const containers = [batchPod, webPod];
  // the daemon is done once it holds as many records for the pods as the kernel gave, or stops
  // gaining (it commits every half second)
  let listed = await o.daemon.get<PodsAnswer>(`/api/v1/pods?namespace=${o.namespace}`).then((r) => r.body);
  for (let i = 0, last = -1, still = 0; i < 150 && still < 6; i++) {
    const total = containers.reduce((n, c) => n + recordsOf(listed, c), 0);
    if (total >= truths[0]!.total + truths[1]!.total) break;
    still = total === last ? still + 1 : 0;
    last = total;
    await new Promise((r) => setTimeout(r, 250));
    listed = await o.daemon.get<PodsAnswer>(`/api/v1/pods?namespace=${o.namespace}`).then((r) => r.body);
  }
  const unattributedAfter = await unattributedByExe(o.daemon);
  const workloads = [batch, web];
  return {
    pods: containers.map((c, i) => ({
      container: c, workload: workloads[i]!, run: runs[i]!, truth: truths[i]!, attributed: recordsOf(listed, c),
      unattributed: (unattributedAfter.get(workloads[i]!.busybox) ?? 0) - (unattributedBefore.get(workloads[i]!.busybox) ?? 0),
    })),
    listed,
    daemonLost: (await daemonLost(o.daemon)) - lostBefore,
    truthLost: recorded.lost,
  };
}

export function recordsOf(body: PodsAnswer, c: PodContainer): number {
  return body.items.find((p) => p.pod === c.pod)?.containers.find((k) => k.containerId === c.containerId)?.records ?? 0;
}

async function daemonLost(daemon: DaemonProcess): Promise<number> {
  const status = (await daemon.get<{ lost: { count: number }[] }>('/api/v1/status')).body;
  return status.lost.reduce((n, l) => n + l.count, 0);
}

/**
 * Runs learnTwoPods until a run where neither the daemon nor the test's reader lost a record
 * to the kernel, and no pod had exited wholly before the daemon read it (a loaded machine can overwrite the ring before either reads it; the product
 * reports such losses, and they make an exact comparison meaningless). Up to `attempts` runs.
 */
export async function learnWithoutLoss(o: LearnOptions, attempts: number, log: (s: string) => void): Promise<LearnRun> {
  let run!: LearnRun;
  for (let i = 1; i <= attempts; i++) {
    run = await learnTwoPods(o);
    // a daemon reading auditd's log on its main thread can be a second behind on a loaded
    // machine: a pod whose every process is gone by then is counted unattributed (exited)
    const gone = run.pods.filter((p) => p.attributed === 0 && p.unattributed > 0);
    if (run.daemonLost === 0 && run.truthLost === 0 && gone.length === 0) return run;
    if (gone.length > 0) log(`learning run ${i}: ${gone.map((p) => p.container.pod).join(', ')} had exited before the daemon read its records (${gone.map((p) => p.unattributed).join(', ')} unattributed); running again`);
    else log(`learning run ${i}: the kernel overwrote records before they were read (daemon lost ${run.daemonLost}, test reader lost ${run.truthLost}); running again`);
  }
  return run;
}
