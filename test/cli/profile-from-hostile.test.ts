import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { builtCli, runCli } from '../helpers/cli.js';

// `profile --from` against peers that answer whatever they like: real HTTP servers on
// 127.0.0.1. Nothing a peer sends may reach the output unchecked, nor stall or bloat the CLI.

const T0 = '2026-11-27T06:00:00.000Z';
const T1 = '2026-11-27T07:00:00.000Z';

/** What a seccomp-auditor daemon answers for `.../profile?explain=true`, changed by `patch`. */
function answer(patch: (a: { profile: Record<string, unknown>; explain: Record<string, unknown> & { learned: Record<string, unknown> } }) => void = () => {}): string {
  const a = {
    profile: { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1, architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' }] },
    explain: {
      records: 3, syscalls: 2, from: T0, to: T1, notAllowed: [] as unknown[], baselineAdded: [] as string[], unknownNumbers: [] as unknown[],
      learned: { records: 3, from: T0, to: T1, complete: true, losses: [] as unknown[], unattributed: [] as unknown[], young: true, thresholds: { minWindowMinutes: 10, minRecords: 1000 } } as Record<string, unknown>,
    } as Record<string, unknown> & { learned: Record<string, unknown> },
  };
  patch(a);
  return JSON.stringify(a);
}

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

function json(body: string, status = 200) {
  return (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body);
  };
}

const servers: Server[] = [];
t.teardown(() => {
  for (const s of servers) s.closeAllConnections();
  for (const s of servers) s.close();
});
async function peer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const { url, server } = await serve(handler);
  servers.push(server);
  return url;
}

const UNIT = ['--unit', 'nginx.service', '--format', 'systemd'];
const INJECTED = 'write\nExecStartPre=/bin/sh -c "touch /tmp/pwned"';

t.test('a valid answer still gives a drop-in (the checks below refuse only what is wrong)', async (t) => {
  const url = await peer(json(answer()));
  const r = await runCli(['profile', '--from', url, ...UNIT]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /\nSystemCallFilter=read write\n/);
});

t.test('hostile fields are refused with the peer and the field named; nothing reaches stdout', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['a syscall name with a newline (systemd drop-in injection)', answer((a) => { (a.profile.syscalls as { names: string[] }[])[0]!.names = ['read', INJECTED]; }), /profile\.syscalls\[0\]\.names\[1\] is not a syscall name/],
    ['a syscall name no table knows', answer((a) => { (a.profile.syscalls as { names: string[] }[])[0]!.names = ['read', 'frobnicate']; }), /profile\.syscalls\[0\]\.names\[1\] is not a syscall name/],
    ['an architecture with a newline', answer((a) => { a.profile.architectures = ['SCMP_ARCH_X86_64\n[Service]\nExecStart=/bin/sh']; }), /profile\.architectures\[0\] is not a known architecture/],
    ['a rule action other than allow', answer((a) => { a.profile.syscalls = [{ names: ['read'], action: 'SCMP_ACT_KILL' }]; }), /profile\.syscalls\[0\]\.action/],
    ['a time that is not an ISO date', answer((a) => { a.explain.from = `${T0}\nExecStart=/bin/sh`; }), /explain\.from is not an ISO date/],
    ['notAllowed with an injected name', answer((a) => { a.explain.notAllowed = [{ name: INJECTED, arch: 'x86_64', action: 'errno' }]; }), /explain\.notAllowed\[0\]\.name is not a syscall name/],
    ['notAllowed with an unknown arch', answer((a) => { a.explain.notAllowed = [{ name: 'ptrace', arch: 'vax', action: 'errno' }]; }), /explain\.notAllowed\[0\]\.arch/],
    ['a negative record count', answer((a) => { a.explain.records = -5; }), /explain\.records/],
    ['an unknown number with a hostile arch', answer((a) => { a.explain.unknownNumbers = [{ arch: 'x\n[Service]', nr: 1 }]; }), /explain\.unknownNumbers\[0\]\.arch/],
    // what the part was learned from: the CLI decides completeness on it, and prints its loss sources
    ['complete with losses', answer((a) => { a.explain.learned.losses = [{ source: 'kmsg', reason: 'overwritten', count: 3, from: T0, to: T1 }]; }), /explain\.learned\.complete does not agree/],
    ['a loss source with a newline', answer((a) => { a.explain.learned.complete = false; a.explain.learned.losses = [{ source: 'kmsg\n[Service]', reason: 'overwritten', count: 3, from: T0, to: T1 }]; }), /explain\.learned\.losses\[0\]\.source is not a source name/],
    ['a loss without an interval', answer((a) => { a.explain.learned.complete = false; a.explain.learned.losses = [{ source: 'kmsg', reason: 'overwritten', count: 3, from: null, to: T1 }]; }), /explain\.learned\.losses\[0\] has no interval/],
    ['a learned window other than explain\'s', answer((a) => { a.explain.learned.records = 1; }), /explain\.learned does not describe the records and window/],
    ['complete as a string', answer((a) => { a.explain.learned.complete = 'true'; }), /explain\.learned\.complete is not a boolean/],
  ];
  for (const [what, body, problem] of cases) {
    const url = await peer(json(body));
    for (const extra of [UNIT, ['--unit', 'nginx.service', '--explain'], ['--unit', 'nginx.service']]) {
      const r = await runCli(['profile', '--from', url, ...extra]);
      t.equal(r.code, 1, `${what}: ${extra.join(' ')}`);
      t.equal(r.stdout, '', `${what}: nothing printed`);
      t.match(r.stderr, `seccomp-auditor profile: ${url} answered`, `${what}: the peer is named`);
      t.match(r.stderr, problem, what);
      t.notMatch(r.stderr, /ExecStart|\[Service\]/, `${what}: the hostile text is not echoed`);
      t.equal(r.stderr.trimEnd().split('\n').length, 1, `${what}: one line`);
    }
  }
});

