import t from 'tap';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { checkDatabase, checkKmsg, checkKubeletLogs, checkKubeletSeccompDir, checkProcRoot } from '../../src/doctor/access-checks.js';
import { openDatabase } from '../../src/store/open-database.js';
import { makeTempDir } from '../helpers/real-kernel.js';
import { nodeTree, podCgroup, statLine } from './node-tree.js';

const ROOT = process.getuid?.() === 0;

t.test('kmsg: this machine\'s /dev/kmsg reads as root', { skip: ROOT ? false : 'not root' }, async (t) => {
  const r = checkKmsg({ procRoot: '/proc', needed: true });
  t.equal(r.status, 'ok');
  t.match(r.found, /^\/dev\/kmsg is readable \(read record \d+\)|opens for reading/);
});

t.test('kmsg: a missing device fails when the daemon needs it, warns otherwise', async (t) => {
  const path = join(makeTempDir('sa-dev-'), 'kmsg');
  const needed = checkKmsg({ path, procRoot: '/proc', needed: true });
  t.equal(needed.status, 'fail');
  t.equal(needed.found, `no ${path}`);
  t.match(needed.fix, /mount the host's \/dev\/kmsg/);
  const unused = checkKmsg({ path, procRoot: '/proc', needed: false });
  t.equal(unused.status, 'warn');
  t.match(unused.found, /does not read it now/);
});

t.test('proc root: this machine\'s /proc', async (t) => {
  const r = checkProcRoot('/proc');
  t.equal(r.status, 'ok');
  t.match(r.found, /^\/proc: read pid 1's cgroup and pid \d+'s stat \(\d+ processes\)$/);
});

t.test('proc root: a pod\'s own pid namespace, no pid 1, nothing at all', async (t) => {
  const uid = '0f4e1e0c-5e1a-4c1b-9a53-6f1f3c1a2b3c';
  const pod = nodeTree({ '1/cgroup': podCgroup(uid), '1/stat': statLine(1, 'pause'), '7/cgroup': podCgroup(uid), '7/stat': statLine(7, 'nginx') });
  const r = checkProcRoot(pod);
  t.equal(r.status, 'warn');
  t.match(r.found, `pid 1 of ${pod} is in pod ${uid}'s cgroup`);
  t.match(r.fix, /hostPID: true/);

  const host = nodeTree({ '1/cgroup': '0::/init.scope\n', '1/stat': statLine(1, 'systemd'), '733/cgroup': '0::/system.slice/cron.service\n', '733/stat': statLine(733, 'cron') });
  t.equal(checkProcRoot(host).status, 'ok');

  const lonely = nodeTree({ '1/cgroup': '0::/\n' });
  t.equal(checkProcRoot(lonely).status, 'warn', 'only pid 1');

  const noInit = nodeTree({ '5/cgroup': '0::/\n' });
  t.equal(checkProcRoot(noInit).status, 'fail');
  t.match(checkProcRoot(noInit).found, /has no process 1/);

  const badStat = nodeTree({ '1/cgroup': '0::/\n', '9/stat': 'not a stat line\n' });
  t.equal(checkProcRoot(badStat).status, 'fail', 'content the kernel never writes');

  const nothing = checkProcRoot('/nonexistent-proc');
  t.equal(nothing.status, 'fail');
  t.match(nothing.found, /cannot list \/nonexistent-proc \(ENOENT\)/);
});

t.test('kubelet log root: both directories readable, or a warning naming what is missing', async (t) => {
  const node = nodeTree({ 'containers/web-1_shop_nginx-abc.log': '' }, ['pods/shop_web-1_uid/nginx']);
  const ok = checkKubeletLogs(node);
  t.equal(ok.status, 'ok');
  t.match(ok.found, `${node}/pods (1 entries), ${node}/containers (1 entries)`);
  const half = nodeTree({}, ['pods']);
  const warn = checkKubeletLogs(half);
  t.equal(warn.status, 'warn');
  t.match(warn.found, `no ${half}/containers`);
  t.notMatch(warn.found, `no ${half}/pods`);
});

t.test('kubelet seccomp dir: writable, missing, off', async (t) => {
  const dir = makeTempDir('sa-kubelet-');
  mkdirSync(join(dir, 'seccomp'));
  t.equal(checkKubeletSeccompDir(join(dir, 'seccomp')).status, 'ok');
  const missing = checkKubeletSeccompDir(join(dir, 'kubelet', 'seccomp'));
  t.equal(missing.status, 'warn', 'the daemon does not create the kubelet\'s directory');
  t.match(missing.found, /does not exist: the daemon installs no profiles/);
  t.match(missing.fix, /DirectoryOrCreate/);
  writeFileSync(join(dir, 'file'), '');
  t.equal(checkKubeletSeccompDir(join(dir, 'file')).status, 'warn', 'not a directory');
  t.notOk(existsSync(join(dir, 'kubelet')), 'nothing was created');
  // procfs takes no new files, not even from root (whose DAC bypass makes a chmod test useless)
  const ro = checkKubeletSeccompDir('/proc/1');
  t.equal(ro.status, 'warn');
  t.match(ro.found, /\/proc\/1 is not writable \(E(PERM|ACCES)\)/);
  t.match(checkKubeletSeccompDir('none'), { status: 'ok', found: /installation is off/ });
});

t.test('database: the default location, decided without creating anything', async (t) => {
  const dir = makeTempDir('sa-db-');
  const system = join(dir, 'var', 'lib', 'seccomp-auditor');
  const r = checkDatabase(undefined, system);
  t.equal(r.status, 'ok');
  t.match(r.found, `${system}/seccomp-auditor.db does not exist yet; ${dir} is writable`);
  t.notOk(existsSync(join(dir, 'var')), 'no directory was created');
});

t.test('database: an existing file is checked read-only', async (t) => {
  const dir = makeTempDir('sa-db-');
  const ours = join(dir, 'ours.db');
  openDatabase({ path: ours }).close();
  const ok = checkDatabase(ours);
  t.equal(ok.status, 'ok');
  t.match(ok.found, /is writable \(schema version \d+ of \d+, \d+ bytes\)/);

  const foreign = join(dir, 'foreign.db');
  const f = new Database(foreign);
  f.exec('CREATE TABLE t (x)');
  f.close();
  const r = checkDatabase(foreign);
  t.equal(r.status, 'fail');
  t.match(r.found, /another program/);

  const newer = join(dir, 'newer.db');
  openDatabase({ path: newer }).pragma('user_version = 999');
  const n = checkDatabase(newer);
  t.equal(n.status, 'fail');
  t.match(n.found, /schema version 999, newer/);

  const garbage = join(dir, 'garbage.db');
  writeFileSync(garbage, 'this is not a database, it is text that is long enough to have a header'.repeat(20));
  const g = checkDatabase(garbage);
  t.equal(g.status, 'fail');
  t.match(g.found, /cannot be opened as an SQLite database/);

  t.equal(checkDatabase(dir).status, 'fail', 'a directory');
  t.equal(checkDatabase('/proc/self/no.db').status, 'fail', 'a directory nobody can create files in');
  const fresh = join(dir, 'sub', 'fresh.db');
  t.equal(checkDatabase(fresh).status, 'ok');
  t.notOk(existsSync(join(dir, 'sub')), 'not created');
});
