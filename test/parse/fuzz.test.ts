import t from 'tap';
import { collect } from '../helpers/collect.js';
import { rng } from '../helpers/rng.js';

const GOOD = [
  'audit: type=1326 audit(1795759595.762:3): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=2026 comm="true" exe="/usr/bin/true" sig=0 arch=c000003e syscall=12 compat=0 ip=0x7fcfd5ec1c47 code=0x7ffc0000',
  'type=SECCOMP msg=audit(1613596317.899:6461): auid=4294967295 uid=0 gid=0 ses=4294967295 subj=system_u:system_r:spc_t:s0:c284,c594 pid=2039886 comm="ls" exe="/bin/ls" sig=0 arch=c000003e syscall=3 compat=0 ip=0x7f62dce3d4c7 code=0x7ffc0000\x1dAUID="unset" UID="root"',
  'type=SECCOMP msg=audit(06/08/2015 19:28:47.186:10262) : auid=unset uid=sshd gid=sshd ses=21 pid=11217 comm=sshd exe=/usr/sbin/sshd sig=SIGSYS arch=i386 syscall=getpgid compat=0 ip=0xb7670aac code=kill',
  '{"_TRANSPORT":"audit","_AUDIT_ID":"3","MESSAGE":"SECCOMP auid=0 uid=0 gid=0 ses=1 pid=2 comm=\\"a\\" exe=\\"/a\\" sig=0 arch=c000003e syscall=0 compat=0 ip=0x1 code=0x7ffc0000"}',
  'Dec 26 11:45:54 k8s kernel: [57795.753820] kauditd_printk_skb: 6 callbacks suppressed',
];

function consistent(t: { equal: (a: unknown, b: unknown, m: string) => void }, got: ReturnType<typeof collect>, what: string): void {
  const s = got.stats;
  t.equal(s.records + s.skipped + s.malformed + s.lostSignals + s.foreign, s.lines, `${what}: every line is accounted for once`);
  t.equal(s.records, got.records.length, `${what}: records delivered = counted`);
  t.equal(s.malformed, got.malformed.length, `${what}: malformed delivered = counted`);
}

t.test('random bytes never throw and every line is accounted for', async (t) => {
  const next = rng(42);
  for (let round = 0; round < 50; round++) {
    const buf = Buffer.alloc(4096 + Math.floor(next() * 8192));
    for (let i = 0; i < buf.length; i++) buf[i] = Math.floor(next() * 256);
    // sprinkle markers so the record paths run on garbage too
    const marker = Buffer.from(['type=1326 audit(', 'type=SECCOMP msg=audit(', 'SECCOMP auid=', 'kauditd_printk_skb: '][round % 4]!);
    for (let k = 0; k < 20; k++) marker.copy(buf, Math.floor(next() * (buf.length - marker.length)));
    const got = collect(buf, 1 + Math.floor(next() * 3000));
    consistent(t, got, `round ${round}`);
  }
});

t.test('every truncation of every good line is a record or a reported malformed line', async (t) => {
  for (const line of GOOD) {
    for (let cut = 1; cut <= line.length; cut++) {
      const got = collect(line.slice(0, cut) + '\n');
      consistent(t, got, `cut at ${cut}`);
      if (got.records.length === 0 && got.signals.length === 0 && got.malformed.length === 0) {
        // a cut before the marker is complete leaves a line that is not a record at all
        t.ok(got.stats.skipped === 1, `cut at ${cut} of ${line.slice(0, 30)}... is skipped`);
      }
    }
  }
});

t.test('random mutations of good lines', async (t) => {
  const next = rng(7);
  for (let round = 0; round < 2000; round++) {
    const line = Buffer.from(GOOD[round % GOOD.length]!);
    for (let k = 0; k < 1 + Math.floor(next() * 4); k++) line[Math.floor(next() * line.length)] = Math.floor(next() * 256);
    const got = collect(Buffer.concat([line, Buffer.from('\n')]));
    const s = got.stats;
    if (s.records + s.skipped + s.malformed + s.lostSignals + s.foreign !== s.lines) t.fail(`round ${round} lost a line: ${line.toString('latin1')}`);
  }
  t.pass('2000 mutated lines parsed');
});

t.test('very long lines are cut, not buffered without bound', async (t) => {
  const huge = Buffer.alloc(10 * 1024 * 1024, 0x41);
  const got = collect(Buffer.concat([huge, Buffer.from('\n' + GOOD[0] + '\n')]), 65536);
  t.equal(got.records.length, 1, 'the record after a 10 MiB line still parses');
  t.equal(got.records[0]?.line, 2);
  const longRecord = `${GOOD[0]!.slice(0, 120)}${'x'.repeat(200_000)} arch=c000003e syscall=1 code=0x7ffc0000\n`;
  const cut = collect(longRecord, 4096);
  t.equal(cut.malformed.length, 1, 'a record line cut at the limit is reported, not silently lost');
  const noNewline = collect(Buffer.alloc(3 * 1024 * 1024, 0x20), 1 << 16);
  consistent(t, noNewline, 'stream without newlines');
  t.equal(noNewline.stats.lines, 1);
});

t.test('a line read on the fast path (whole chunks, lines ahead) reads as it does alone', async (t) => {
  // The fast path parses a record line before it knows where the line ends, reading ahead in
  // the chunk; whatever a line holds, it must not take bytes of the line after it. Reference:
  // each line of the same stream parsed on its own (the general path), with its line number.
  const next = rng(1326);
  const fields = [' pid=', ' comm=', ' exe=', ' sig=', ' arch=', ' syscall=', ' compat=', ' ip=', ' code=', ' ses='];
  let compared = 0;
  for (let round = 0; round < Number(process.env['FUZZ_ROUNDS'] ?? 40); round++) {
    const lines: string[] = [];
    for (let i = 0; i < 400; i++) {
      let line = GOOD[i % 2]!.replace(':3)', `:${i})`).replace(':6461)', `:${i})`);
      const odd = next();
      if (odd < 0.05) {
        // a field's key (and so its value's start) gone
        const key = fields[Math.floor(next() * fields.length)]!;
        line = line.replace(key, ' ');
      } else if (odd < 0.08) {
        // a newline or a space where it does not belong
        const at = Math.floor(next() * line.length);
        line = line.slice(0, at) + (next() < 0.5 ? '\n' : ' ') + line.slice(at + 1);
      } else if (odd < 0.1) {
        line = line.slice(0, Math.floor(next() * line.length));
      }
      lines.push(line);
    }
    const text = lines.join('\n') + '\n';
    const whole = collect(text);
    const alone = text.split('\n').slice(0, -1).map((line, i) => {
      const got = collect(line + '\n');
      return { records: got.records.map((r) => ({ ...r, line: i + 1 })), malformed: got.malformed.map((m) => ({ ...m, line: i + 1 })) };
    });
    const expected = { records: alone.flatMap((a) => a.records), malformed: alone.flatMap((a) => a.malformed) };
    if (JSON.stringify(whole.records) !== JSON.stringify(expected.records) || JSON.stringify(whole.malformed) !== JSON.stringify(expected.malformed)) {
      t.same({ records: whole.records, malformed: whole.malformed }, expected, `round ${round}`);
      return;
    }
    compared += whole.records.length;
  }
  t.ok(compared > 10_000, `${compared} records read alike`);
});
