/**
 * The workload a pod belongs to, from its name alone (when the Kubernetes API is not there to
 * say): controllers name pods with suffixes drawn from a fixed alphabet (k8s.io/apimachinery's
 * rand.String: consonants and digits without vowels or look-alikes).
 *   Deployment  web-7d9f8b6c4-x2k4p  → web        (ReplicaSet hash, then pod suffix)
 *   DaemonSet   agent-x2k4p          → agent
 *   Job         report-28339410-x2k4p → report-28339410 (a CronJob's Job keeps its own name)
 *   StatefulSet db-0                 → db
 */
const SAFE = '[bcdfghjklmnpqrstvwxz2456789]';
const DEPLOYMENT = new RegExp(`^(.+)-${SAFE}{6,10}-${SAFE}{5}$`);
const GENERATED = new RegExp(`^(.+)-${SAFE}{5}$`);
const ORDINAL = /^(.+)-\d+$/;

export function workloadNameOf(pod: string): string {
  const deployment = DEPLOYMENT.exec(pod);
  if (deployment) return deployment[1]!;
  const generated = GENERATED.exec(pod);
  if (generated) return generated[1]!;
  const ordinal = ORDINAL.exec(pod);
  if (ordinal) return ordinal[1]!;
  return pod;
}
