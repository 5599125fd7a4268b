import t from 'tap';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { logAllProfileBytes, nativeSeccompArches } from '../../src/profile/log-all-profile.js';
import { isProfileName, ProfileDirError, ProfileInstaller, PROFILE_NAME_MAX } from '../../src/deliver/profile-installer.js';
import { checkOciProfile } from '../../src/profile/oci-profile-check.js';
import { makeTempDir } from '../helpers/real-kernel.js';
import { mountsUnavailable, remount, tinyTmpfs } from '../store/scratch-mounts.js';

const PROFILE = JSON.stringify({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] }) + '\n';
const OTHER = JSON.stringify({ defaultAction: 'SCMP_ACT_LOG' }) + '\n';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

function kubeletDir(): string {
  const root = join(makeTempDir('sa-kubelet-'), 'seccomp');
  mkdirSync(root);
  return root;
}

t.test('log-all.json: SCMP_ACT_LOG with the native arch and its compat arches, a profile our own check accepts', async (t) => {
  t.same(JSON.parse(logAllProfileBytes('x64', 'LE')), { defaultAction: 'SCMP_ACT_LOG', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'] });
  t.same(nativeSeccompArches('arm64'), ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  t.same(nativeSeccompArches('ppc64', 'LE'), ['SCMP_ARCH_PPC64LE']);
  t.equal(nativeSeccompArches('sparc'), null);
  t.same(JSON.parse(logAllProfileBytes('sparc', 'BE')), { defaultAction: 'SCMP_ACT_LOG' }, 'an unknown machine: native only');
  t.ok(checkOciProfile(JSON.parse(logAllProfileBytes())).ok);
  t.match(logAllProfileBytes(), /^\{\n {2}"defaultAction": "SCMP_ACT_LOG",\n/);
});

t.test('install writes atomically into seccomp-auditor/, records ownership, and is idempotent', async (t) => {
  const root = kubeletDir();
  let now = 1_700_000_000_000;
  const installer = ProfileInstaller.open({ kubeletSeccompDir: root, clock: () => now });
  t.equal(installer.dir, join(root, 'seccomp-auditor'));
  const first = installer.install('web', PROFILE, 'api');
  t.match(first, { outcome: 'written', profile: { name: 'web', sha256: sha(PROFILE), source: 'api', installedAt: now } });
  t.equal(readFileSync(join(root, 'seccomp-auditor', 'web.json'), 'utf8'), PROFILE);
  t.equal(statSync(join(root, 'seccomp-auditor', 'web.json')).mode & 0o777, 0o644);
  now += 1000;
  t.match(installer.install('web', PROFILE, 'api'), { outcome: 'unchanged', profile: { installedAt: now - 1000 } }, 'the same bytes again: nothing written');
  t.match(installer.install('web', OTHER, 'api'), { outcome: 'written', profile: { sha256: sha(OTHER), installedAt: now } });
  t.same(readdirSync(installer.dir).sort(), ['.seccomp-auditor-installed.json', 'web.json'], 'no temporary file left behind');
  t.same(installer.list().map((p) => [p.name, p.source]), [['web', 'api']]);

  // a new installer (a restarted daemon) reads the record back
  const again = ProfileInstaller.open({ kubeletSeccompDir: root });
  t.same(again.list(), installer.list());
  t.equal(again.remove('web', 'api'), 'removed');
  t.notOk(existsSync(join(installer.dir, 'web.json')));
  t.equal(again.remove('web', 'api'), 'absent');
});

t.test('a file the daemon did not write, or that was changed since, is left alone', async (t) => {
  const root = kubeletDir();
  const installer = ProfileInstaller.open({ kubeletSeccompDir: root });
  const byHand = join(installer.dir, 'hand.json');
  writeFileSync(byHand, OTHER);
  const r = installer.install('hand', PROFILE, 'configmap');
  t.match(r, { outcome: 'refused', reason: /hand\.json exists and was not written by seccomp-auditor; leaving it alone/ });
  t.equal(readFileSync(byHand, 'utf8'), OTHER);
  t.equal(installer.remove('hand', 'configmap'), 'refused', 'not ours to remove');
  t.ok(existsSync(byHand));

  installer.install('mine', PROFILE, 'configmap');
  writeFileSync(installer.pathOf('mine'), OTHER); // someone edits it
  t.match(installer.install('mine', PROFILE + ' ', 'configmap'), { outcome: 'refused', reason: /was changed since seccomp-auditor wrote it/ });
  t.equal(readFileSync(installer.pathOf('mine'), 'utf8'), OTHER);
  t.same(installer.list().map((p) => p.name), [], 'a changed file is not listed as installed');
  t.equal(installer.remove('mine', 'configmap'), 'refused');
  t.ok(existsSync(installer.pathOf('mine')), 'an edited file is not removed');

  // the exact bytes the daemon would write are adopted (a lost record, a copy placed by hand)...
  writeFileSync(installer.pathOf('same'), PROFILE);
  t.match(installer.install('same', PROFILE, 'api'), { outcome: 'unchanged', profile: { source: 'api' } });
  t.same(installer.list().map((p) => p.name), ['same'], 'listed as installed');
  // ...but never deleted: pods may have been started with the file placed by hand
  t.equal(installer.remove('same', 'api'), 'refused');
  t.equal(readFileSync(installer.pathOf('same'), 'utf8'), PROFILE, 'an adopted file stays');
  t.same(installer.list().map((p) => p.name), [], 'and is forgotten');
  // nor overwritten: adoption only lets it be listed (profile-installer-hostile.test.ts)
  writeFileSync(installer.pathOf('taken'), PROFILE);
  installer.install('taken', PROFILE, 'configmap');
  t.match(installer.install('taken', OTHER, 'configmap'), { outcome: 'refused' });
  t.equal(readFileSync(installer.pathOf('taken'), 'utf8'), PROFILE);
});

t.test('sources: the ConfigMap takes over from the API, not the other way; builtin names are reserved', async (t) => {
  const installer = ProfileInstaller.open({ kubeletSeccompDir: kubeletDir() });
  t.match(installer.install('log-all', PROFILE, 'api'), { outcome: 'refused', reason: /daemon's own profile/ });
  t.match(installer.install('log-all', logAllProfileBytes(), 'builtin'), { outcome: 'written' });
  t.match(installer.install('shared', PROFILE, 'api'), { outcome: 'written' });
  t.match(installer.install('shared', OTHER, 'configmap'), { outcome: 'written', profile: { source: 'configmap' } });
  t.match(installer.install('shared', PROFILE, 'api'), { outcome: 'refused', reason: /comes from the ConfigMap; change it there/ });
  t.equal(installer.remove('shared', 'api'), 'refused');
  t.same(installer.namesFrom('configmap'), ['shared']);
  for (const bad of ['../etc/passwd', 'a/b', '.hidden', 'UPPER', '', 'x'.repeat(PROFILE_NAME_MAX + 1), 'ends-', 'sp ace']) {
    t.equal(isProfileName(bad), false, bad);
    t.match(installer.install(bad, PROFILE, 'api'), { outcome: 'refused', reason: /not a profile name/ });
  }
  for (const good of ['web', 'a', 'web-1.v2', 'my_profile', 'x'.repeat(PROFILE_NAME_MAX)]) t.equal(isProfileName(good), true, good);
});

t.test('a crash between the record and the rename leaves a file the record still owns; stale temp files are cleaned', async (t) => {
  const root = kubeletDir();
  const installer = ProfileInstaller.open({ kubeletSeccompDir: root });
  installer.install('web', PROFILE, 'api');
  // what a crash after the record's write and before the rename leaves: record says OTHER, file holds PROFILE
  const recordPath = join(installer.dir, '.seccomp-auditor-installed.json');
  const record = JSON.parse(readFileSync(recordPath, 'utf8'));
  record.profiles.web = { ...record.profiles.web, sha256: sha(OTHER), previous: sha(PROFILE) };
  writeFileSync(recordPath, JSON.stringify(record));
  writeFileSync(join(installer.dir, '.web.json.tmp-0123456789ab'), 'half');
  const restarted = ProfileInstaller.open({ kubeletSeccompDir: root });
  t.notOk(existsSync(join(installer.dir, '.web.json.tmp-0123456789ab')), 'the temporary file is gone');
  t.match(restarted.install('web', OTHER, 'api'), { outcome: 'written' }, 'the file with the previous digest is still ours');

  writeFileSync(recordPath, '{broken');
  const damaged = ProfileInstaller.open({ kubeletSeccompDir: root });
  t.same(damaged.list(), [], 'a damaged record owns nothing');
  t.match(damaged.install('web', PROFILE, 'api'), { outcome: 'refused' }, 'and nothing is overwritten');
  t.match(damaged.install('web', OTHER, 'api'), { outcome: 'unchanged' }, 'except by adopting identical bytes');
});

t.test('a missing or read-only kubelet directory: one error naming the path and the fix', async (t) => {
  const missing = join(makeTempDir('sa-kubelet-'), 'seccomp');
  t.throws(() => ProfileInstaller.open({ kubeletSeccompDir: missing }), new ProfileDirError(missing, `the kubelet's seccomp directory ${missing} does not exist: create it (in a DaemonSet: a hostPath volume of type DirectoryOrCreate) or point --kubelet-seccomp-dir at it (none turns installation off)`));
  t.notOk(existsSync(missing), 'the kubelet\'s directory is not created by the daemon');
  const file = join(makeTempDir('sa-kubelet-'), 'file');
  writeFileSync(file, '');
  t.throws(() => ProfileInstaller.open({ kubeletSeccompDir: file }), /does not exist/);

});

t.test('a read-only kubelet directory (a tmpfs remounted ro)', { skip: mountsUnavailable() ?? false }, async (t) => {
  const ro = tinyTmpfs(t, 1 << 16);
  remount(ro, 'ro');
  t.throws(() => ProfileInstaller.open({ kubeletSeccompDir: ro }), { message: `cannot create ${join(ro, 'seccomp-auditor')} (EROFS): mount the kubelet's seccomp directory read-write and run as a user that may write it (root)` });
  remount(ro, 'rw');
  mkdirSync(join(ro, 'seccomp-auditor'));
  chmodSync(ro, 0o755);
  remount(ro, 'ro');
  t.throws(() => ProfileInstaller.open({ kubeletSeccompDir: ro }), /cannot write to .*seccomp-auditor \(EROFS\)/);
});
