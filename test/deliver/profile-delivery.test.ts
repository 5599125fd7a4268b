import t from 'tap';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { logAllProfileBytes } from '../../src/profile/log-all-profile.js';
import { builtCli } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/real-kernel.js';

// The daemon as it ships: the built CLI's `run` with --source none (no kernel involved), its
// JSON log lines read as they come, its API asked over a real socket.
interface LogLine { event?: string; level?: number; listen?: string; path?: string; error?: string; key?: string; name?: string; msg?: string }

function startDaemon(t: { teardown(f: () => void): void }, args: string[], env: NodeJS.ProcessEnv = {}) {
  const db = join(makeTempDir('sa-delivery-db-'), 'test.db');
  const child = spawn(process.execPath, [builtCli(), 'run', '--source', 'none', '--listen', '127.0.0.1:0', '--db', db, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env },
  });
  t.teardown(() => { child.kill('SIGKILL'); });
  const lines: LogLine[] = [];
  createInterface({ input: child.stdout! }).on('line', (text) => lines.push(JSON.parse(text) as LogLine));
  const waitFor = async (what: string, test: (l: LogLine) => boolean, ms = 10_000): Promise<LogLine> => {
    for (const end = Date.now() + ms; Date.now() < end; await sleep(20)) {
      const found = lines.find(test);
      if (found) return found;
    }
    throw new Error(`no ${what} within ${ms} ms; got ${JSON.stringify(lines)}`);
  };
  return { child, lines, waitFor };
}

function kubeletDir(): string {
  const root = join(makeTempDir('sa-delivery-'), 'seccomp');
  mkdirSync(root);
  return root;
}

t.test('on start: log-all.json in <kubelet seccomp dir>/seccomp-auditor/, listed by the API', async (t) => {
  const root = kubeletDir();
  const d = startDaemon(t, ['--kubelet-seccomp-dir', root]);
  const installed = await d.waitFor('profile_installed', (l) => l.event === 'profile_installed');
  t.match(installed, { path: join(root, 'seccomp-auditor', 'log-all.json'), msg: /localhostProfile: seccomp-auditor\/log-all\.json/ });
  t.equal(readFileSync(join(root, 'seccomp-auditor', 'log-all.json'), 'utf8'), logAllProfileBytes());
  const started = await d.waitFor('started', (l) => l.event === 'started');
  const list = await (await fetch(`http://${started.listen}/api/v1/profiles`)).json() as { items: { name: string; source: string; localhostProfile: string }[] };
  t.match(list.items, [{ name: 'log-all', source: 'builtin', localhostProfile: 'seccomp-auditor/log-all.json' }]);
  const metrics = await (await fetch(`http://${started.listen}/metrics`)).text();
  t.match(metrics, /seccomp_auditor_profiles_installed\{source="builtin"\} 1\n/);
  d.child.kill('SIGTERM');
  await new Promise((r) => d.child.once('exit', r));
});

t.test('a log-all.json someone else wrote is left alone, with a warning', async (t) => {
  const root = kubeletDir();
  mkdirSync(join(root, 'seccomp-auditor'));
  writeFileSync(join(root, 'seccomp-auditor', 'log-all.json'), '{"defaultAction": "SCMP_ACT_LOG"}');
  const d = startDaemon(t, ['--kubelet-seccomp-dir', root]);
  const warning = await d.waitFor('profile_install_failed', (l) => l.event === 'profile_install_failed');
  t.match(warning, { level: 40, error: /log-all\.json exists and was not written by seccomp-auditor; leaving it alone/ });
  t.equal(readFileSync(join(root, 'seccomp-auditor', 'log-all.json'), 'utf8'), '{"defaultAction": "SCMP_ACT_LOG"}');
});

t.test('a missing kubelet seccomp directory: one warning with the path and the fix, and the daemon runs on', async (t) => {
  const missing = join(makeTempDir('sa-delivery-'), 'no-such-dir');
  const d = startDaemon(t, [], { SECCOMP_AUDITOR_KUBELET_SECCOMP_DIR: missing });
  const warning = await d.waitFor('profile_install_failed', (l) => l.event === 'profile_install_failed');
  t.match(warning, { level: 40, path: missing, error: /does not exist: create it \(in a DaemonSet: a hostPath volume of type DirectoryOrCreate\) or point --kubelet-seccomp-dir at it/ });
  const started = await d.waitFor('started', (l) => l.event === 'started');
  t.equal((await fetch(`http://${started.listen}/healthz`)).status, 200);
  t.equal(d.lines.filter((l) => l.event === 'profile_install_failed').length, 1, 'one warning');
  const post = await fetch(`http://${started.listen}/api/v1/profiles/web`, { method: 'POST', body: '{"defaultAction":"SCMP_ACT_ERRNO"}', headers: { 'content-type': 'application/json' } });
  t.equal(post.status, 403, 'no token configured: mutations are off before anything else');
});

