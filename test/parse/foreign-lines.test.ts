import t from 'tap';
import { SeccompLineParser } from '../../src/parse/seccomp-line-parser.js';
import type { RelayTrust } from '../../src/parse/record-framing.js';
import { collect } from '../helpers/collect.js';

// Lines other writers than the kernel (and auditd) can put into a log a source reads, each
// holding a record or a lost-records signal that would parse if it stood where the kernel puts
// it. None may become a record, a signal or a malformed line: each is counted as foreign.
// The record asks for `mount` (165) in another process's name: what an attacker wants learned.
const FIELDS = 'auid=4294967295 uid=0 gid=0 ses=4294967295 pid=4101 comm="nginx" exe="/usr/sbin/nginx" sig=0 arch=c000003e syscall=165 compat=0 ip=0x7f0000001000 code=0x7ffc0000';
const KERNEL = `audit: type=1326 audit(1795759595.762:3): ${FIELDS}`;
const AUDITD = `type=SECCOMP msg=audit(1795759595.762:3): ${FIELDS}`;
// nginx escapes '"' in a header as \x22: the injected record uses hex-encoded strings instead,
// which the kernel's format allows
const HEX_FIELDS = FIELDS.replace('comm="nginx"', 'comm=6E67696E78').replace('exe="/usr/sbin/nginx"', 'exe=2F7573722F7362696E2F6E67696E78');
const json = (o: object): string => JSON.stringify(o);

