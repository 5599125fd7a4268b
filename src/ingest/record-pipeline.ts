import { ACTIONS, SyscallAggregate } from '../aggregate/syscall-aggregate.js';
import { Attributor, type ContainerNames, type ProcReader } from '../attribute/attributor.js';
import { ContainerNameSources } from '../attribute/container-names.js';
import type { KubeApiPods } from '../attribute/kube-api-pods.js';
import { KubeletLogIndex } from '../attribute/kubelet-log-index.js';
import { ProcFs } from '../attribute/proc-fs.js';
import type { Workload } from '../attribute/workload.js';
import type { RelayTrust } from '../parse/record-framing.js';
import type { ParseStats, RecordHandler } from '../parse/record-handler.js';
import { RecordStreamParser } from '../parse/record-stream-parser.js';
import { SeccompLineParser } from '../parse/seccomp-line-parser.js';
import type { AuditBodySink } from '../sources/audit-source.js';
import type { LineSink } from '../sources/kmsg-source.js';
import type { FlushBatch, SourcePosition } from '../types/flush-batch.js';
import type { PipelineCounters } from '../types/pipeline-counters.js';
import { ABSENT, type LostSignalKind, type SeccompAction, type SeccompRecordView } from '../types/seccomp-record.js';

/** A syscall a workload made for the first time, as the log and the API announce it. */
export interface NewSyscall {
  workload: string;
  namespace: string | null;
  pod: string | null;
  container: string | null;
  auditArch: number;
  syscallNr: number;
  action: SeccompAction;
}

export interface PipelineEvents {
  /** absent: new syscalls are not announced (and no event is made for each) */
  onNewSyscall?(event: NewSyscall): void;
  onLostSignal(kind: LostSignalKind, count: number): void;
  onMalformed(lineNo: number, reason: string, excerpt: string): void;
  onError?(message: string): void;
}

/**
 * parse → attribute → aggregate for one stream of lines, run by the thread that reads them so
 * a record's pid is looked up in /proc right after the read (short-lived processes are gone
 * soon after). `takeBatch()` hands over what the store has not committed yet.
 */
export class RecordPipeline implements LineSink, AuditBodySink {
  readonly parser: SeccompLineParser;
  readonly attributor: Attributor;
  readonly aggregate: SyscallAggregate;
  /**
   * Where parsed records go: what this pipeline's own parsers call, and what a parse done
   * elsewhere (another thread, see packed-records.ts) hands its records to.
   */
  readonly records: RecordHandler;
  readonly #names: KubeletLogIndex | null;
  readonly #source: string;
  readonly #stream: RecordStreamParser;
  readonly #onError: (message: string) => void;
  /** records whose attribution threw (reported once, counted) */
  #attributionErrors = 0;
  #lineNo = 0;
  #now = Date.now();
  /** the kernel's cumulative audit_lost as last seen, -1 before the first */
  #auditLost = -1;
  /** the newest record read when the last audit_lost line came: where the next one's growth starts (null: none yet) */
  #auditLostFrom: number | null = null;
  /** the newest and the first record time read (ms), ABSENT before any */
  #newest = ABSENT;
  #first = ABSENT;
  /**
   * Losses that end at the next record read (a printk suppression count comes just before the
   * record printed with it), or when the batch is taken if none comes first.
   */
  #open: { reason: string; count: number; from: number | null }[] = [];
  #lagSeconds: number | null = null;
  /** a batch ended since the clocks were set: see #refreshClock() */
  #clockStale = false;