t.test('none, or an empty value, turns installation off', async (t) => {
  for (const [args, env] of [[['--kubelet-seccomp-dir', 'none'], {}], [[], { SECCOMP_AUDITOR_KUBELET_SECCOMP_DIR: '' }], [['--kubelet-seccomp-dir', ''], {}]] as const) {
    const d = startDaemon(t, [...args], env);
    const started = await d.waitFor('started', (l) => l.event === 'started');
    t.same(await (await fetch(`http://${started.listen}/api/v1/profiles`)).json(), { directory: null, items: [] }, JSON.stringify([args, env]));
    t.notOk(d.lines.some((l) => l.event?.startsWith('profile_')), 'not a word about profiles');
    d.child.kill('SIGTERM');
    await new Promise((r) => d.child.once('exit', r));
  }
});

t.test('--sync-profiles-from: a ConfigMap volume is installed and followed through a ..data swap', async (t) => {
  const root = kubeletDir();
  const cm = join(makeTempDir('sa-delivery-cm-'), 'profiles');
  let gen = 0;
  // the kubelet's atomic writer: new ..<timestamp> dir, ..data swapped by rename, KEY -> ..data/KEY
  const writeConfigMap = (data: Record<string, string>) => {
    mkdirSync(cm, { recursive: true });
    const old = readdirSync(cm).filter((f) => f.startsWith('..') && f !== '..data');
    const ts = join(cm, `..2026_11_27_${gen++}`);
    mkdirSync(ts);
    for (const [k, v] of Object.entries(data)) writeFileSync(join(ts, k), v);
    symlinkSync(basename(ts), join(cm, '..data_tmp'));
    renameSync(join(cm, '..data_tmp'), join(cm, '..data'));
    for (const k of Object.keys(data)) if (!existsSync(join(cm, k))) symlinkSync(join('..data', k), join(cm, k));
    for (const f of readdirSync(cm)) if (!f.startsWith('..') && !(f in data)) unlinkSync(join(cm, f));
    for (const o of old) rmSync(join(cm, o), { recursive: true });
  };
  const web = '{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}';
  writeConfigMap({ 'web.json': web, 'bad.json': '{"defaultAction":"SCMP_ACT_NOPE"}' });
  const d = startDaemon(t, ['--kubelet-seccomp-dir', root, '--sync-profiles-from', cm]);
  await d.waitFor('web installed', (l) => l.event === 'profile_installed' && l.name === 'web');
  t.equal(readFileSync(join(root, 'seccomp-auditor', 'web.json'), 'utf8'), web);
  t.match(await d.waitFor('bad reported', (l) => l.event === 'profile_invalid'), { key: 'bad.json', error: /defaultAction: "SCMP_ACT_NOPE" is not one of/, msg: /ConfigMap key bad\.json skipped/ });
  writeConfigMap({ 'db.json': web });
  await d.waitFor('web removed', (l) => l.event === 'profile_removed' && l.name === 'web');
  await d.waitFor('db installed', (l) => l.event === 'profile_installed' && l.name === 'db');
  t.notOk(existsSync(join(root, 'seccomp-auditor', 'web.json')));
  const started = await d.waitFor('started', (l) => l.event === 'started');
  const list = await (await fetch(`http://${started.listen}/api/v1/profiles`)).json() as { items: { name: string; source: string }[] };
  t.same(list.items.map((p) => [p.name, p.source]), [['db', 'configmap'], ['log-all', 'builtin']]);
  const metrics = await (await fetch(`http://${started.listen}/metrics`)).text();
  t.match(metrics, /seccomp_auditor_profiles_invalid_total 1\n/);
});

t.test('--sync-profiles-from without installation is a usage error', async (t) => {
  const d = startDaemon(t, ['--kubelet-seccomp-dir', 'none', '--sync-profiles-from', '/tmp']);
  let stderr = '';
  d.child.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
  const [code] = await new Promise<[number | null]>((r) => d.child.once('exit', (c) => r([c])));
  t.equal(code, 2);
  t.match(stderr, /--sync-profiles-from needs profile installation: give --kubelet-seccomp-dir PATH \(not none\)/);
  const help = spawn(process.execPath, [builtCli(), 'run', '--help'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  help.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  await new Promise((r) => help.once('exit', r));
  t.match(out, /--kubelet-seccomp-dir PATH +.*\(default: \/var\/lib\/kubelet\/seccomp; env SECCOMP_AUDITOR_KUBELET_SECCOMP_DIR\)/);
  t.match(out, /--sync-profiles-from DIR +.*\(env SECCOMP_AUDITOR_SYNC_PROFILES_FROM\)/);
});
