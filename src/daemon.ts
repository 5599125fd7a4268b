import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { ObservedSyscalls } from './aggregate/observed-syscalls.js';
import { Attributor } from './attribute/attributor.js';
import { KubeletLogIndex } from './attribute/kubelet-log-index.js';
import { ProcFs } from './attribute/proc-fs.js';
import { buildApp } from './http/app.js';
import { SeccompLineParser } from './parse/seccomp-line-parser.js';
import { KmsgSource, type LineSink } from './sources/kmsg-source.js';
import { StdinSource } from './sources/stdin-source.js';
import { syscallName, archName } from './syscalls/syscall-table.js';
import type { SeccompRecordView } from './types/seccomp-record.js';

export interface DaemonConfig {
  /** `kmsg`, `-` (stdin) or `none`; several may run at once */
  sources: string[];
  host: string;
  port: number;
  procRoot: string;
  logDir: string;
  nodeName: string;
  logLevel: string;
}

interface RunningSource {
  name: string;
  start(): void;
  stop(): void;
  lastError: string | null;
}

/**
 * Wires the stages and owns their start/stop order: sources → parse → attribute → aggregate,
 * with the HTTP server reading the live state. Stop order is the reverse, so a stopping source's
 * last lines still reach the aggregate.
 */
export class Daemon {
  readonly app: FastifyInstance;
  readonly log: FastifyBaseLogger;
  readonly observed: ObservedSyscalls;
  readonly attributor: Attributor;
  readonly #config: DaemonConfig;
  readonly #names: KubeletLogIndex;
  readonly #parser: SeccompLineParser;
  readonly #sources: RunningSource[] = [];
  #lineNo = 0;

  constructor(config: DaemonConfig) {
    this.#config = config;
    this.app = buildApp({ status: { ready: () => this.#ready() }, logger: { level: config.logLevel } });
    this.log = this.app.log;
    this.#names = new KubeletLogIndex({ logRoot: config.logDir });
    this.attributor = new Attributor({ proc: new ProcFs({ root: config.procRoot }), names: this.#names });
    this.observed = new ObservedSyscalls({
      onNew: (key) => {
        const [kind, id] = key.workload.split(':', 2);
        this.log.info({
          event: 'new_syscall', [kind === 'container' ? 'containerId' : kind === 'unit' ? 'unit' : 'comm']: id,
          arch: archName(key.auditArch, key.syscallNr), syscall: syscallName(key.auditArch, key.syscallNr) ?? key.syscallNr, action: key.action,
        }, 'new syscall observed');
      },
    });
    this.#parser = new SeccompLineParser({
      handler: {
        onRecord: (rec) => this.#onRecord(rec),
        onLostSignal: (kind, count) => this.log.warn({ event: 'records_lost', kind, count }, 'the kernel reports lost records'),
        onMalformed: (lineNo, reason, excerpt) => this.log.warn({ event: 'malformed_record', line: lineNo, reason, excerpt }, 'malformed seccomp record'),
      },
    });
  }

  async start(): Promise<void> {
    this.#names.scan();
    this.#names.watch();
    const sink: LineSink = {
      onLine: (buf, start, end) => this.#parser.parseLine(buf.subarray(start, end), 0, end - start, ++this.#lineNo),
      onBatchEnd: () => this.attributor.advance(Date.now()),
    };
    this.attributor.advance(Date.now());
    for (const spec of this.#config.sources) {
      if (spec === 'none') continue;
      const source: RunningSource = spec === 'kmsg' ? new KmsgSource({ sink }) : new StdinSource({ sink, stdin: process.stdin });
      try {
        source.start();
        this.log.info({ event: 'source_started', source: spec }, `reading ${spec === '-' ? 'stdin' : spec}`);
      } catch (err) {
        source.lastError = (err as Error).message;
        this.log.error({ event: 'source_failed', source: spec, error: source.lastError }, 'cannot read source; serving what is known');
      }
      this.#sources.push(source);
    }
    await this.app.listen({ host: this.#config.host, port: this.#config.port });
  }

  async stop(): Promise<void> {
    for (const source of this.#sources) source.stop();
    this.#names.close();
    await this.app.close();
  }

  #onRecord(rec: SeccompRecordView): void {
    const workload = this.attributor.attribute(rec);
    const key = workload !== null ? workload.key : `unattributed:${rec.comm() ?? '?'}`;
    this.observed.add(key, rec.auditArch, rec.syscallNr, rec.action, rec.time);
  }

  #ready(): { ready: boolean; sources: { name: string; ok: boolean; error: string | null }[] } {
    const sources = this.#sources.map((s) => ({ name: s.name, ok: s.lastError === null, error: s.lastError }));
    return { ready: sources.every((s) => s.ok), sources };
  }
}
