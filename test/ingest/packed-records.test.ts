import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RecordStreamParser } from '../../src/parse/record-stream-parser.js';
import type { RecordHandler } from '../../src/parse/record-handler.js';
import { PacketReader, packetSlots, RecordPacker, SLOT_BYTES, SLOT_ENTRIES } from '../../src/ingest/packed-records.js';
import { recordScan } from '../../src/ingest/record-scan-addon.js';
import type { LostSignalKind, SeccompRecordData } from '../../src/types/seccomp-record.js';
import { rng } from '../helpers/rng.js';


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

/** Where two long lists first differ, with both sides there (a diff of the whole would be huge). */
function firstDifference<T>(got: readonly T[], want: readonly T[]): { at: number; got: T | undefined; want: T | undefined } | null {
  for (let i = 0; i < Math.max(got.length, want.length); i++) {
    if (JSON.stringify(got[i]) !== JSON.stringify(want[i])) return { at: i, got: got[i], want: want[i] };
  }
  return null;
}

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

  for (const [size, scan] of [97, 4096, 1 << 20, input.length].flatMap((size) => [[size, null], [size, recordScan()]] as const)) {
    const slots = packetSlots(2);
    const packer = new RecordPacker(slots, scan);
    const reader = new PacketReader(slots);
    const parser = new RecordStreamParser({ runs: packer, handler: { onRecord: (r) => packer.addRecord(r), onLostSignal: (k, c) => packer.addSignal(k, c), onMalformed: () => {} } });
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
    t.same(replayed, direct, `chunks of ${size} bytes, in ${packets} pieces${scan === null ? '' : ', auditd lines read natively'}`);
    t.same(parser.stats, straight.stats, 'the same lines counted');
  }
});

t.test('the native reader of auditd lines is built (npm install builds it)', async (t) => {
  t.not(recordScan(), null);
});

t.test("auditd lines read natively into entries are what the parser delivers, whatever a line holds", async (t) => {
  // auditd's SECCOMP lines in the kernel's order, and around them what the native reader must
  // leave to the parser (or read exactly as it does): every key missing in turn, a newline or a
  // stray byte anywhere, cut lines, other record types, CRLF, auditd's enriched suffix, labels,
  // each action, numbers too long, a line longer than the native window, and other forms
  const next = rng(1326);
  const codes = ['7ffc0000', '00050001', '80000000', '00000000', '00030000', '7fc00000', '7ff00000', '7fff0000', '12340000', 'ffffffff'];
  const stamp = (i: number): string => `type=SECCOMP msg=audit(${1795759595 + i}.${String(i % 1000).padStart(3, '0')}:${i}): `;
  const line = (i: number): string => {
    const subj = i % 7 === 0 ? 'subj=system_u:system_r:container_t:s0:c19,c27 ' : '';
    return `${stamp(i)}auid=4294967295 uid=0 gid=0 ses=4294967295 ${subj}pid=${1000 + (i % 5000)} comm="c${i % 13}" exe="/bin/e${i % 11}" sig=0 arch=c000003e syscall=${i % 450} compat=0 ip=0x7f${(i * 2654435761 >>> 0).toString(16)} code=0x${codes[i % codes.length]}`;
  };
  const odd = (i: number, l: string): string => {
    const k = Math.floor(next() * 15);
    switch (k) {
      case 0: return l.replace([' pid=', ' comm=', ' exe=', ' sig=', ' arch=', ' syscall=', ' compat=', ' ip=0x', ' code=0x', 'auid='][Math.floor(next() * 10)]!, ' ');
      case 1: { const at = Math.floor(next() * l.length); return l.slice(0, at) + '\n' + l.slice(at + 1); }
      case 2: { const at = Math.floor(next() * l.length); return l.slice(0, at) + String.fromCharCode(Math.floor(next() * 256)) + l.slice(at + 1); }
      case 3: return l.slice(0, Math.floor(next() * l.length));
      case 4: return `type=PATH msg=audit(${i}.000:${i}): item=0 name="/etc/x" inode=1`;
      case 5: return l + '\r';
      case 6: return `${l}\x1dAUID="unset" UID="root" ARCH=x86_64`;
      case 7: return l.replace('pid=', 'pid=12345678901');
      case 8: return l.replace('exe="', `exe="${'x'.repeat(17_000)}`);
      case 9: return `audit: type=1326 audit(1.000:${i}): auid=1 uid=2 gid=3 ses=4 pid=5 comm="a" exe="/a" sig=0 arch=c000003e syscall=0 compat=0 ip=0x1 code=0x7ffc0000`;
      case 10: return l.replace('comm="', 'comm=').replace('" exe', ' exe');
      case 11: return l.replace('arch=c000003e', 'arch=C000003E');
      case 12: return 'type=';
      // numbers past 2^53, which only the parser's doubles read (the native reader leaves them)
      case 13: return next() < 0.5 ? l.replace('sig=0', 'sig=98765432109876543210') : l.replace('msg=audit(', 'msg=audit(9999999');
      default: return l.replace('msg=audit(', 'msg=audit( ');
    }
  };
  const lines = Array.from({ length: 40_000 }, (_, i) => (next() < 0.15 ? odd(i, line(i)) : line(i)));
  const input = Buffer.from(lines.join('\n') + '\n');

  const direct: Seen[] = [];
  const directBad: number[] = [];
  const straight = new RecordStreamParser({ handler: { ...recorder(direct), onMalformed: (n) => directBad.push(n) } });
  straight.push(input);
  straight.end();

  for (const size of [1 << 20, 65_536]) {
    const slots = packetSlots(2);
    const packer = new RecordPacker(slots, recordScan());
    const reader = new PacketReader(slots);
    const bad: number[] = [];
    // counted as they go, to show the native reader took most lines (not that the parser did all)
    let native = 0;
    const runs = { readRun: (chunk: Buffer, pos: number, end: number): number => { const after = packer.readRun(chunk, pos, end); native += packer.records; return after; }, get records() { return packer.records; }, get skipped() { return packer.skipped; } };
    const parser = new RecordStreamParser({ runs, handler: { onRecord: (r) => packer.addRecord(r), onLostSignal: (k, c) => packer.addSignal(k, c), onMalformed: (n) => bad.push(n) } });
    const replayed: Seen[] = [];
    const handler = recorder(replayed);
    let slot = 0;
    for (let from = 0; from < input.length; from += size) {
      slot = 1 - slot;
      parser.push(packer.begin(slot, input.subarray(from, from + size), 0));
      reader.replay(structuredClone(packer.finish()), handler);
    }
    packer.beginEmpty(1 - slot);
    parser.end();
    reader.replay(structuredClone(packer.finish()), handler);
    t.same(firstDifference(replayed, direct), null, `pieces of ${size} bytes: the same records, in order`);
    t.same(parser.stats, straight.stats, 'the same lines counted');
    t.same(firstDifference(bad, directBad), null, 'malformed lines at the same line numbers');
    t.ok(native > 30_000, `${native} of ${direct.length} records read natively`);
  }
  t.ok(direct.length > 30_000 && directBad.length > 500, `${direct.length} records, ${directBad.length} malformed lines compared`);
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
