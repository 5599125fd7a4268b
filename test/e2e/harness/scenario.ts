/** What the scenarios share: the learning profile, container ids, and reading the daemon's API. */
import { randomBytes } from 'node:crypto';
import type { OciProfile } from '../../../src/profile/oci-profile.js';
import type { DaemonProcess } from './daemon-process.js';
import type { PodContainer } from './kubelet-node.js';

/** What a learning pod runs under: everything allowed, everything logged (native arch only here). */
export const LOG_ALL: OciProfile = { defaultAction: 'SCMP_ACT_LOG', architectures: ['SCMP_ARCH_X86_64'], syscalls: [] };

export function newId(prefix: string): string {
  return `sa-${prefix}-${randomBytes(4).toString('hex')}`;
}

export interface PodsAnswer {
  items: { namespace: string; pod: string; podUid: string; containers: { name: string; containerId: string; syscalls: number; records: number }[] }[];
}

interface SyscallsAnswer {
  containers: { name: string; containerId: string; syscalls: { name: string | null; nr: number; action: string; count: number }[] }[];
}

/** Names of the syscalls the daemon holds for one container. */
export async function syscallNamesOf(daemon: DaemonProcess, c: PodContainer): Promise<Set<string>> {
  const r = await daemon.get<SyscallsAnswer>(`/api/v1/namespaces/${c.namespace}/pods/${c.pod}/syscalls`);
  const mine = r.body.containers.find((k) => k.containerId === c.containerId);
  return new Set((mine?.syscalls ?? []).map((s) => s.name ?? String(s.nr)));
}

/** Unattributed records per executable, summed over reasons. */
export async function unattributedByExe(daemon: DaemonProcess): Promise<Map<string, number>> {
  const r = await daemon.get<{ items: { exe: string | null; count: number }[] }>('/api/v1/unattributed');
  const out = new Map<string, number>();
  for (const u of r.body.items) out.set(u.exe ?? '', (out.get(u.exe ?? '') ?? 0) + u.count);
  return out;
}
