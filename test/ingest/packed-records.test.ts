import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RecordStreamParser } from '../../src/parse/record-stream-parser.js';
import type { RecordHandler } from '../../src/parse/record-handler.js';
import { RecordPacker, replayPacked, type PackedRecords } from '../../src/ingest/packed-records.js';
import type { LostSignalKind, SeccompRecordData } from '../../src/types/seccomp-record.js';

// Every form the parsers read, in one input: the real sample lines (test/fixtures/samples), the
// kernel's, auditd's raw and enriched, journald's JSON (whose records point into a decoded
// message, not the chunk), ausearch --interpret (plain strings), hex-encoded strings, labels
// with spaces, and the lost-record signals between records.
const FIELDS = 'auid=4294967295 uid=0 gid=0 ses=4294967295 pid=2026 comm="true" exe="/usr/bin/true" sig=0 arch=c000003e syscall=12 compat=0 ip=0x7fcfd5ec1c47 code=0x7ffc0000';
const KERNEL = `audit: type=1326 audit(1795759595.762:3): ${FIELDS}`;
const LINES = [
  ...readFileSync(join(import.meta.dirname, '..', 'fixtures', 'samples', 'audit-lines.log'), 'utf8').split('\n').filter((l) => l !== ''),
  `5,1234,391088404,-;${KERNEL}`,
  'Dec 26 11:45:54 k8s kernel: [57795.753820] kauditd_printk_skb: 6 callbacks suppressed',
  `Jul  6 15:37:40 host kernel: [369128.669452] ${KERNEL}`,
  `type=SECCOMP msg=audit(1795759595.762:3): ${FIELDS}\x1dAUID="unset" UID="root" GID="root" ARCH=x86_64 SYSCALL=unknown-syscall(-1)`,
  '[  100.000000] audit: audit_lost=5 audit_rate_limit=0 audit_backlog_limit=64',
  JSON.stringify({ __CURSOR: 's=1;i=2', __REALTIME_TIMESTAMP: '1795759595763000', _TRANSPORT: 'kernel', MESSAGE: KERNEL }),
  JSON.stringify({ _TRANSPORT: 'audit', _AUDIT_TYPE: '1326', _AUDIT_ID: '3', _SOURCE_REALTIME_TIMESTAMP: '1795759595762000', MESSAGE: `SECCOMP ${FIELDS}` }),
  'type=SECCOMP msg=audit(11/27/26 07:21:26.123:7) : auid=unset uid=root gid=root ses=unset subj=docker-default (enforce) pid=4242 comm=my prog exe=/usr/bin/my prog sig=0 arch=x86_64 syscall=openat compat=0 ip=0x7f00 code=log',
  'audit: type=1326 audit(1.000:1): auid=1 uid=2 gid=3 ses=4 pid=5 comm=6D7920636F6D6D exe=2F746D702F6D792070726F67 sig=0 arch=c000003e syscall=0 compat=0 ip=0x1 code=0x7ffc0000',
  'audit: type=1326 audit(1.000:3): auid=1 uid=2 gid=3 ses=4 subj=system_u:system_r:container_t:s0:c19,c27 pid=7 comm="a" exe=(null) sig=0 arch=c000003e syscall=0 compat=0 ip=0x1 code=0x80000000',
  '[  100.000000] audit: backlog limit exceeded',
  'just text',
];

type Seen = { record: SeccompRecordData } | { signal: LostSignalKind; count: number };

function recorder(out: Seen[]): Pick<RecordHandler, 'onRecord' | 'onLostSignal'> {
  return {
    onRecord: (rec) => { out.push({ record: rec.snapshot() }); },
    onLostSignal: (kind, count) => { out.push({ signal: kind, count }); },
  };
}

/** The input in chunks of `size` bytes, each owning its ArrayBuffer (as a file read's do) or a view into a shared one. */
function chunksOf(input: Buffer, size: number, own: boolean): Buffer[] {
  const chunks: Buffer[] = [];
  for (let i = 0; i < input.length; i += size) {
    const part = input.subarray(i, i + size);
    if (own) {
      const ab = new ArrayBuffer(part.length);
      new Uint8Array(ab).set(part);
      chunks.push(Buffer.from(ab));
    } else {
      chunks.push(part);
    }
  }
  return chunks;
}

t.test('records and signals replayed on the other side of a thread boundary are what the parser delivered, in order', async (t) => {
  // many copies, so a chunk holds more entries than the packer's first arrays
  const input = Buffer.from(Array.from({ length: 300 }, () => LINES.join('\n')).join('\n') + '\n');
  const direct: Seen[] = [];
  const straight = new RecordStreamParser({ handler: { ...recorder(direct), onMalformed: () => {} } });
  straight.push(input);
  straight.end();
  t.ok(direct.filter((s) => 'record' in s).length >= 300 * 10, 'the input holds records');
  t.ok(direct.filter((s) => 'signal' in s).length >= 300 * 3, 'and signals');

  for (const [size, own] of [[97, true], [4096, false], [1 << 20, true], [1 << 20, false]] as const) {
    const packer = new RecordPacker(64);
    const parser = new RecordStreamParser({ handler: { onRecord: (r) => packer.addRecord(r), onLostSignal: (k, c) => packer.addSignal(k, c), onMalformed: () => {} } });
    const replayed: Seen[] = [];
    const handler = recorder(replayed);
    let packets = 0, arraysMoved = 0, chunksWithRecords = 0, chunksMoved = 0;
    const cross = (): void => {
      if (packer.count === 0) return;
      const { packed, transfer } = packer.take();
      // what postMessage does with a transfer list: the buffers move, the sender's copies are emptied
      const moved = structuredClone(packed, { transfer }) as PackedRecords;
      packets++;
      if (packed.numbers.byteLength === 0 && packed.ranges.byteLength === 0) arraysMoved++;
      replayPacked(moved, handler);
      packer.recycle(moved);
    };
    for (const chunk of chunksOf(input, size, own)) {
      packer.begin(chunk);
      parser.push(chunk);
      const before = packets;
      cross();
      if (packets > before && moved(chunk) !== null) {
        chunksWithRecords++;
        if (moved(chunk)) chunksMoved++;
      }
    }
    parser.end();
    cross();
    t.same(replayed, direct, `chunks of ${size} bytes${own ? '' : ' (views into one buffer: copied)'}`);
    t.ok(packets > 0 && arraysMoved === packets, `every packet's arrays were moved, not copied (${packets} packets)`);
    // a chunk whose packet points into it is moved when it owns its buffer, copied when it is a view
    t.equal(chunksMoved, own ? chunksWithRecords : 0, `chunks moved: ${chunksMoved} of ${chunksWithRecords}`);
  }
});

/** Whether the chunk's buffer was moved away (null: a view whose sharing buffer stays). */
function moved(chunk: Buffer): boolean | null {
  return chunk.byteLength === 0;
}

t.test('only records from the parsers can be packed', async (t) => {
  const packer = new RecordPacker();
  t.throws(() => packer.addRecord({ pid: 1 } as never), /must come from the parsers/);
});
