import type { FlushBatch, SyscallDelta, WorkloadRow } from '../../src/types/flush-batch.js';

/** Builders for FlushBatch parts: each test names only the fields it is about. */

export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const AUDIT_ARCH_I386 = 0x40000003;

/** The source and workload store-writer.ts commits to. */
export const WRITER_SOURCE = 'writer';
export const WRITER_WORKLOAD = 'container:' + 'feed'.padStart(64, '0');

export function containerKey(n: number): string {
  return `container:${n.toString(16).padStart(64, '0')}`;
}

export function workload(key: string, fields: Partial<WorkloadRow> = {}): WorkloadRow {
  const container = key.startsWith('container:');
  return {
    key,
    kind: container ? 'container' : 'host',
    containerId: container ? key.slice('container:'.length) : null,
    podUid: null,
    namespace: null,
    pod: null,
    container: null,
    runtime: container ? 'containerd' : null,
    qos: null,
    unit: container ? null : key.slice('unit:'.length),
    node: 'node-1',
    firstSeen: 1000,
    lastSeen: 1000,
    ...fields,
  };
}

export function syscall(workloadKey: string, syscallNr: number, fields: Partial<SyscallDelta> = {}): SyscallDelta {
  return {
    workload: workloadKey,
    auditArch: AUDIT_ARCH_X86_64,
    syscallNr,
    action: 'log',
    count: 1,
    firstSeen: 1000,
    lastSeen: 1000,
    comm: 'nginx',
    exe: '/usr/sbin/nginx',
    ...fields,
  };
}

export function batch(parts: Partial<FlushBatch> = {}): FlushBatch {
  return { workloads: [], syscalls: [], executables: [], unattributed: [], lost: [], positions: [], ...parts };
}
