import { readFileSync, statSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { hostname } from 'node:os';
import { Daemon } from '../daemon.js';
import type { DeclaredRoute } from '../http/app.js';
import { declaredRoutes } from '../http/declared-routes.js';
import { DEFAULT_MAX_SERIES, DEFAULT_SERIES_WINDOW_MS } from '../metrics/daemon-metrics.js';
import { DEFAULT_KEY_CAPS } from '../store/batch-commit.js';
import { PRINTK_LOSS_FIX, printkLoss } from '../doctor/kernel-checks.js';
import { DEFAULT_RCVBUF_BYTES, DEFAULT_RING_BYTES } from '../sources/audit-source.js';
import { chooseDefaultSource } from '../sources/default-source.js';
import type { Command, CommandIo } from './command.js';
import { parseYoungThresholds, YOUNG_OPTIONS } from './young-options.js';
import { formatOptions, parseCommandLine, UsageError, type OptionTable } from './options.js';
import { parseSourceSpec, unknownSourceMessage } from '../sources/source-spec.js';
import { keepLargeAllocationsMapped } from '../runtime/malloc-policy.js';
import { defaultDbPath } from '../store/default-db-path.js';
import { DEFAULT_MAX_QUEUED_READS, DEFAULT_READ_THREADS } from '../http/thread-store-reader.js';

export const DEFAULT_PORT = 9761;
const MAX_READ_WORKERS = 16;

export const OPTIONS = {
  source: {
    type: 'string', multiple: true, value: 'SOURCE', env: 'SECCOMP_AUDITOR_SOURCE',
    description: "where records come from: 'audit' (the kernel's audit multicast group: every record; needs CAP_AUDIT_READ and the host network namespace), 'kmsg' (/dev/kmsg, rate-limited by printk), 'file:PATH' (a log file, followed), 'journal' or 'journal:DIR' (journalctl -f), '-' (stdin) or 'none' (serve only); default: audit when it can be joined, else auditd's log when auditd runs, else kmsg",
  },
  'read-existing': {
    type: 'boolean', env: 'SECCOMP_AUDITOR_READ_EXISTING',
    description: "a file source with no saved position reads the lines already in the file (records from before the daemon, e.g. auditd's log of a trial run); without it the first start begins at the file's end. A saved position always wins, so a restart never counts twice",
  },
  listen: {
    type: 'string', value: 'HOST:PORT', env: 'SECCOMP_AUDITOR_LISTEN', default: `127.0.0.1:${DEFAULT_PORT}`,
    description: 'address of the HTTP server (the API below)',
  },
  'proc-root': {
    type: 'string', value: 'PATH', env: 'SECCOMP_AUDITOR_PROC_ROOT', default: '/proc',
    description: "the host's /proc (a host mount in a DaemonSet without hostPID)",
  },
  'log-dir': {
    type: 'string', value: 'PATH', env: 'SECCOMP_AUDITOR_LOG_DIR', default: '/var/log',
    description: "the kubelet's log root, holding containers/ and pods/",
  },
  'node-name': {
    type: 'string', value: 'NAME', env: 'SECCOMP_AUDITOR_NODE_NAME', default: hostname(),
    description: 'this node, as Kubernetes names it',
  },
  db: {
    type: 'string', value: 'PATH', env: 'SECCOMP_AUDITOR_DB',
    description: 'the SQLite database; default /var/lib/seccomp-auditor/seccomp-auditor.db, or ./data/seccomp-auditor.db where that is not writable',
  },
  retention: {
    type: 'string', value: 'DURATION', env: 'SECCOMP_AUDITOR_RETENTION', default: '30d',
    description: 'forget workloads not seen for this long (e.g. 30d, 12h)',
  },
  'token-file': {
    type: 'string', value: 'PATH', env: 'SECCOMP_AUDITOR_TOKEN_FILE',
    description: 'file holding the bearer token for the mutating API routes (DELETE a pod, POST/DELETE a profile); without it they are off',
  },
  'protect-reads': {
    type: 'boolean', env: 'SECCOMP_AUDITOR_PROTECT_READS',
    description: 'the read routes of /api/v1 need the bearer token too (health, readiness and /metrics stay open)',
  },
  'kubelet-seccomp-dir': {
    type: 'string', value: 'PATH', env: 'SECCOMP_AUDITOR_KUBELET_SECCOMP_DIR', default: '/var/lib/kubelet/seccomp', emptyIsValue: true,
    description: "the kubelet's seccomp profile root: the daemon installs seccomp-auditor/log-all.json (log every syscall, to learn a pod) and synced profiles there; 'none' or empty turns installation off",
  },
  'sync-profiles-from': {
    type: 'string', value: 'DIR', env: 'SECCOMP_AUDITOR_SYNC_PROFILES_FROM',
    description: 'a mounted ConfigMap (seccomp-auditor-profiles) whose NAME.json keys are installed as seccomp-auditor/NAME.json and kept in sync; default off',
  },
  ...YOUNG_OPTIONS,
  'metrics-max-series': {
    type: 'string', value: 'N', env: 'SECCOMP_AUDITOR_METRICS_MAX_SERIES', default: String(DEFAULT_MAX_SERIES),
    description: 'the most series each per-container syscall metric exports on /metrics (the rest are counted as dropped); 0 exports none',
  },
  'metrics-series-window': {
    type: 'string', value: 'DURATION', env: 'SECCOMP_AUDITOR_METRICS_SERIES_WINDOW', default: DEFAULT_SERIES_WINDOW_MS % 3_600_000 === 0 ? `${DEFAULT_SERIES_WINDOW_MS / 3_600_000}h` : `${DEFAULT_SERIES_WINDOW_MS / 60_000}m`,
    description: 'per-container series on /metrics describe the containers seen within this long of the scrape (e.g. 1h, 30m)',
  },
  'max-unattributed-keys': {
    type: 'string', value: 'N', env: 'SECCOMP_AUDITOR_MAX_UNATTRIBUTED_KEYS', default: String(DEFAULT_KEY_CAPS.maxUnattributedKeys),
    description: 'the most distinct (comm, exe, reason) groups of unattributed records stored; records of further groups are counted per reason as overflow',
  },
  'max-executables-per-container': {
    type: 'string', value: 'N', env: 'SECCOMP_AUDITOR_MAX_EXECUTABLES_PER_CONTAINER', default: String(DEFAULT_KEY_CAPS.maxExecutablesPerWorkload),
    description: 'the most distinct executables stored per container or host unit; records of further ones are counted as overflow',
  },
  'audit-buffer': {
    type: 'string', value: 'BYTES', env: 'SECCOMP_AUDITOR_AUDIT_BUFFER', default: String(DEFAULT_RING_BYTES),
    description: "memory for records the audit source received but has not parsed yet: a thread of its own empties the kernel's socket into it, so a burst waits here (about 220 bytes a record) instead of overflowing the socket",
  },
  'audit-rcvbuf': {
    type: 'string', value: 'BYTES', env: 'SECCOMP_AUDITOR_AUDIT_RCVBUF', default: String(DEFAULT_RCVBUF_BYTES),
    description: "receive buffer of the audit source's socket: what a burst may queue while the reader is off the CPU (past net.core.rmem_max only with CAP_NET_ADMIN; the size obtained is in /api/v1/status)",
  },
  'read-workers': {
    type: 'string', value: 'N', env: 'SECCOMP_AUDITOR_READ_WORKERS', default: String(DEFAULT_READ_THREADS),
    description: `threads serving the API's reads (pages, profiles), each with a read-only database connection, so health, readiness and ingest never wait behind them; at most ${DEFAULT_MAX_QUEUED_READS} reads wait for a thread, more get 503 SA_BUSY; 0 serves reads on the main thread`,
  },
  'log-level': {
    type: 'string', value: 'LEVEL', env: 'SECCOMP_AUDITOR_LOG_LEVEL', default: 'info',
    description: 'fatal, error, warn, info, debug or trace',
  },
} satisfies OptionTable;

export const runCommand: Command = {
  name: 'run',
  summary: 'run the daemon: follow the kernel\'s seccomp records and attribute them to containers',
  help: async () => `Usage: seccomp-auditor run [options]

Follows the kernel's seccomp audit records, attributes each to its container (or host unit)
through /proc and the kubelet's log directory, and logs every syscall a workload makes for the
first time as one JSON line. Serves the HTTP API below on --listen. SIGTERM or SIGINT stops it.

Options:
${formatOptions(OPTIONS)}

HTTP API (JSON; errors are {"code","message"}; GET /openapi.json has the schemas):
${formatRoutes(await declaredRoutes())}
`,
  async run(argv: string[], io: CommandIo): Promise<number> {
    const { values, positionals } = parseCommandLine(argv, OPTIONS, io.env);
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const [host, port] = parseListen(values.listen!);
    const choice = values.source.length > 0 ? null : chooseDefaultSource({ procRoot: values['proc-root']! });
    const sources = choice !== null ? [choice.spec] : values.source;
    for (const s of sources) {
      if (parseSourceSpec(s) === null) throw new UsageError(unknownSourceMessage(s));
    }
    if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace'].includes(values['log-level']!)) {
      throw new UsageError(`unknown log level '${values['log-level']}'`);
    }
    const retentionMs = parseDuration('--retention', values.retention!);
    const young = parseYoungThresholds(values);
    const metricsSeriesWindowMs = parseDuration('--metrics-series-window', values['metrics-series-window']!);
    if (metricsSeriesWindowMs === 0) throw new UsageError(`--metrics-series-window ${values['metrics-series-window']}: expected more than 0, e.g. 1h`);
    const caps = {
      maxUnattributedKeys: wholeNumber('--max-unattributed-keys', values['max-unattributed-keys']!, DEFAULT_KEY_CAPS.maxUnattributedKeys),
      maxExecutablesPerWorkload: wholeNumber('--max-executables-per-container', values['max-executables-per-container']!, DEFAULT_KEY_CAPS.maxExecutablesPerWorkload),
    };
    const metricsMaxSeries = Number(values['metrics-max-series']);
    if (!/^\d+$/.test(values['metrics-max-series']!) || !Number.isSafeInteger(metricsMaxSeries)) {
      throw new UsageError(`--metrics-max-series ${values['metrics-max-series']}: expected a whole number of series, e.g. ${DEFAULT_MAX_SERIES}`);
    }
    const readWorkers = wholeNumber('--read-workers', values['read-workers']!, DEFAULT_READ_THREADS);
    if (readWorkers > MAX_READ_WORKERS) throw new UsageError(`--read-workers ${readWorkers}: at most ${MAX_READ_WORKERS}; each thread holds a database connection and its cache, and reads rarely need more than the node's cores`);
    const auditBufferBytes = Number(values['audit-buffer']);
    if (!/^\d+$/.test(values['audit-buffer']!) || auditBufferBytes < 1 << 20 || auditBufferBytes > 2 ** 30) {
      throw new UsageError(`--audit-buffer ${values['audit-buffer']}: expected a number of bytes from 1048576 to 1073741824, e.g. ${DEFAULT_RING_BYTES}`);
    }
    const auditRcvbufBytes = Number(values['audit-rcvbuf']);
    if (!/^\d+$/.test(values['audit-rcvbuf']!) || auditRcvbufBytes < 65536 || auditRcvbufBytes > 2 ** 30) {
      throw new UsageError(`--audit-rcvbuf ${values['audit-rcvbuf']}: expected a number of bytes from 65536 to 1073741824, e.g. ${DEFAULT_RCVBUF_BYTES}`);
    }
    if (values['protect-reads'] && values['token-file'] === undefined) throw new UsageError('--protect-reads needs --token-file: the token the read routes will ask for');
    let token: string | null = null;
    if (values['token-file'] !== undefined) {
      try {
        token = readFileSync(values['token-file'], 'utf8').trim();
      } catch (err) {
        io.stderr.write(`seccomp-auditor run: cannot read the token file ${values['token-file']} (${(err as NodeJS.ErrnoException).code}); check --token-file\n`);
        return 1;
      }
      const mode = statSync(values['token-file']).mode & 0o777;
      if ((mode & 0o077) !== 0) {
        io.stderr.write(`seccomp-auditor run: warning: the token file ${values['token-file']} is readable by group or others (mode ${mode.toString(8).padStart(4, '0')}); chmod 600 it (a Kubernetes Secret: defaultMode: 0400)\n`);
      }
      if (token.length < 16) {
        io.stderr.write(`seccomp-auditor run: the token in ${values['token-file']} is shorter than 16 characters; use a long random one (e.g. openssl rand -hex 32)\n`);
        return 1;
      }
    }
    const seccompDir = values['kubelet-seccomp-dir']!;
    const kubeletSeccompDir = seccompDir === '' || seccompDir === 'none' ? null : seccompDir;
    const syncProfilesFrom = values['sync-profiles-from'] === undefined || values['sync-profiles-from'] === '' ? null : values['sync-profiles-from'];
    if (syncProfilesFrom !== null && kubeletSeccompDir === null) throw new UsageError('--sync-profiles-from needs profile installation: give --kubelet-seccomp-dir PATH (not none)');
    // before the threads start: the reader's batches, the read threads' answers and /metrics are
    // large buffers made and freed all day (the 30-day node's daemon in the API bench, alternating
    // runs: RSS before its 8 clients 197-202 -> 181-199 MiB, peak 229-242 -> 216-225 MiB)
    keepLargeAllocationsMapped();
    const daemon = new Daemon({
      sources, host, port,
      procRoot: values['proc-root']!, logDir: values['log-dir']!, nodeName: values['node-name']!, logLevel: values['log-level']!,
      dbPath: values.db ?? defaultDbPath({ create: true }), retentionMs, token, protectReads: values['protect-reads'], metricsMaxSeries, auditRcvbufBytes, auditBufferBytes,
      metricsSeriesWindowMs, caps, readExisting: values['read-existing'], young, readWorkers,
      kubeletSeccompDir, syncProfilesFrom,
    });
    try {
      await daemon.start();
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      await daemon.stop().catch(() => {});
      if (e.code === 'EADDRINUSE') {
        io.stderr.write(`seccomp-auditor run: ${host}:${port} is in use; stop the other process or choose --listen HOST:PORT\n`);
        return 1;
      }
      if (e.code === 'EACCES') {
        io.stderr.write(`seccomp-auditor run: not allowed to listen on ${host}:${port}; use a port above 1023 or run as root\n`);
        return 1;
      }
      throw err;
    }
    const address = daemon.app.server.address();
    const listening = typeof address === 'object' && address !== null ? `${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}` : `${host}:${port}`;
    if (choice !== null) daemon.log.info({ event: 'source_chosen', source: choice.spec, why: choice.why }, `no --source given: ${choice.why}`);
    // chosen or forced, /dev/kmsg under printk's rate limit learns a sliver of a burst: say so
    // once, loudly, where the operator looks first (the doctor fails on it too)
    const loss = sources.includes('kmsg') ? printkLoss(values['proc-root']!) : null;
    if (loss !== null) daemon.log.warn({ event: 'kmsg_rate_limited', fix: PRINTK_LOSS_FIX }, `reading /dev/kmsg with ${loss}; fix: ${PRINTK_LOSS_FIX}`);
    daemon.log.info({ event: 'started', listen: listening, sources, procRoot: values['proc-root'], logDir: values['log-dir'], db: daemon.dbPath }, `listening on http://${listening}`);
    await new Promise<void>((resolve) => {
      const stop = (signal: string): void => {
        daemon.log.info({ event: 'stopping', signal }, 'stopping');
        resolve();
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    await daemon.stop();
    return 0;
  },
};

function formatRoutes(routes: DeclaredRoute[]): string {
  const rows = routes.map((r) => [`${r.method} ${r.url}`, r.summary ?? ''] as const);
  const width = Math.max(...rows.map(([route]) => route.length)) + 2;
  return rows.map(([route, summary]) => `  ${route.padEnd(width)}${summary}`.trimEnd()).join('\n');
}

/** `30d`, `12h`, `45m`, `90s`: a duration in ms. */
function parseDuration(flag: string, value: string): number {
  const m = /^(\d+)(d|h|m|s)$/.exec(value);
  if (!m) throw new UsageError(`${flag} ${value}: expected a number and a unit, e.g. 30d or 12h`);
  const unit = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 }[m[2] as 'd' | 'h' | 'm' | 's'];
  return Number(m[1]) * unit;
}

/** A count flag: digits only, a safe integer (0 allowed: store none). */
function wholeNumber(flag: string, value: string, example: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new UsageError(`${flag} ${value}: expected a whole number, e.g. ${example}`);
  return n;
}

/**
 * `HOST:PORT` → [host, port]. The port is after the last colon, so an IPv6 host may come bracketed
 * (`[fd00::1]:9761`) or bare (`fd00::1:9761`): the DaemonSet writes `$(SECCOMP_AUDITOR_HOST_IP):9761`,
 * and the downward API's status.hostIP is a bare address on an IPv6 node.
 */
export function parseListen(value: string): [string, number] {
  const i = value.lastIndexOf(':');
  const written = i < 0 ? value : value.slice(0, i);
  const bracketed = /^\[(.*)\]$/.exec(written);
  const host = bracketed ? bracketed[1]! : written;
  const portText = i < 0 ? '' : value.slice(i + 1);
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (host.includes('$(')) {
    // Kubernetes leaves $(NAME) in args as it is when the container has no variable NAME
    throw new UsageError(`--listen ${value}: ${host} was never expanded; define that environment variable in the container (SECCOMP_AUDITOR_HOST_IP from the downward API's status.hostIP), or give an address`);
  }
  if (!host || !Number.isInteger(port) || port > 65535) {
    throw new UsageError(`--listen ${value}: expected HOST:PORT, e.g. 127.0.0.1:${DEFAULT_PORT}`);
  }
  if ((bracketed !== null || host.includes(':')) && !isIPv6(host)) {
    throw new UsageError(`--listen ${value}: ${host} is not an IPv6 address; expected HOST:PORT, e.g. [fd00::1]:${DEFAULT_PORT} or fd00::1:${DEFAULT_PORT}`);
  }
  return [host, port];
}
