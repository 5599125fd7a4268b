import t from 'tap';
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProfileDirError, ProfileInstaller, PROFILE_NAME_MAX } from '../../src/deliver/profile-installer.js';
import { logAllProfileBytes } from '../../src/profile/log-all-profile.js';
import { makeTempDir } from '../helpers/real-kernel.js';

// The kubelet's seccomp directory is shared with whoever else is root on the node: the
// installer writes and removes only what it wrote, through the real directory, and never
// follows, blocks on or swallows whatever else it finds there.

const PROFILE = JSON.stringify({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] }) + '\n';
const OTHER = JSON.stringify({ defaultAction: 'SCMP_ACT_LOG' }) + '\n';
const HAND = 'placed by hand\n';

function kubeletDir(): string {
  const root = join(makeTempDir('sa-kubelet-'), 'seccomp');
  mkdirSync(root);
  return root;
}

t.test('an adopted file (placed by hand with the same bytes) is listed, never overwritten nor removed', async (t) => {
  const installer = ProfileInstaller.open({ kubeletSeccompDir: kubeletDir() });
  writeFileSync(installer.pathOf('same'), PROFILE);
  t.match(installer.install('same', PROFILE, 'api'), { outcome: 'unchanged' }, 'adopted');
  t.same(installer.list().map((p) => p.name), ['same']);
  t.match(installer.install('same', OTHER, 'api'), { outcome: 'refused', reason: /was not written by seccomp-auditor/ });
  t.equal(readFileSync(installer.pathOf('same'), 'utf8'), PROFILE, 'the hand-placed bytes stay');
  t.match(installer.install('same', OTHER, 'configmap'), { outcome: 'refused' }, 'nor by the ConfigMap');
  t.equal(readFileSync(installer.pathOf('same'), 'utf8'), PROFILE);
  t.equal(installer.remove('same', 'api'), 'refused');
  t.ok(existsSync(installer.pathOf('same')));
});

t.test('names the temporary file cannot hold are refused up front and leave no ownership entry', async (t) => {
  const installer = ProfileInstaller.open({ kubeletSeccompDir: kubeletDir() });
  t.ok(PROFILE_NAME_MAX >= 200 && PROFILE_NAME_MAX < 253, `max ${PROFILE_NAME_MAX}`);
  t.match(installer.install('x'.repeat(PROFILE_NAME_MAX), PROFILE, 'api'), { outcome: 'written' }, 'the longest name works');
  for (const n of [PROFILE_NAME_MAX + 1, 240, 253]) {
    t.match(installer.install('y'.repeat(n), PROFILE, 'api'), { outcome: 'refused', reason: new RegExp(`at most ${PROFILE_NAME_MAX}`) }, `${n} characters`);
  }
  const record = JSON.parse(readFileSync(join(installer.dir, '.seccomp-auditor-installed.json'), 'utf8'));
  t.same(Object.keys(record.profiles), ['x'.repeat(PROFILE_NAME_MAX)], 'no stale entry');
});

t.test('a symlinked seccomp-auditor directory is refused, and nothing is written or removed through it', async (t) => {
  const root = kubeletDir();
  const elsewhere = makeTempDir('sa-elsewhere-');
  writeFileSync(join(elsewhere, '.backup.tmp-1'), 'keep');
  symlinkSync(elsewhere, join(root, 'seccomp-auditor'));
  t.throws(() => ProfileInstaller.open({ kubeletSeccompDir: root }), { constructor: ProfileDirError, message: /seccomp-auditor is a symbolic link.*remove it/ });
  t.same(readdirSync(elsewhere), ['.backup.tmp-1'], 'untouched');

  // replaced by a symlink after the start: refused with the reason, nothing written there
  const root2 = kubeletDir();
  const installer = ProfileInstaller.open({ kubeletSeccompDir: root2 });
  renameSync(installer.dir, join(root2, 'moved'));
  symlinkSync(elsewhere, installer.dir);
  t.throws(() => installer.install('web', PROFILE, 'api'), { constructor: ProfileDirError, message: /no longer the directory/ });
  t.same(readdirSync(elsewhere), ['.backup.tmp-1'], 'nothing written through the link');
});

t.test('only temporary files of the daemon\'s own pattern are cleaned at start', async (t) => {
  const root = kubeletDir();
  const dir = join(root, 'seccomp-auditor');
  mkdirSync(dir);
  const others = ['.backup.tmp-1', '.notes.tmp-', '.web.json.tmp-zzzzzzzzzzzz', 'web.json.tmp-0123456789ab'];
  for (const f of others) writeFileSync(join(dir, f), 'theirs');
  writeFileSync(join(dir, '.web.json.tmp-0123456789ab'), 'half');
  ProfileInstaller.open({ kubeletSeccompDir: root });
  t.same(readdirSync(dir).sort(), [...others].sort());
});

