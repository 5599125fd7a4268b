/** What the canary found: the proof that the audit channel delivers (see AuditSource). */
export interface CanaryState {
  state: 'pending' | 'seen' | 'missing' | 'unavailable';
  /** ms from the canary's syscall to its record, when seen */
  latencyMs: number | null;
  detail: string | null;
}

/** The audit multicast channel's own state, beside the counts every source has. */
export interface AuditChannelState {
  /** the socket's receive buffer as the kernel granted it (bytes) */
  rcvbuf: number;
  /** granted past net.core.rmem_max (CAP_NET_ADMIN) */
  rcvbufForced: boolean;
  /** the ring the addon's receive thread empties the socket into (bytes) */
  ring: number;
  canary: CanaryState;
  /** datagrams sent to the group by someone other than the kernel, dropped */
  foreign: number;
  /** records the kernel itself dropped (audit_lost) since the reader started, or null when unreadable */
  kernelLost: number | null;
  /** why the kernel's audit counters cannot be read, once */
  kernelStatusError: string | null;
}
