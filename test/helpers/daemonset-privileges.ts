/**
 * Runs a command with the privileges the DaemonSet grants, and no more: the container's
 * `capabilities.add` read from deploy/kubernetes/base/daemonset.yaml (so the test follows the
 * manifest), as a non-root uid that holds them as ambient capabilities, every other capability
 * out of the bounding set. Proves that the capabilities alone suffice, without uid 0's ownership
 * of host files.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from './paths.js';

export const NOBODY = 65534;

interface Container { name: string; securityContext?: { capabilities?: { add?: string[] } } }

export function daemonSetCapabilities(): string[] {
  const ds = parse(readFileSync(join(REPO_ROOT, 'deploy/kubernetes/base/daemonset.yaml'), 'utf8')) as { spec: { template: { spec: { containers: Container[] } } } };
  const c = ds.spec.template.spec.containers.find((x) => x.name === 'seccomp-auditor');
  if (c === undefined) throw new Error('daemonset.yaml has no seccomp-auditor container');
  return c.securityContext?.capabilities?.add ?? [];
}

/** `setpriv ...` words that run the rest as uid/gid 65534 with exactly the DaemonSet's capabilities. */
export function asDaemonSetUser(): string[] {
  const caps = daemonSetCapabilities().map((c) => `+${c.toLowerCase()}`).join(',');
  return ['setpriv', '--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups',
    '--inh-caps', `-all,${caps}`, '--ambient-caps', `-all,${caps}`, '--bounding-set', `-all,${caps}`];
}