t.test('symlinks, FIFOs, devices and huge files at a profile path: refused at once, never followed, read or grown into', async (t) => {
  const installer = ProfileInstaller.open({ kubeletSeccompDir: kubeletDir() });
  const outside = join(makeTempDir('sa-outside-'), 'target.json');
  writeFileSync(outside, PROFILE);
  symlinkSync(outside, installer.pathOf('link'));
  t.match(installer.install('link', OTHER, 'api'), { outcome: 'refused', reason: /symbolic link/ });
  t.equal(readFileSync(outside, 'utf8'), PROFILE, 'the link target is not written');
  t.match(installer.install('link', PROFILE, 'api'), { outcome: 'refused' }, 'not adopted through a link either');

  symlinkSync('/nonexistent/dangling', installer.pathOf('log-all'));
  t.match(installer.install('log-all', logAllProfileBytes(), 'builtin'), { outcome: 'refused', reason: /symbolic link/ }, 'a dangling log-all.json is not replaced silently');
  symlinkSync('/dev/zero', installer.pathOf('zero'));
  const before = process.memoryUsage().rss;
  t.match(installer.install('zero', PROFILE, 'api'), { outcome: 'refused' });

  execFileSync('mkfifo', [installer.pathOf('fifo')]);
  t.match(installer.install('fifo', PROFILE, 'api'), { outcome: 'refused', reason: /not a regular file/ }, 'a FIFO does not hang the installer');
  t.equal(installer.remove('fifo', 'api'), 'refused');

  const big = openSync(installer.pathOf('big'), 'w');
  ftruncateSync(big, 1.5 * 2 ** 30);
  closeSync(big);
  t.match(installer.install('big', PROFILE, 'api'), { outcome: 'refused', reason: /larger than/ });
  t.same(installer.list(), []);
  t.ok(process.memoryUsage().rss - before < 64 * 2 ** 20, `RSS grew ${Math.round((process.memoryUsage().rss - before) / 2 ** 20)} MiB`);
});

/**
 * Another root process creating (or replacing) the same file while the installer works: a
 * child process that, told a round has started, waits a random part of an install's duration
 * and then acts. Whoever the kernel says won must hold the file afterwards.
 */
const RACER = `
const fs = require('node:fs');
const [dir, rounds, spanUs, mode] = process.argv.slice(1);
for (let i = 0; i < Number(rounds); i++) {
  const go = dir + '/go-' + i;
  while (!fs.existsSync(go)) {}
  const until = process.hrtime.bigint() + BigInt(Math.floor(Math.random() * Number(spanUs) * 1000));
  while (process.hrtime.bigint() < until) {}
  const file = dir + '/seccomp-auditor/race-' + i + '.json';
  let result = 'created';
  if (mode === 'create') {
    try { fs.writeFileSync(file, 'HAND', { flag: 'wx' }); } catch (e) { result = e.code; }
  } else {
    fs.writeFileSync(dir + '/hand-' + i, 'HAND');
    fs.renameSync(dir + '/hand-' + i, file);
  }
  fs.writeFileSync(dir + '/done-' + i, result);
}
`;

async function race(mode: 'create' | 'replace', rounds: number): Promise<{ lost: number; won: number }> {
  const root = kubeletDir();
  const installer = ProfileInstaller.open({ kubeletSeccompDir: root });
  // how long one install takes here, so the racer's random delay spans it
  let spent = 0n;
  for (let i = 0; i < 5; i++) {
    const t0 = process.hrtime.bigint();
    installer.install(`warm-${i}`, PROFILE, 'api');
    if (mode === 'replace') {
      const t1 = process.hrtime.bigint();
      installer.remove(`warm-${i}`, 'api');
      spent += process.hrtime.bigint() - t1;
    } else {
      spent += process.hrtime.bigint() - t0;
    }
  }
  const spanUs = Math.max(20, Number(spent) / 5 / 1000);
  const child = spawn(process.execPath, ['-e', RACER, root, String(rounds), String(Math.ceil(spanUs)), mode], { stdio: 'inherit' });
  let lost = 0;
  let won = 0;
  try {
    for (let i = 0; i < rounds; i++) {
      const name = `race-${i}`;
      if (mode === 'replace') installer.install(name, PROFILE, 'api');
      writeFileSync(join(root, `go-${i}`), '');
      const outcome = mode === 'create' ? installer.install(name, PROFILE, 'api').outcome : installer.remove(name, 'api');
      const done = join(root, `done-${i}`);
      for (const end = Date.now() + 5000; !existsSync(done) && Date.now() < end;) await sleep(1);
      const theirs = readFileSync(done, 'utf8') === 'created';
      const file = installer.pathOf(name);
      const content = existsSync(file) ? readFileSync(file, 'utf8') : null;
      if (theirs && content !== 'HAND') lost++;
      if (outcome === 'written' || outcome === 'removed') won++;
    }
  } finally {
    child.kill();
  }
  return { lost, won };
}

t.test('a file created while an install is under way is never overwritten (150 races)', async (t) => {
  const { lost, won } = await race('create', 150);
  t.equal(lost, 0, 'the file another process created is never lost');
  t.comment(`the installer won ${won} of 150 races`);
});

t.test('a file replaced while a removal is under way is never removed (150 races)', async (t) => {
  const { lost, won } = await race('replace', 150);
  t.equal(lost, 0, 'the file another process put there is never deleted');
  t.comment(`the installer removed its own file first in ${won} of 150 races`);
});
