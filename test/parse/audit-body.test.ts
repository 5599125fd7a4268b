import t from 'tap';
import type { RecordHandler } from '../../src/parse/record-handler.js';
import { SeccompLineParser } from '../../src/parse/seccomp-line-parser.js';
import type { SeccompRecordData } from '../../src/types/seccomp-record.js';

// The body of an AUDIT_SECCOMP netlink message as the kernel sends it to the multicast group
// (measured on these machines: no `type=` prefix, the netlink type says 1326; no NUL guaranteed).
const FIELDS = 'auid=4294967295 uid=0 gid=0 ses=4294967295 pid=2026 comm="true" exe="/usr/bin/true" sig=0 arch=c000003e syscall=12 compat=0 ip=0x7fcfd5ec1c47 code=0x7ffc0000';

function parseBodies(bodies: Buffer[]): { records: SeccompRecordData[]; malformed: string[] } {
  const out = { records: [] as SeccompRecordData[], malformed: [] as string[] };
  const handler: RecordHandler = {
    onRecord: (rec) => void out.records.push(rec.snapshot()),
    onLostSignal: () => undefined,
    onMalformed: (_line, reason) => void out.malformed.push(reason),
  };
  const parser = new SeccompLineParser({ handler });
  bodies.forEach((b, i) => parser.parseAuditBody(b, 0, b.length, i + 1));
  return out;
}

t.test('the netlink body parses like the printk form', async (t) => {
  const got = parseBodies([Buffer.from(`audit(1795759595.762:3): ${FIELDS}`)]);
  t.same(got.malformed, []);
  t.equal(got.records.length, 1);
  t.match(got.records[0], { time: 1795759595762, serial: 3, pid: 2026, comm: 'true', exe: '/usr/bin/true', auditArch: 0xc000003e, syscallNr: 12, action: 'log' });
});

t.test('a body inside a larger buffer is read within its bounds only', async (t) => {
  const body = `audit(1795759595.762:4): ${FIELDS}`;
  const buf = Buffer.from(`${body}\0garbage pid=1 syscall=99`);
  const handler: RecordHandler = { onRecord: (r) => void recs.push(r.snapshot()), onLostSignal: () => undefined, onMalformed: (_l, reason) => void bad.push(reason) };
  const recs: SeccompRecordData[] = [];
  const bad: string[] = [];
  new SeccompLineParser({ handler }).parseAuditBody(buf, 0, Buffer.byteLength(body), 1);
  t.same(bad, []);
  t.equal(recs[0]?.syscallNr, 12);
  t.equal(recs[0]?.serial, 4);
});

t.test('a body with an older kernel field order takes the general path', async (t) => {
  // kernels before 4.14 printed `auid uid gid ses pid comm exe sig arch syscall compat ip code` too, but
  // an LSM label (subj=) with spaces and a missing ip= must still parse
  const got = parseBodies([Buffer.from('audit(1795759595.762:5): auid=0 uid=0 gid=0 ses=1 subj=unconfined pid=7 comm="sh" exe="/bin/sh" sig=0 arch=c000003e syscall=59 compat=0 code=0x7ffc0000')]);
  t.same(got.malformed, []);
  t.match(got.records[0], { pid: 7, syscallNr: 59, comm: 'sh' });
});

t.test('broken bodies are malformed, never records', async (t) => {
  const got = parseBodies([
    Buffer.from(FIELDS),
    Buffer.from(`audit(17957595x.762:3): ${FIELDS}`),
    Buffer.from('audit(1795759595.762:3): auid=0 uid=0 comm="x"'),
  ]);
  t.equal(got.records.length, 0);
  t.same(got.malformed, ['missing audit() timestamp', 'bad audit() timestamp', 'missing pid']);
});
