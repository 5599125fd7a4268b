import t, { type Test } from 'tap';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProfileInstaller } from '../../src/deliver/profile-installer.js';
import { ProfileSync, type ProfileSyncEvent } from '../../src/deliver/profile-sync.js';
import { makeTempDir } from '../helpers/real-kernel.js';

const WEB = JSON.stringify({ defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' }] });
const DB = JSON.stringify({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['pread64'], action: 'SCMP_ACT_ALLOW' }] });

let generation = 0;
/**
 * Writes a ConfigMap volume the way the kubelet's atomic writer does: the data in a new
 * `..<timestamp>` directory, `..data` swapped to it by renaming a new symlink over it, one
 * `KEY -> ..data/KEY` symlink per key, then the old directory removed.
 */
function writeConfigMap(dir: string, data: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  const previous = existsSync(join(dir, '..data')) ? readdirSync(dir).filter((f) => f.startsWith('..') && f !== '..data') : [];
  const ts = join(dir, `..2026_11_27_10_00_00.${process.pid}${generation++}`);
  mkdirSync(ts);
  for (const [key, value] of Object.entries(data)) writeFileSync(join(ts, key), value);
  symlinkSync(basename(ts), join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const key of Object.keys(data)) if (!existsSync(join(dir, key))) symlinkSync(join('..data', key), join(dir, key));
  for (const f of readdirSync(dir)) if (!f.startsWith('..') && !(f in data)) unlinkSync(join(dir, f));
  for (const old of previous) rmSync(join(dir, old), { recursive: true });
}

function setup(t: Test, options: { intervalMs?: number } = {}) {
  const base = makeTempDir('sa-sync-');
  const root = join(base, 'kubelet-seccomp');
  mkdirSync(root);
  const configMap = join(base, 'profiles');
  const installer = ProfileInstaller.open({ kubeletSeccompDir: root });
  const events: ProfileSyncEvent[] = [];
  const sync = new ProfileSync({ dir: configMap, installer, intervalMs: options.intervalMs ?? 60_000, settleMs: 50, onEvent: (e) => events.push(e) });
  t.teardown(() => sync.stop());
  return { configMap, installer, events, sync, file: (name: string) => join(installer.dir, `${name}.json`) };
}

async function until(what: string, test: () => boolean, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(20)) if (test()) return;
  throw new Error(`not within ${ms} ms: ${what}`);
}

