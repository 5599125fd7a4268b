import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RecordStreamParser } from '../../src/parse/record-stream-parser.js';
import type { RecordHandler } from '../../src/parse/record-handler.js';
import { PacketReader, packetSlots, RecordPacker, SLOT_BYTES, SLOT_ENTRIES } from '../../src/ingest/packed-records.js';
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

t.test('records and signals read on the other side of a thread boundary are what the parser delivered, in order', async (t) => {
  // many copies, so that pieces hold thousands of entries, and one chunk is cut into pieces
  const input = Buffer.from(Array.from({ length: 1200 }, () => LINES.join('\n')).join('\n') + '\n');
  t.ok(input.length > 2 * SLOT_BYTES, 'the input is longer than two pieces');
  const direct: Seen[] = [];
  const straight = new RecordStreamParser({ handler: { ...recorder(direct), onMalformed: () => {} } });
  straight.push(input);
  straight.end();
  t.ok(direct.filter((s) => 'record' in s).length >= 1200 * 10, 'the input holds records');
  t.ok(direct.filter((s) => 'signal' in s).length >= 1200 * 3, 'and signals');

  for (const size of [97, 4096, 1 << 20, input.length]) {
    const slots = packetSlots(2);
    const packer = new RecordPacker(slots);
    const reader = new PacketReader(slots);
    const parser = new RecordStreamParser({ handler: { onRecord: (r) => packer.addRecord(r), onLostSignal: (k, c) => packer.addSignal(k, c), onMalformed: () => {} } });
    const replayed: Seen[] = [];
    const handler = recorder(replayed);
    let slot = 0, packets = 0;
    const cross = (): void => {
      const header = packer.finish();
      if (header.count === 0) return;
      packets++;
      // what postMessage does with the header: a copy; the slot's memory is shared
      reader.replay(structuredClone(header), handler);
    };
    for (let i = 0; i < input.length; i += size) {
      const chunk = input.subarray(i, i + size);
      for (let from = 0; from < chunk.length; from += SLOT_BYTES) {
        // each piece in the other slot: what a slot held before must not leak into the next
        slot = 1 - slot;
        parser.push(packer.begin(slot, chunk, from));
        cross();
      }
    }
    packer.beginEmpty(1 - slot);
    parser.end();
    cross();
    t.same(replayed, direct, `chunks of ${size} bytes, in ${packets} pieces`);
  }
});

t.test('a piece of the shortest entries fits its slot; past the bound the packer refuses', async (t) => {
  const line = 'audit: rate limit exceeded\n';
  const input = Buffer.from(line.repeat(Math.ceil(SLOT_BYTES / line.length)));
  const slots = packetSlots(1);
  const packer = new RecordPacker(slots);
  let signals = 0;
  const parser = new RecordStreamParser({ handler: { onRecord: (r) => packer.addRecord(r), onLostSignal: (k, c) => { signals++; packer.addSignal(k, c); }, onMalformed: () => {} } });
  parser.push(packer.begin(0, input, 0));
  const header = packer.finish();
  t.equal(header.count, signals);
  t.equal(signals, Math.floor(SLOT_BYTES / line.length), 'every whole line of the piece');
  t.ok(header.count < SLOT_ENTRIES);
  packer.beginEmpty(0);
  for (let i = 0; i < SLOT_ENTRIES; i++) packer.addSignal('audit_lost', 1);
  t.throws(() => packer.addSignal('audit_lost', 1), /more than \d+ entries in one piece/);
});

t.test('only records from the parsers can be packed', async (t) => {
  const packer = new RecordPacker(packetSlots(1));
  packer.beginEmpty(0);
  t.throws(() => packer.addRecord({ pid: 1 } as never), /must come from the parsers/);
});
