import { join } from 'node:path';
import { auditNetlink, type KernelAuditStatus } from '../sources/audit-netlink.js';
import { RECOMMENDED_BACKLOG } from './audit-checks.js';
import { result, type CheckResult } from './doctor-report.js';
import { readSetting } from './kernel-checks.js';
import type { RecordRoute } from './record-route.js';


const GRANT_AUDIT_READ = 'grant CAP_AUDIT_READ (Kubernetes: capabilities.add: [AUDIT_READ]; systemd: CapabilityBoundingSet= and AmbientCapabilities= CAP_AUDIT_READ)';
const HOST_NETWORK = "run in the host's network namespace (Kubernetes: hostNetwork: true; systemd: no PrivateNetwork=)";

export interface AuditChannelOptions {
  procRoot: string;
  /** the daemon will read the group (--source audit, or its default): a fail when it cannot */
  needed: boolean;
  /** the receive buffer asked for (--audit-rcvbuf) */
  rcvbufBytes: number;
  /** the kernel's audit counters (AUDIT_GET, needs CAP_AUDIT_CONTROL); default: the addon's */
  kernelStatus?: () => KernelAuditStatus;
}

/**
 * The kernel's audit multicast group, the channel that carries every record: whether it can be
 * joined (CAP_AUDIT_READ), whether it delivers here (the canary's record; only the host's initial
 * network namespace receives), the receive buffer obtained against net.core.rmem_max (what a
 * burst may queue while the reader is off the CPU), and the kernel's own lost counter.
 */
export function checkAuditChannel(route: RecordRoute, options: AuditChannelOptions): CheckResult {
  const name = 'audit-channel';
  const probe = route.audit;
  const status = options.needed ? 'fail' : 'warn';
  const unused = options.needed ? '' : ' (the daemon does not read it now)';
  switch (probe.state) {
    case 'refused':
      if (probe.code === 'EPERM') {
        return result(name, status, `cannot join the kernel's audit multicast group: permission denied (EPERM), CAP_AUDIT_READ is missing${unused}`, GRANT_AUDIT_READ);
      }
      if (probe.code === 'ADDON') return result(name, status, `${probe.detail}${unused}`, 'npm install in the package directory');
      return result(name, status, `cannot join the kernel's audit multicast group (${probe.code ?? 'error'}: ${probe.detail})${unused}`,
        probe.code === 'EPROTONOSUPPORT' ? 'a kernel built with CONFIG_AUDIT, or run auditd and read its log' : null);
    case 'deaf':
      return result(name, status, `joined the kernel's audit multicast group, but ${probe.detail}${unused}`, HOST_NETWORK);
    case 'unproven':
      return result(name, 'warn', `joined the kernel's audit multicast group, but whether it delivers here is unproven: ${probe.detail}`, null);
    case 'works':
      break;
  }
  const parts = [`joined the kernel's audit multicast group; the canary's record arrived in ${probe.latencyMs} ms (host network namespace, seccomp logging on)`];
  let verdict: 'ok' | 'warn' = 'ok';
  let fix: string | null = null;
  const rmemMax = readSetting(join(options.procRoot, 'sys/net/core/rmem_max'));
  const rmem = `net.core.rmem_max=${rmemMax ?? '? (not visible from this network namespace)'}`;
  if (probe.rcvbufForced) {
    parts.push(`receive buffer ${probe.rcvbuf} bytes, past ${rmem} (CAP_NET_ADMIN)`);
  } else if (probe.rcvbuf < options.rcvbufBytes) {
    // the kernel doubles what SO_RCVBUF asks for, after capping it at rmem_max. Not a warning:
    // the source's receive thread empties the socket into its own ring (--audit-buffer) at once,
    // which held a 53 007-record burst under load; an overrun is still counted, never hidden
    parts.push(`receive buffer ${probe.rcvbuf} bytes of ${options.rcvbufBytes} asked (--audit-rcvbuf), capped by ${rmem} (a receive thread moves records on into --audit-buffer; if /api/v1/status ever shows socket_overrun losses: sysctl -w net.core.rmem_max=${options.rcvbufBytes})`);
  } else {
    parts.push(`receive buffer ${probe.rcvbuf} bytes (${rmem})`);
  }
  try {
    const kernel = (options.kernelStatus ?? (() => auditNetlink().status()))();
    if (kernel.lost > 0) {
      verdict = 'warn';
      parts.push(`the kernel's audit_lost is ${kernel.lost}: it dropped that many audit records since boot (backlog ${kernel.backlog} of ${kernel.backlogLimit}), before any reader`);
      fix ??= `auditctl -b ${RECOMMENDED_BACKLOG} (and -b ${RECOMMENDED_BACKLOG} in /etc/audit/rules.d/ to keep it)`;
    } else {
      parts.push(`the kernel's audit_lost is 0`);
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    parts.push(code === 'EPERM'
      ? "the kernel's audit_lost is not readable without CAP_AUDIT_CONTROL (the daemon does not hold it either: records the kernel drops before the group are not counted)"
      : `the kernel's audit_lost could not be read (${(err as Error).message})`);
  }
  return result(name, verdict, parts.join('; '), fix);
}
