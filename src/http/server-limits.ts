/**
 * What one client may take of the daemon. The port is reachable by whoever the NetworkPolicy (or
 * the host's firewall) lets in, and the read routes and the diff route answer without a token:
 * these bounds keep a flood of unfinished requests or slow senders from growing the daemon past
 * its memory limit (256 MiB in the DaemonSet) or holding its sockets. Each is in the README's
 * security section; tests may pass smaller ones to buildApp.
 */
import { MAX_PROFILE_BYTES } from '../profile/oci-profile-check.js';

export interface ServerLimits {
  /** the largest request body: every POST takes one profile, and a profile is capped there */
  bodyLimit: number;
  /** a whole request (headers and body) must arrive within this; a slow sender is cut off with 408 */
  requestTimeoutMs: number;
  /** the headers within this (Node's headersTimeout; at most requestTimeoutMs) */
  headersTimeoutMs: number;
  /** a socket with no traffic at all is closed after this */
  connectionTimeoutMs: number;
  /** an idle keep-alive connection is closed after this (Prometheus reconnects at each scrape) */
  keepAliveTimeoutMs: number;
  /** requests on one connection before it is closed, so one client cannot pin a socket forever */
  maxRequestsPerSocket: number;
  /** connections open at once; more are refused at accept, before any byte is read */
  maxConnections: number;
  /** how often Node checks the two timeouts above (its default, 30 s, would let a slow sender stay 30 s more) */
  checkIntervalMs: number;
}

export const SERVER_LIMITS: ServerLimits = {
  bodyLimit: MAX_PROFILE_BYTES,
  requestTimeoutMs: 10_000,
  headersTimeoutMs: 5_000,
  connectionTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxRequestsPerSocket: 1_000,
  // 256 buffered bodies at the body limit are 64 MiB: what the memory limit has room for
  maxConnections: 256,
  checkIntervalMs: 1_000,
};