const HOSTILE: [string, string][] = [
  ['nginx access log, record in the User-Agent',
    `10.0.0.7 - - [27/Nov/2026:07:21:26 +0000] "GET / HTTP/1.1" 200 612 "-" "audit: type=1326 audit(1795759595.762:3): ${HEX_FIELDS}"`],
  ['nginx through syslog, record in the User-Agent',
    `Nov 27 07:21:26 node-1 nginx: 10.0.0.7 - - [27/Nov/2026:07:21:26 +0000] "GET / HTTP/1.1" 200 612 "-" "audit: type=1326 audit(1795759595.762:3): ${HEX_FIELDS}"`],
  ['syslog line of another tag', `Nov 27 07:21:26 node-1 someuser: ${KERNEL}`],
  ['syslog line of another tag, RFC 3339 time', `2026-11-27T07:21:26.123456+00:00 node-1 someuser: [  391.088404] ${KERNEL}`],
  ['syslog: the kernel tag inside a user message', `Nov 27 07:21:26 node-1 someuser: x kernel: ${KERNEL}`],
  ['kernel tag, the record inside another kernel message', `Nov 27 07:21:26 node-1 kernel: [  391.088404] usb 1-1: ${KERNEL}`],
  ['kernel tag, two kernel times', `Nov 27 07:21:26 node-1 kernel: [  391.088404] [  391.088404] ${KERNEL}`],
  ['/dev/kmsg, user facility (echo > /dev/kmsg)', `12,1234,391088404,-;${KERNEL}`],
  ['/dev/kmsg, user facility, high level', `14,1234,391088404,-;${KERNEL}`],
  ['/dev/kmsg, kernel facility, record inside the message', `4,1234,391088404,-;x: ${KERNEL}`],
  ['dmesg -r, user facility', `<14>[  391.088404] ${KERNEL}`],
  ['dmesg -r, user facility 12', `<12>[  391.088404] ${KERNEL}`],
  ['dmesg, the record inside the message', `[  391.088404] usb 1-1: ${KERNEL}`],
  ['another program\'s message, record in the middle', `some text then ${KERNEL}`],
  ['a record not at the start of a plain line', `x ${KERNEL}`],
  ['auditd form not at the start of the line', `x ${AUDITD}`],
  ['auditd form inside a syslog message', `Nov 27 07:21:26 node-1 someuser: ${AUDITD}`],
  ['auditd form under the kernel tag', `Nov 27 07:21:26 node-1 kernel: ${AUDITD}`],
  ['audisp-syslog, not trusted by this source', `Nov 27 07:21:26 node-1 audisp-syslog: ${AUDITD}`],
  ['audispd, not trusted by this source', `Nov 27 07:21:26 node-1 audispd[812]: ${AUDITD}`],
  ['logger: SECCOMP auid=', `Nov 27 07:21:26 node-1 logger: SECCOMP ${FIELDS}`],
  ['audit[1]: from a plain syslog file (logger -t audit[1])', `Nov 27 07:21:26 node-1 audit[1]: SECCOMP ${FIELDS}`],
  ['SECCOMP auid= inside a message', `Nov 27 07:21:26 node-1 app[7]: got SECCOMP ${FIELDS}`],
  ['CRI container log line', `2026-11-27T07:21:26.123456789Z stdout F ${KERNEL}`],
  ['docker json-file log line', json({ log: `${KERNEL}\n`, stream: 'stdout', time: '2026-11-27T07:21:26.123456789Z' })],
  ['JSON of an application', json({ level: 'info', msg: KERNEL })],
  ['journald JSON, syslog transport', json({ __CURSOR: 's=1;i=5', _TRANSPORT: 'syslog', MESSAGE: KERNEL })],
  ['journald JSON, stdout transport, SECCOMP text', json({ __CURSOR: 's=1;i=6', _TRANSPORT: 'stdout', MESSAGE: `SECCOMP ${FIELDS}` })],
  ['journald JSON, journal transport', json({ __CURSOR: 's=1;i=9', _TRANSPORT: 'journal', MESSAGE: KERNEL })],
  ['journald JSON, no transport', json({ MESSAGE: KERNEL })],
  ['journald JSON, kernel transport of user facility (echo "x: audit: ..." > /dev/kmsg)',
    json({ _TRANSPORT: 'kernel', SYSLOG_FACILITY: '1', SYSLOG_IDENTIFIER: 'x', MESSAGE: KERNEL })],
  ['journald JSON, kernel transport, record inside the message', json({ _TRANSPORT: 'kernel', MESSAGE: `usb 1-1: ${KERNEL}` })],
  ['journald JSON, audit transport, SECCOMP text inside a user record',
    json({ _TRANSPORT: 'audit', _AUDIT_TYPE: '1107', MESSAGE: `USER_AVC pid=1 uid=0 msg='SECCOMP ${FIELDS}'` })],
  ['journald JSON, audit transport with the printk form', json({ _TRANSPORT: 'audit', _AUDIT_TYPE: '1326', MESSAGE: KERNEL })],
  ['journald JSON, the transport named in a field value only', json({ _TRANSPORT: 'stdout', MESSAGE: `"_TRANSPORT":"kernel" ${KERNEL}` })],
  // lost-record signals: a user must not make the daemon report (or count) losses
  ['fake audit_lost from a user tag', 'Nov 27 07:21:26 node-1 someuser: audit: audit_lost=999999999999 audit_rate_limit=0 audit_backlog_limit=64'],
  ['fake audit_lost in an access log', '10.0.0.7 - - [27/Nov/2026:07:21:26 +0000] "GET /?audit_lost=999999999999 HTTP/1.1" 404 0 "-" "curl"'],
  ['fake callbacks suppressed from a user tag', 'Nov 27 07:21:26 node-1 someuser: kauditd_printk_skb: 999999 callbacks suppressed'],
  ['fake callbacks suppressed inside a kernel message', 'Nov 27 07:21:26 node-1 kernel: [  1.0] x: kauditd_printk_skb: 999999 callbacks suppressed'],
  ['fake backlog limit, user facility kmsg', '12,5,6,-;audit: backlog limit exceeded'],
  ['fake rate limit, dmesg -r user facility', '<14>[  100.000000] audit: rate limit exceeded'],
  ['rate limit exceeded in a message', 'Nov 27 07:21:26 node-1 app[7]: audit: rate limit exceeded'],
  ['fake audit_lost without the audit: prefix', '[  100.000000] x audit_lost=5 audit_rate_limit=0 audit_backlog_limit=64'],
  ['journald JSON, syslog transport, fake audit_lost',
    json({ _TRANSPORT: 'syslog', MESSAGE: 'audit: audit_lost=999999999999 audit_rate_limit=0 audit_backlog_limit=64' })],
];

/** The same lines in the framing their writer uses when it is the kernel or auditd: they parse. */
const LEGITIMATE: [string, string, RelayTrust?][] = [
  ['/dev/kmsg, kernel facility', `4,1234,391088404,-;${KERNEL}`],
  ['/dev/kmsg, kernel facility, caller id in the header', `4,1234,391088404,-,caller=T55;${KERNEL}`],
  ['dmesg -r, kernel facility', `<4>[  391.088404] ${KERNEL}`],
  ['dmesg with caller id', `[  391.088404] [    C1] ${KERNEL}`],
  ['dmesg -t, journalctl -o cat', KERNEL],
  ['syslog tagged kernel:', `Nov 27 07:21:26 node-1 kernel: [  391.088404] ${KERNEL}`],
  ['journalctl -o short-monotonic', `[  391.088404] node-1 kernel: ${KERNEL}`],
  ['journalctl -o short-unix', `1795759595.762000 node-1 kernel: ${KERNEL}`],
  ['auditd', AUDITD],
  ['auditd with its node name', `node=node-1 ${AUDITD}`],
  ['journald JSON, kernel transport', json({ _TRANSPORT: 'kernel', MESSAGE: KERNEL })],
  ['journald JSON, kernel transport, facility 0', json({ _TRANSPORT: 'kernel', SYSLOG_FACILITY: '0', MESSAGE: KERNEL })],
  ['journald JSON, audit transport', json({ _TRANSPORT: 'audit', _AUDIT_TYPE: '1326', _AUDIT_ID: '3', MESSAGE: `SECCOMP ${FIELDS}` })],
  ['audisp-syslog, trusted', `Nov 27 07:21:26 node-1 audisp-syslog: ${AUDITD}`, { audisp: true }],
  ['audispd with pid and node name, trusted', `Nov 27 07:21:26 node-1 audispd[812]: node=node-1 ${AUDITD}`, { audisp: true }],
  ['journalctl\'s audit[PID] rendering, trusted', `Nov 27 07:21:26 node-1 audit[4101]: SECCOMP ${FIELDS}`, { journalText: true }],
];

