import { ObservedSyscalls, type ObservedKey } from '../aggregate/observed-syscalls.js';
import { Attributor } from '../attribute/attributor.js';
import { KubeletLogIndex } from '../attribute/kubelet-log-index.js';
import { ProcFs } from '../attribute/proc-fs.js';
import type { Workload } from '../attribute/workload.js';
import { SeccompLineParser } from '../parse/seccomp-line-parser.js';
import type { LineSink } from '../sources/kmsg-source.js';
import type { LostSignalKind, SeccompRecordView } from '../types/seccomp-record.js';

/** Who a key belongs to, as far as known when the key was first seen. */
export interface KeyOwner {
  namespace: string | null;
  pod: string | null;
  container: string | null;
}

export interface PipelineEvents {
  onNewKey(key: ObservedKey, owner: KeyOwner | null): void;
  onLostSignal(kind: LostSignalKind, count: number): void;
  onMalformed(lineNo: number, reason: string, excerpt: string): void;
}

/**
 * parse → attribute → aggregate for one stream of lines, run by the thread that reads them so
 * a record's pid is looked up in /proc right after the read (short-lived processes are gone
 * soon after).
 */
export class RecordPipeline implements LineSink {
  readonly parser: SeccompLineParser;
  readonly attributor: Attributor;
  readonly observed: ObservedSyscalls;
  readonly #names: KubeletLogIndex;
  #lineNo = 0;
  /** the workload of the record being aggregated, for the new-key event */
  #current: Workload | null = null;

  constructor(options: { procRoot: string; logDir: string; events: PipelineEvents }) {
    this.#names = new KubeletLogIndex({ logRoot: options.logDir });
    this.attributor = new Attributor({ proc: new ProcFs({ root: options.procRoot }), names: this.#names });
    this.observed = new ObservedSyscalls({
      onNew: (key) => {
        const w = this.#current;
        options.events.onNewKey(key, w === null ? null : { namespace: w.namespace, pod: w.pod, container: w.container });
      },
    });
    this.parser = new SeccompLineParser({
      handler: {
        onRecord: (rec) => this.#onRecord(rec),
        onLostSignal: (kind, count) => options.events.onLostSignal(kind, count),
        onMalformed: (lineNo, reason, excerpt) => options.events.onMalformed(lineNo, reason, excerpt),
      },
    });
  }

  start(): void {
    this.#names.scan();
    this.#names.watch();
    this.attributor.advance(Date.now());
  }

  stop(): void {
    this.#names.close();
  }

  onLine(buf: Buffer, start: number, end: number): void {
    this.parser.parseLine(buf.subarray(start, end), 0, end - start, ++this.#lineNo);
  }

  onBatchEnd(): void {
    this.attributor.advance(Date.now());
  }

  #onRecord(rec: SeccompRecordView): void {
    const workload = this.attributor.attribute(rec);
    this.#current = workload;
    const key = workload !== null ? workload.key : `unattributed:${rec.comm() ?? '?'}`;
    this.observed.add(key, rec.auditArch, rec.syscallNr, rec.action, rec.time);
  }
}