t.test('valid keys are installed byte for byte; invalid ones are skipped, named and counted once', async (t) => {
  const s = setup(t);
  writeConfigMap(s.configMap, {
    'web.json': WEB,
    'broken.json': '{"defaultAction": "SCMP_ACT_ERRNO", ',
    'typo.json': JSON.stringify({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALOW' }] }),
    'README.md': 'not a profile',
    'Bad_Name.json': WEB,
  });
  s.sync.syncNow();
  t.equal(readFileSync(s.file('web'), 'utf8'), WEB);
  t.same(s.installer.list().map((p) => [p.name, p.source]), [['web', 'configmap']]);
  const invalid = s.events.filter((e) => e.type === 'invalid');
  t.match(invalid, [
    { key: 'Bad_Name.json', problem: /NAME\.json with NAME matching/ },
    { key: 'README.md', problem: /NAME\.json/ },
    { key: 'broken.json', problem: /^not JSON/ },
    { key: 'typo.json', problem: 'syscalls[0].action: "SCMP_ACT_ALOW" is not one of SCMP_ACT_KILL, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_TRAP, SCMP_ACT_ERRNO, SCMP_ACT_TRACE, SCMP_ACT_ALLOW, SCMP_ACT_LOG, SCMP_ACT_NOTIFY' },
  ]);
  t.equal(s.sync.stats.invalid, 4);
  t.notOk(existsSync(s.file('typo')) || existsSync(s.file('broken')));
  s.sync.syncNow();
  s.sync.syncNow();
  t.equal(s.events.length, 5, 'nothing new is reported for what did not change');
  t.equal(s.sync.stats.invalid, 4, 'counted once per content');
});

t.test('a ConfigMap update (..data swap) is picked up through the watch: changed, added, removed keys', async (t) => {
  const s = setup(t);
  writeConfigMap(s.configMap, { 'web.json': WEB, 'db.json': DB });
  s.sync.start();
  t.equal(readFileSync(s.file('db'), 'utf8'), DB);
  writeFileSync(join(s.installer.dir, 'by-hand.json'), WEB); // a profile placed by hand is never touched
  const web2 = WEB.replace('"write"', '"write","close"');
  writeConfigMap(s.configMap, { 'web.json': web2, 'cache.json': DB });
  await until('the swap is synced', () => !existsSync(s.file('db')) && existsSync(s.file('cache')));
  await until('web.json updated', () => readFileSync(s.file('web'), 'utf8') === web2);
  t.equal(s.sync.stats.syncs <= 5, true, `a handful of syncs for one swap, not one per event (${s.sync.stats.syncs})`);
  t.same(s.installer.list().map((p) => p.name), ['cache', 'web']);
  t.equal(readFileSync(join(s.installer.dir, 'by-hand.json'), 'utf8'), WEB);
  t.match(s.events.filter((e) => e.type === 'removed'), [{ name: 'db' }]);

  // a key that turns invalid keeps the version installed before; a key that goes removes its file
  writeConfigMap(s.configMap, { 'web.json': '{"defaultAction": 7}', 'cache.json': DB });
  await until('the broken key is reported', () => s.events.some((e) => e.type === 'invalid' && e.key === 'web.json'));
  t.equal(readFileSync(s.file('web'), 'utf8'), web2, 'the last good version stays');
  writeConfigMap(s.configMap, {});
  await until('everything the ConfigMap held is removed', () => !existsSync(s.file('web')) && !existsSync(s.file('cache')));
  t.ok(existsSync(join(s.installer.dir, 'by-hand.json')));
});

t.test('a directory that appears later is found by the interval; a file edited by hand is not removed', async (t) => {
  const s = setup(t, { intervalMs: 100 });
  s.sync.start();
  t.match(s.events, [{ type: 'error', detail: /cannot read the profiles ConfigMap directory .*profiles \(ENOENT\); mount the ConfigMap seccomp-auditor-profiles there or fix --sync-profiles-from/ }]);
  writeConfigMap(s.configMap, { 'web.json': WEB });
  await until('installed once the directory exists', () => existsSync(s.file('web')));
  t.equal(s.events.filter((e) => e.type === 'error').length, 1, 'the missing directory was reported once');
  writeFileSync(s.file('web'), WEB + '\n');
  writeConfigMap(s.configMap, {});
  await until('the key is gone and synced', () => s.installer.namesFrom('configmap').length === 0);
  t.equal(readFileSync(s.file('web'), 'utf8'), WEB + '\n', 'an edited file stays');
});

t.test('a profile that cannot be written is an error event, not a crash; the next sync tries again', async (t) => {
  const s = setup(t);
  mkdirSync(s.file('web')); // a directory where the file would go: someone else's, refused
  writeConfigMap(s.configMap, { 'web.json': WEB, 'db.json': DB });
  t.doesNotThrow(() => s.sync.syncNow());
  t.match(s.events.filter((e) => e.type === 'refused'), [{ name: 'web', reason: /is a directory, not a regular file/ }]);
  t.ok(existsSync(s.file('db')), 'the other keys are installed');
  s.sync.syncNow();
  t.equal(s.events.filter((e) => e.type === 'refused').length, 1, 'the same refusal is said once');
  rmSync(s.file('web'), { recursive: true });
  s.sync.syncNow();
  t.ok(existsSync(s.file('web')), 'installed once the obstacle is gone');

  // the installation directory moved away under the daemon: every install fails until it is back
  writeConfigMap(s.configMap, { 'web.json': WEB, 'db.json': DB, 'new.json': DB });
  const away = `${s.installer.dir}-away`;
  renameSync(s.installer.dir, away);
  t.doesNotThrow(() => s.sync.syncNow());
  t.match(s.events.filter((e) => e.type === 'error'), [{ detail: /cannot install db\.json as db: .*no longer the directory the daemon opened/ }]);
  s.sync.syncNow();
  t.equal(s.events.filter((e) => e.type === 'error').length, 3, 'each failing key said once (db, new, web)');
  renameSync(away, s.installer.dir);
  s.sync.syncNow();
  t.ok(existsSync(s.file('new')), 'installed once the directory is back');
});

t.test('hostile keys: a link out of the ConfigMap, a FIFO, a huge file, bytes that are not JSON; never read out, never logged', async (t) => {
  const s = setup(t);
  const secret = join(makeTempDir('sa-secret-'), 'shadow');
  writeFileSync(secret, 'root:$6$SECRETHASH:19000:0:99999:7:::\n', { mode: 0o600 });
  writeConfigMap(s.configMap, { 'web.json': WEB, 'junk.json': 'SECRETTOKEN-not-json' });
  symlinkSync(secret, join(s.configMap, 'shadow.json'));
  execFileSync('mkfifo', [join(s.configMap, 'fifo.json')]);
  writeFileSync(join(s.configMap, 'huge.json'), Buffer.alloc(2 << 20, 0x20));
  s.sync.syncNow();
  t.ok(existsSync(s.file('web')), 'the valid key is installed');
  const said = JSON.stringify(s.events);
  t.notMatch(said, /SECRET|root:/, 'no file content in any event');
  const invalid = Object.fromEntries(s.events.filter((e) => e.type === 'invalid').map((e) => [(e as { key: string }).key, (e as { problem: string }).problem]));
  t.match(invalid['shadow.json'], /outside the ConfigMap/);
  t.match(invalid['fifo.json'], /not a regular file/);
  t.match(invalid['huge.json'], /larger than/);
  t.match(invalid['junk.json'], /not JSON/);
  for (const n of ['shadow', 'fifo', 'huge', 'junk']) t.notOk(existsSync(s.file(n)), `${n} not installed`);
});
