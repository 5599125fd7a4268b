import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { logAllProfileBytes } from '../../src/profile/log-all-profile.js';
import { makeTempDir } from '../helpers/real-kernel.js';
import { REPO_ROOT } from '../helpers/paths.js';

// libseccomp (what runc and crun build filters with) must accept log-all.json for every machine
// we write it for: the same checker as libseccomp.test.ts, with no names (no rules).
const LIB = ['/usr/lib/x86_64-linux-gnu/libseccomp.so.2', '/usr/lib/aarch64-linux-gnu/libseccomp.so.2', '/usr/lib64/libseccomp.so.2', '/usr/lib/libseccomp.so.2'].find((p) => existsSync(p));
const CC = spawnSync('cc', ['--version'], { stdio: 'ignore' }).status === 0;
const skip = LIB === undefined ? 'libseccomp.so.2 is not installed' : !CC ? 'no C compiler (cc)' : false;
if (skip !== false && process.env['SECCOMP_AUDITOR_REQUIRE_KERNEL'] === '1') throw new Error(`libseccomp test cannot run: ${skip}`);

t.test('libseccomp builds a filter from log-all.json for each machine', { skip }, async (t) => {
  const bin = join(makeTempDir('sa-libseccomp-'), 'libseccomp-check');
  execFileSync('cc', ['-O2', '-Wall', '-o', bin, join(REPO_ROOT, 'test', 'profile', 'libseccomp-check.c'), LIB!]);
  // Left out: loong64 (libseccomp learned loongarch64 in 2.6, after the 2.5 this machine has), and
  // the big-endian machines (s390x, ppc64 BE): one filter cannot mix byte orders, so a
  // little-endian host refuses to add them (EDOM) whatever the profile says.
  for (const [arch, endian] of [['x64', 'LE'], ['arm64', 'LE'], ['arm', 'LE'], ['ppc64', 'LE'], ['riscv64', 'LE'], ['mips64el', 'LE'], ['ia32', 'LE']] as const) {
    const profile = JSON.parse(logAllProfileBytes(arch, endian)) as { defaultAction: string; architectures: string[] };
    t.equal(profile.defaultAction, 'SCMP_ACT_LOG');
    const r = spawnSync(bin, ['log', ...profile.architectures.map((a) => a.replace(/^SCMP_ARCH_/, '').toLowerCase()), '--'], { encoding: 'utf8' });
    t.equal(r.status, 0, `${arch} ${endian} ${profile.architectures.join(',')}: ${r.stderr}`);
  }
});