t.test('an error message from the peer is printed without its control characters', async (t) => {
  const url = await peer(json(JSON.stringify({ code: 'X', message: 'boom\u001b[2J\u001b[31m\nseccomp-auditor profile: all good\r' }), 500));
  const r = await runCli(['profile', '--from', url, ...UNIT]);
  t.equal(r.code, 1);
  t.notMatch(r.stderr, /[\u0000-\u0009\u000b-\u001f\u007f]/, 'no escape, no carriage return');
  t.equal(r.stderr.split('\n').length, 2, 'one line and its newline');
  t.match(r.stderr, `${url} answered 500: boom`);
});

t.test('a redirect is not followed', async (t) => {
  const good = await peer(json(answer()));
  const url = await peer((_req, res) => {
    res.writeHead(302, { location: `${good}/api/v1/units/nginx.service/profile?explain=true` });
    res.end();
  });
  const r = await runCli(['profile', '--from', url, ...UNIT]);
  t.equal(r.code, 1, 'an error, not the other server\'s profile');
  t.equal(r.stdout, '');
  t.match(r.stderr, `${url} answered with a redirect`);
});

t.test('credentials in a --from URL never appear in a message', async (t) => {
  const url = await peer(json(answer()));
  const withCredentials = url.replace('http://', 'http://admin:s3cr3t-pw@');
  const r = await runCli(['profile', '--from', withCredentials, ...UNIT]);
  t.not(r.code, 0);
  t.notMatch(r.stderr, /s3cr3t-pw/);
  t.match(r.stderr, /--token-file/, 'says how to give a token instead');
  const broken = await runCli(['profile', '--from', 'http://admin:s3cr3t-pw@[::1', ...UNIT]);
  t.equal(broken.code, 2);
  t.notMatch(broken.stderr, /s3cr3t-pw/, 'not even when the URL does not parse');
});

t.test('an endless answer is cut at the cap: the CLI stays small and says so', async (t) => {
  const chunk = Buffer.alloc(1 << 20, 0x20);
  let sent = 0;
  let hungUpAt = -1;
  const url = await peer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"profile":{"syscalls":[],"architectures":[]},"explain":{"pad":"');
    // up to 2 GiB, as fast as the client reads; stops when it hangs up
    const more = (): void => {
      while (sent < 2048) {
        sent++;
        if (!res.write(chunk)) { res.once('drain', more); return; }
      }
      res.end('"}}');
    };
    res.on('close', () => { hungUpAt = sent; sent = 1 << 30; });
    more();
  });
  const child = spawn(process.execPath, [builtCli(), 'profile', '--from', url, ...UNIT], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
  let peak = 0;
  const sample = setInterval(() => {
    try {
      const kb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0);
      peak = Math.max(peak, kb);
    } catch {
      // exited
    }
  }, 20);
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const [code] = await once(child, 'exit');
  clearTimeout(timer);
  clearInterval(sample);
  t.equal(code, 1, stderr);
  t.match(stderr, new RegExp(`${url} answered more than \\d+ MiB`));
  t.ok(peak > 0 && peak < 200 * 1024, `peak RSS ${Math.round(peak / 1024)} MiB stays under 200 MiB`);
  t.ok(hungUpAt >= 0 && hungUpAt < 64, `the peer was hung up on early (${hungUpAt} MiB sent)`);
});