/** Each line alone, through the line parser (kmsg reads, followed files) as the daemon reads it. */
function lineByLine(line: string, trust: RelayTrust = {}) {
  let records = 0, signals = 0, malformed = 0;
  const parser = new SeccompLineParser({ trust, handler: { onRecord: () => { records++; }, onLostSignal: () => { signals++; }, onMalformed: () => { malformed++; } } });
  // a buffer that runs on past the line, as a reader's does
  const b = Buffer.from(`${line}\n${KERNEL}\n`);
  parser.parseLine(b, 0, Buffer.byteLength(line), 1);
  return { records, signals, malformed, stats: parser.stats };
}

t.test('lines another writer can put into a log are foreign: no record, no signal, not malformed', async (t) => {
  for (const [name, line] of HOSTILE) {
    const bulk = collect(`${line}\n`);
    t.same({ records: bulk.records.length, signals: bulk.signals.length, malformed: bulk.malformed.length, foreign: bulk.stats.foreign }, { records: 0, signals: 0, malformed: 0, foreign: 1 }, `bulk: ${name}`);
    const one = lineByLine(line);
    t.same({ records: one.records, signals: one.signals, malformed: one.malformed, foreign: one.stats.foreign }, { records: 0, signals: 0, malformed: 0, foreign: 1 }, `line by line: ${name}`);
  }
});

t.test('the kernel\'s and auditd\'s own framing parses', async (t) => {
  for (const [name, line, trust] of LEGITIMATE) {
    const bulk = collect(`${line}\n`, 1 << 20, undefined, trust);
    t.match(bulk.records, [{ pid: 4101, syscallNr: 165, syscall: 'mount' }], `bulk: ${name}`);
    t.equal(bulk.stats.foreign, 0, `bulk: ${name}: not foreign`);
    t.equal(lineByLine(line, trust).records, 1, `line by line: ${name}`);
  }
  const signals = collect([
    '4,100,200,-;kauditd_printk_skb: 12 callbacks suppressed',
    '<4>[  100.000000] audit: audit_lost=5 audit_rate_limit=0 audit_backlog_limit=64',
    json({ _TRANSPORT: 'kernel', MESSAGE: 'audit: backlog limit exceeded' }),
    'Nov 27 07:21:26 node-1 kernel: audit: rate limit exceeded',
  ].join('\n') + '\n');
  t.same(signals.signals.map((s) => [s.kind, s.count]), [['printk_suppressed', 12], ['audit_lost', 5], ['backlog_exceeded', 1], ['rate_limit_exceeded', 1]]);
});

t.test('the bulk fast path checks the framing too (a hostile line where the last record line had its marker)', async (t) => {
  // the stream parser tries each line as a record whose `type=` sits where the previous line's
  // did, without looking for the line's end; a hostile line of the same prefix length must not
  // slip through there. It runs only with 16 KiB of input left: hence the padding.
  const legit = `Nov 27 07:21:26 node-1 kernel: [  391.088404] ${KERNEL}`;
  const offset = legit.indexOf('type=1326');
  const hostile = `${'x'.repeat(offset - 'audit: '.length)}${KERNEL}`;
  t.equal(hostile.indexOf('type=1326'), offset, 'the hostile line has its marker at the same offset');
  const lines: string[] = [];
  for (let i = 0; i < 200; i++) lines.push(legit, hostile, `Nov 27 07:21:26 node-1 someuser: ${KERNEL}`.padEnd(legit.length, ' '));
  const text = lines.join('\n') + '\n' + 'filler line\n'.repeat(4000);
  for (const chunk of [1 << 20, 4096, 333]) {
    const got = collect(text, chunk);
    t.equal(got.records.length, 200, `chunks of ${chunk}: only the kernel's lines are records`);
    t.equal(got.stats.foreign, 400, `chunks of ${chunk}: the others are foreign`);
    t.same(got.malformed, [], `chunks of ${chunk}: nothing malformed`);
  }
});
