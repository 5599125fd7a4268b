import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { ObservedKey } from './aggregate/observed-syscalls.js';
import { buildApp } from './http/app.js';
import { KmsgIngest } from './ingest/kmsg-ingest.js';
import type { KmsgIngestMessage } from './ingest/kmsg-ingest-protocol.js';
import { RecordPipeline, type KeyOwner, type PipelineEvents } from './ingest/record-pipeline.js';
import { StdinSource } from './sources/stdin-source.js';
import { archName, syscallName } from './syscalls/syscall-table.js';

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
  lastError: string | null;
  stop(): void | Promise<void>;
}

/** nice value for the kmsg reading thread: enough to be scheduled promptly on a busy node */
const READER_NICE = -10;

/**
 * Wires the stages and owns their start/stop order: sources → parse → attribute → aggregate,
 * with the HTTP server reading the live state. /dev/kmsg is read, parsed and attributed on a
 * thread of its own (see kmsg-ingest-worker.ts); stdin runs the same pipeline here. Stop order
 * is the reverse of start, so a stopping source's last lines are still counted.
 */
export class Daemon {
  readonly app: FastifyInstance;
  readonly log: FastifyBaseLogger;
  readonly #config: DaemonConfig;
  readonly #sources: RunningSource[] = [];
  readonly #events: PipelineEvents;

  constructor(config: DaemonConfig) {
    this.#config = config;
    this.app = buildApp({ status: { ready: () => this.#ready() }, logger: { level: config.logLevel } });
    this.log = this.app.log;
    this.#events = {
      onNewKey: (key, owner) => this.#logNewKey(key, owner),
      onLostSignal: (kind, count) => this.log.warn({ event: 'records_lost', kind, count }, 'the kernel reports lost records'),
      onMalformed: (lineNo, reason, excerpt) => this.log.warn({ event: 'malformed_record', line: lineNo, reason, excerpt }, 'malformed seccomp record'),
    };
  }

  async start(): Promise<void> {
    for (const spec of this.#config.sources) {
      if (spec === 'none') continue;
      try {
        this.#sources.push(spec === 'kmsg' ? await this.#startKmsg() : this.#startStdin());
        this.log.info({ event: 'source_started', source: spec }, `reading ${spec === '-' ? 'stdin' : spec}`);
      } catch (err) {
        const error = (err as Error).message;
        this.#sources.push({ name: spec, lastError: error, stop: () => {} });
        this.log.error({ event: 'source_failed', source: spec, error }, 'cannot read source; serving what is known');
      }
    }
    await this.app.listen({ host: this.#config.host, port: this.#config.port });
  }

  async stop(): Promise<void> {
    for (const source of this.#sources.reverse()) await source.stop();
    await this.app.close();
  }

  async #startKmsg(): Promise<RunningSource> {
    const ingest = new KmsgIngest({
      procRoot: this.#config.procRoot,
      logDir: this.#config.logDir,
      pollMs: 2,
      nice: READER_NICE,
      onMessage: (m: KmsgIngestMessage) => {
        switch (m.type) {
          case 'new-key': return this.#events.onNewKey(m.key, m.owner);
          case 'lost-signal': return this.#events.onLostSignal(m.kind, m.count);
          case 'malformed': return this.#events.onMalformed(m.lineNo, m.reason, m.excerpt);
          case 'started':
            if (!m.niced) this.log.warn({ event: 'reader_priority', nice: READER_NICE }, 'cannot raise the kmsg reader\'s priority (needs CAP_SYS_NICE); records may be lost on a busy node');
            return;
          default: return;
        }
      },
    });
    await ingest.start();
    return ingest;
  }

  #startStdin(): RunningSource {
    const pipeline = new RecordPipeline({ procRoot: this.#config.procRoot, logDir: this.#config.logDir, events: this.#events });
    pipeline.start();
    const source = new StdinSource({ sink: pipeline, stdin: process.stdin });
    source.start();
    return {
      name: source.name,
      get lastError() { return source.lastError; },
      stop: () => { source.stop(); pipeline.stop(); },
    };
  }

  #logNewKey(key: ObservedKey, owner: KeyOwner | null): void {
    const [kind, id] = key.workload.split(':', 2);
    this.log.info({
      event: 'new_syscall', [kind === 'container' ? 'containerId' : kind === 'unit' ? 'unit' : 'comm']: id,
      ...(owner?.pod ? { namespace: owner.namespace, pod: owner.pod, container: owner.container } : {}),
      arch: archName(key.auditArch, key.syscallNr), syscall: syscallName(key.auditArch, key.syscallNr) ?? key.syscallNr, action: key.action,
    }, 'new syscall observed');
  }

  #ready(): { ready: boolean; sources: { name: string; ok: boolean; error: string | null }[] } {
    const sources = this.#sources.map((s) => ({ name: s.name, ok: s.lastError === null, error: s.lastError }));
    return { ready: sources.every((s) => s.ok), sources };
  }
}
