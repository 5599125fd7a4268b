import { createRequire } from 'node:module';

/** The native addon (native/audit-netlink.c), built by `npm install` through node-gyp. */
export interface AuditNetlinkAddon {
  /** joins the group and starts the addon's receive thread, which empties the socket into a ring of `ringBytes` */
  open(rcvbufBytes: number, ringBytes: number): { handle: AuditHandle; rcvbuf: number; ring: number; forced: boolean; inode: number };
  /** moves whole records from the ring into buf, waiting up to waitMs for the first; the bytes moved */
  read(handle: AuditHandle, buf: Buffer, stats: Float64Array, waitMs: number): number;
  /** stops and joins the receive thread, closes the socket */
  close(handle: AuditHandle): void;
  /** null once the canary's record was made; else why the canary could not run */
  canary(syscallNr: number): string | null;
  status(): KernelAuditStatus;
}

/** An open socket and its receive thread, owned by the addon. */
export type AuditHandle = { readonly __auditHandle: unique symbol };

/** The kernel's audit state (AUDIT_GET), readable with CAP_AUDIT_CONTROL only. */
export interface KernelAuditStatus {
  enabled: number;
  failure: number;
  /** auditd's pid, 0 when none is registered */
  pid: number;
  rateLimit: number;
  backlogLimit: number;
  /** records the kernel dropped since boot (backlog full, rate limit, no memory) */
  lost: number;
  backlog: number;
}

/** Slots of the stats array `read` adds to. */
export const enum ReadStat { Messages = 0, Overruns = 1, Foreign = 2, Truncated = 3 }

export const ADDON_PATH = '../../build/Release/audit_netlink.node';

let loaded: AuditNetlinkAddon | Error | null = null;

/**
 * The addon, or an error that says how to build it. Loaded once, on first use: a daemon that
 * never reads the audit group (another --source) does not need it. The path is the same from
 * src/sources (tsx) and dist/sources (built).
 */
export function auditNetlink(): AuditNetlinkAddon {
  if (loaded === null) {
    try {
      loaded = createRequire(import.meta.url)(ADDON_PATH) as AuditNetlinkAddon;
    } catch (err) {
      loaded = new Error(`the audit netlink addon is not built (build/Release/audit_netlink.node: ${(err as Error).message.split('\n')[0]}): ` +
        'run `npm install` in the package directory (it compiles native/audit-netlink.c with node-gyp: needs python3, make and a C compiler), ' +
        'or choose another --source');
    }
  }
  if (loaded instanceof Error) throw loaded;
  return loaded;
}
