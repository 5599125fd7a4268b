import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { collect } from '../helpers/collect.js';
import { SAMPLES_DIR } from '../helpers/paths.js';

// Every line of test/fixtures/samples/audit-lines.log (real lines from public sources, see its
// SOURCES.md), with the fields a person reads off each line by hand.
const SAMPLE = readFileSync(join(SAMPLES_DIR, 'audit-lines.log'));

type Expect = {
  line: number; time: number; serial: number; pid: number; comm: string; exe: string; arch: string;
  syscallNr: number; syscall: string; action: string; uid: number; gid: number; auid?: number; ses?: number;
  sig?: number; subj?: string | null;
};

const busybox = { comm: 'sh', exe: '/bin/busybox', arch: 'x86_64', action: 'log', uid: 0, gid: 0, auid: 4294967295, ses: 4294967295, sig: 0, subj: null };
const bitwarden = { pid: 9952, comm: 'bitwarden', exe: '/snap/bitwarden/4/app/bitwarden', arch: 'x86_64', syscallNr: 92, syscall: 'chown', action: 'errno', uid: 1000, gid: 1000, auid: 1000, ses: 3 };
const echo = { pid: 29064, comm: 'http-echo', exe: '/http-echo', arch: 'x86_64', action: 'log', uid: 0, gid: 0 };

const EXPECTED: Expect[] = [
  { line: 1, time: 1611996299149, serial: 466250, pid: 615549, syscallNr: 1, syscall: 'write', ...busybox },
  { line: 2, time: 1625740283502, serial: 574, pid: 4709, syscallNr: 13, syscall: 'rt_sigaction', ...busybox },
  { line: 3, time: 1613596317899, serial: 6461, pid: 2039886, comm: 'ls', exe: '/bin/ls', arch: 'x86_64', syscallNr: 3, syscall: 'close', action: 'log', uid: 0, gid: 0, subj: 'system_u:system_r:spc_t:s0:c284,c594' },
  { line: 4, time: 1744780616598, serial: 836036, pid: 72503, comm: 'sh', exe: '/bin/dash', arch: 'x86_64', syscallNr: 56, syscall: 'clone', action: 'log', uid: 0, gid: 0, subj: 'system_u:system_r:container_t:s0:c83,c152' },
  { line: 5, time: 1612299677115, serial: 549067, pid: 3109464, syscallNr: 0, syscall: 'read', ...busybox },
  { line: 6, time: 1433785727186, serial: 10262, pid: 11217, comm: 'sshd', exe: '/usr/sbin/sshd', arch: 'i386', syscallNr: 132, syscall: 'getpgid', action: 'kill_thread', uid: 22, gid: 22, auid: 20003, ses: 21, sig: 31 },
  { line: 8, time: 1640519154116, serial: 2520, pid: 21257, comm: 'nginx', exe: '/usr/sbin/nginx', arch: 'aarch64', syscallNr: 242, syscall: 'accept4', action: 'log', uid: 101, gid: 101, subj: 'cri-containerd.apparmor.d' },
  { line: 9, time: 1529532759867, serial: 376, ...bitwarden },
  { line: 10, time: 1529532760079, serial: 377, ...bitwarden },
  { line: 11, time: 1529532760831, serial: 378, ...bitwarden },
  { line: 12, time: 1529532776835, serial: 379, ...bitwarden },
  { line: 13, time: 1594067860484, serial: 14536, syscallNr: 51, syscall: 'getsockname', ...echo },
  { line: 14, time: 1594067860484, serial: 14537, syscallNr: 54, syscall: 'setsockopt', ...echo },
  { line: 15, time: 1594067860484, serial: 14538, syscallNr: 202, syscall: 'futex', ...echo },
  { line: 16, time: 1594067860484, serial: 14539, syscallNr: 288, syscall: 'accept4', ...echo },
  { line: 17, time: 1594067860484, serial: 14540, syscallNr: 0, syscall: 'read', ...echo },
  { line: 18, time: 1594067860484, serial: 14541, syscallNr: 270, syscall: 'pselect6', ...echo },
  { line: 19, time: 1594067920488, serial: 14559, syscallNr: 270, syscall: 'pselect6', ...echo },
  { line: 20, time: 1594067920488, serial: 14560, syscallNr: 202, syscall: 'futex', ...echo },
];

t.test('every sample line parses to the fields it shows', async (t) => {
  const got = collect(SAMPLE);
  t.equal(got.stats.lines, 20, 'the sample has 20 lines');
  t.equal(got.records.length, EXPECTED.length, 'one record per seccomp line');
  t.same(got.malformed, [], 'no sample line is malformed');
  t.same(got.signals, [{ kind: 'printk_suppressed', count: 6, line: 7 }], 'the rate-limit line is a lost-records signal');
  for (const want of EXPECTED) {
    const rec = got.records.find((r) => r.line === want.line);
    if (!rec) { t.fail(`line ${want.line} produced no record`); continue; }
    t.match(rec, want, `line ${want.line}`);
    t.equal(rec.compat, false, `line ${want.line} compat`);
  }
});

t.test('chunk boundaries anywhere give the same records', async (t) => {
  const whole = collect(SAMPLE).records;
  for (const size of [1, 7, 64, 229, 1000]) {
    const split = collect(SAMPLE, size);
    t.same(split.records, whole, `chunks of ${size} bytes`);
    t.equal(split.signals.length, 1, `chunks of ${size} bytes: signal kept`);
  }
});
