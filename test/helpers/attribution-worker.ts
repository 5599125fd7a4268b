/**
 * Runs the attribution chain (the kernel's audit multicast group → parse → attribute) on its
 * own thread, as the daemon's ingest does by default, and posts what it decided for every record
 * back to the test. A thread of its own keeps the reader free of the test runner's pauses.
 */
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { Attributor } from '../../src/attribute/attributor.js';
import { KubeletLogIndex } from '../../src/attribute/kubelet-log-index.js';
import { ProcFs } from '../../src/attribute/proc-fs.js';
import { SeccompLineParser } from '../../src/parse/seccomp-line-parser.js';
import { AuditSource } from '../../src/sources/audit-source.js';

export interface AttributedRecord {
  pid: number; comm: string; nr: number; serial: number; key: string | null; method: string | null; reason: string | null;
  namespace: string | null; pod: string | null; container: string | null;
}

const { logRoot } = workerData as { logRoot: string };
// Linux applies a nice value per thread: this raises the reader alone, as the daemon's reader
// thread runs on a busy node.
try { setPriority(0, -15); } catch { /* not permitted: the test then measures at normal priority */ }
const names = new KubeletLogIndex({ logRoot });
names.scan();
const attributor = new Attributor({ proc: new ProcFs({ root: '/proc' }), names });
let batch: AttributedRecord[] = [];
const parser = new SeccompLineParser({
  handler: {
    onRecord(rec) {
      const w = attributor.attribute(rec);
      batch.push({
        pid: rec.pid, comm: rec.comm() ?? '', nr: rec.syscallNr, serial: rec.serial, key: w?.key ?? null, method: attributor.method, reason: attributor.reason,
        namespace: w?.namespace ?? null, pod: w?.pod ?? null, container: w?.container ?? null,
      });
    },
    onLostSignal() {},
    onMalformed(_line, reason, excerpt) { parentPort!.postMessage({ malformed: `${reason}: ${excerpt}` }); },
  },
});
let lineNo = 0;
const source = new AuditSource({
  sink: {
    onAuditBody: (buf, start, end) => parser.parseAuditBody(buf, start, end, ++lineNo),
    onBatchEnd: () => attributor.advance(Date.now()),
  },
});
attributor.advance(Date.now());
source.start();
const flush = setInterval(() => {
  if (batch.length > 0) { parentPort!.postMessage({ records: batch }); batch = []; }
}, 50);
parentPort!.on('message', (msg: string) => {
  if (msg !== 'stop') return;
  source.stop();
  clearInterval(flush);
  names.close();
  parentPort!.postMessage({ records: batch, lost: source.lostRecords, done: true });
});
parentPort!.postMessage({ ready: true });