  /**
   * `procRoot` / `logDir` null: nothing to look up (logs copied from another node, whose pids
   * mean nothing here): every record goes to the unattributed bucket.
   */
  constructor(options: {
    source: string; procRoot: string | null; logDir: string | null; nodeName: string; events: PipelineEvents;
    /** pods of this node from the Kubernetes API, when running in a cluster */
    kubeApi?: KubeApiPods | null;
    /** relays of the kernel's records this source's lines may come through (none by default) */
    trust?: RelayTrust;
    /** false for a past log: each pid read from /proc once (AttributorOptions.reverifyPids) */
    reverifyPids?: boolean;
  }) {
    this.#source = options.source;
    this.#onError = (message) => options.events.onError?.(message);
    this.#names = options.logDir === null ? null : new KubeletLogIndex({ logRoot: options.logDir });
    const api = options.kubeApi ?? null;
    const sources: ContainerNames[] = [];
    if (this.#names !== null) sources.push(this.#names);
    if (api !== null) sources.push({ lookupOrRescan: (id) => api.byContainerId(id) });
    this.attributor = new Attributor({
      proc: options.procRoot === null ? NO_PROC : new ProcFs({ root: options.procRoot }),
      ...(options.reverifyPids === undefined ? {} : { reverifyPids: options.reverifyPids }),
      ...(sources.length > 0 ? { names: api === null ? new ContainerNameSources(sources) : withOwners(new ContainerNameSources(sources), api) } : {}),
    });
    const onNewSyscall = options.events.onNewSyscall?.bind(options.events);
    this.aggregate = new SyscallAggregate({
      nodeName: options.nodeName,
      ...(onNewSyscall === undefined ? {} : {
        onNewKey: (w: Workload, k: { auditArch: number; syscallNr: number; action: SeccompAction }) => onNewSyscall({
          workload: w.key, namespace: w.namespace, pod: w.pod, container: w.container, auditArch: k.auditArch, syscallNr: k.syscallNr, action: k.action,
        }),
      }),
    });
    this.aggregate.advance(this.#now);
    const handler: RecordHandler = {
      onRecord: (rec) => this.#onRecord(rec),
      onLostSignal: (kind, count) => {
        // the kernel prints `backlog limit exceeded` / `rate limit exceeded` with the same loss
        // that raises audit_lost, whose total it prints beside them: counting both would count it
        // twice, so those lines are logged as events and the loss is taken from audit_lost alone
        const lost = kind === 'audit_lost' ? this.#auditLostDelta(count)
          : kind === 'backlog_exceeded' || kind === 'rate_limit_exceeded' ? 0 : count;
        const newest = this.#newest === ABSENT ? null : this.#newest;
        // printk_suppressed: the kernel dropped them after the last record it printed before this
        // line, up to the record it prints with the line (not when the line arrives: that is the
        // first record after the rate limit's interval, possibly long after). audit_lost: the
        // growth since the last audit_lost line. Neither known (the first line since the start):
        // since the newest record this source committed (the store resolves null).
        const from = kind === 'audit_lost' ? this.#auditLostFrom : newest;
        if (kind === 'audit_lost') this.#auditLostFrom = newest;
        if (lost > 0) this.addLost(kind, lost, { from, to: null });
        options.events.onLostSignal(kind, count);
      },
      onMalformed: (lineNo, reason, excerpt) => options.events.onMalformed(lineNo, reason, excerpt),
    };
    this.records = handler;
    const trust = options.trust ?? {};
    this.parser = new SeccompLineParser({ handler, trust });
    this.#stream = new RecordStreamParser({ handler, trust });
  }

  /** Lines and records seen, by whichever way they came in. */
  get stats(): ParseStats {
    const a = this.parser.stats, b = this.#stream.stats;
    return { lines: a.lines + b.lines, records: a.records + b.records, skipped: a.skipped + b.skipped, malformed: a.malformed + b.malformed, lostSignals: a.lostSignals + b.lostSignals, foreign: a.foreign + b.foreign };
  }

  start(options: { watch?: boolean } = {}): void {
    this.#names?.scan();
    if (options.watch !== false) this.#names?.watch();
    this.onBatchEnd();
  }

  stop(): void {
    this.#names?.close();
  }

  /** A chunk of a file or stream (lines may span chunks): the parser's fast path for bulk input. */
  push(chunk: Buffer): void {
    this.#stream.push(chunk);
  }

  /** The input is over: a last line without a newline still counts. */
  end(): void {
    this.#stream.end();
  }

  onLine(buf: Buffer, start: number, end: number): void {
    this.parser.parseLine(buf, start, end, ++this.#lineNo);
  }

  /** A record from the kernel's audit multicast group: its body, without a marker. */
  onAuditBody(buf: Buffer, start: number, end: number): void {
    this.parser.parseAuditBody(buf, start, end, ++this.#lineNo);
  }

  onBatchEnd(): void {
    this.#now = Date.now();
    this.attributor.advance(this.#now);
    this.aggregate.advance(this.#now);
    this.#clockStale = true;
  }

  /**
   * The clocks again at the first record after a batch's end: the next batch may come after a
   * pause (a quiet node), and its records must meet the time they arrive, not the last batch's
   * (a pid checked then and reused since would not be checked again). Only the clocks: the
   * batch's end does the rest (waiting forks, pruning).
   */
  #refreshClock(): void {
    this.#clockStale = false;
    this.#now = Date.now();
    this.attributor.setClock(this.#now);
    this.aggregate.advance(this.#now);
  }

  /**
   * Records the source says it lost (e.g. kmsg overwrote them before they were read), made
   * between `from` and `to` (ms). `from` null: since the newest record the source committed
   * before (the store knows it). `to` null: up to the next record read (or the time the batch is
   * taken, when none comes first: the records were lost before that).
   */
  addLost(reason: string, count: number, interval: { from: number | null; to: number | null }): void {
    if (!(count > 0)) return;
    if (interval.to === null) this.#open.push({ reason, count, from: interval.from });
    else this.aggregate.addLost(this.#source, reason, count, interval.from === null ? null : Math.min(interval.from, interval.to), interval.to);
  }

  /** The newest record time read so far (ms), ABSENT before any. */
  get newestRecordTime(): number {
    return this.#newest;
  }

  /** The first record time read (ms), ABSENT before any. */
  get firstRecordTime(): number {
    return this.#first;
  }

  /**
   * What the store has not committed yet, with `positions`; each position is stamped with the
   * newest record read (unless the caller did), which is where a later loss of unknown start
   * begins. `hold`: see SyscallAggregate.takeBatch.
   */
  takeBatch(positions: SourcePosition[], hold?: { idleMs: number; maxRows: number }): FlushBatch | null {
    if (this.#open.length > 0) this.#closeOpen(Date.now());
    if (this.#newest !== ABSENT) for (const p of positions) p.recordTime ??= this.#newest;
    const batch = this.aggregate.takeBatch(positions, hold);
    const newest = this.aggregate.newestInLastBatch;
    if (newest !== ABSENT) this.#lagSeconds = Math.max(0, Date.now() - newest) / 1000;
    return batch;
  }

  /**
   * The counts metrics need, built per call (once a scrape, or once a second on the kmsg thread),
   * from counters kept anyway: the parser's stats, the attributor's per-method counts, the
   * aggregate's per-action counts.
   */
  counters(): PipelineCounters {
    const stats = this.stats;
    const actions: Record<string, number> = {};
    const counts = this.aggregate.actionCounts();
    for (let i = 0; i < ACTIONS.length; i++) if (counts[i]! > 0) actions[ACTIONS[i]!] = counts[i]!;
    const c = this.attributor.counts;
    return {
      records: stats.records, malformed: stats.malformed, foreign: stats.foreign, actions,
      attributed: { proc: c.proc, cache: c.cache, lineage: c.lineage, label: c.label },
      lagSeconds: this.#lagSeconds,
    };
  }

  /**
   * `audit_lost=N` is the kernel's total since boot, printed again with every new loss: what is
   * lost is the growth since the last line. The first line of this pipeline's life counts whole
   * (losses before it are losses too); a smaller number means a new boot, which counts whole.
   * A daemon restarted on the same boot counts that first line's total once more: a bounded
   * overcount, where adding every line's total would grow without bound.
   */
  #auditLostDelta(total: number): number {
    const delta = this.#auditLost < 0 || total < this.#auditLost ? total : total - this.#auditLost;
    this.#auditLost = total;
    return delta;
  }

  #closeOpen(to: number): void {
    for (const o of this.#open) this.aggregate.addLost(this.#source, o.reason, o.count, o.from === null ? null : Math.min(o.from, to), to);
    this.#open = [];
  }

  #onRecord(rec: SeccompRecordView): void {
    if (this.#clockStale) this.#refreshClock();
    // where losses begin and end: two comparisons a record, the rest only around a loss
    const time = rec.time;
    if (time !== ABSENT) {
      if (time > this.#newest) {
        if (this.#newest === ABSENT) this.#first = time;
        this.#newest = time;
      }
      if (this.#open.length > 0) this.#closeOpen(time);
    }
    const attributor = this.attributor;
    let workload: Workload | null;
    try {
      workload = attributor.attribute(rec);
    } catch (err) {
      // /proc refused (EACCES under a missing capability...): the record still counts, and the
      // stream goes on
      this.#attributionErrors++;
      if (this.#attributionErrors === 1) this.#onError(`attribution failed for pid ${rec.pid}: ${(err as Error).message}`);
      this.aggregate.addUnattributed(rec, 'proc-error');
      return;
    }
    if (workload !== null) this.aggregate.add(workload, rec, attributor.method);
    else this.aggregate.addUnattributed(rec, attributor.reason!);
  }
}

/**
 * Names as `names` gives them, with the pod's owner from the Kubernetes API when it knows the
 * container (the kubelet's files, asked first, do not name owners). Runs once per new container
 * and per retry, not per record.
 */
function withOwners(names: ContainerNames, api: KubeApiPods): ContainerNames {
  return {
    owners: true,
    lookupOrRescan(containerId) {
      const found = names.lookupOrRescan(containerId);
      if (found === null || found.owner != null) return found;
      const pod = api.byContainerId(containerId);
      return pod === null ? found : { ...found, owner: pod.owner };
    },
  };
}

/** A /proc with no processes: for logs from elsewhere. */
const NO_PROC: ProcReader = {
  readCgroup: () => null,
  readStartTime: () => null,
  readStat: () => null,
  readChildren: () => null,
};
