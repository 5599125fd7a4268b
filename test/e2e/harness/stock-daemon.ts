/**
 * The daemon as a stock node runs it (issue 11): no --source (its own choice: the kernel's audit
 * multicast group), a non-root uid with exactly the DaemonSet's capabilities, and whatever
 * printk rate limit the kernel has (the scenarios set the kernel's default around it).
 */
import { chmodSync, chownSync } from 'node:fs';
import { dirname } from 'node:path';
import { asDaemonSetUser, NOBODY } from '../../helpers/daemonset-privileges.js';
import { DaemonProcess } from './daemon-process.js';

export interface StockDaemonOptions {
  logRoot: string;
  /** the database file; its directory is handed to the daemon's uid */
  db: string;
  /** the kubelet's seccomp dir (handed to the daemon's uid), or none */
  seccompDir?: string;
  /** e.g. ['--source', 'file:...'] where a scenario needs another source */
  extra?: string[];
}

export async function startStockDaemon(o: StockDaemonOptions): Promise<DaemonProcess> {
  // the test's temp dirs are 0700 root's; a node's are the kubelet's, readable by all
  chmodSync(o.logRoot, 0o755);
  chownSync(dirname(o.db), NOBODY, NOBODY);
  if (o.seccompDir !== undefined) chownSync(o.seccompDir, NOBODY, NOBODY);
  const daemon = await DaemonProcess.start([
    '--log-dir', o.logRoot, '--db', o.db, '--kubelet-seccomp-dir', o.seccompDir ?? 'none', ...(o.extra ?? []),
  ], 20_000, asDaemonSetUser());
  try {
    // ready once the canary proved the audit channel
    await daemon.until<{ ready: boolean }>('/readyz', (b) => b.ready, 10_000);
  } catch (err) {
    await daemon.kill();
    throw err;
  }
  return daemon;
}

/** The source the daemon chose without --source, from its log. */
export function chosenSource(daemon: DaemonProcess): unknown {
  return daemon.lines.find((l) => l.event === 'source_chosen')?.['source'];
}
