import t from 'tap';
import { buildOciProfile, type SyscallRow } from '../../src/profile/oci-profile.js';
import { mergeBuiltProfiles } from '../../src/profile/profile-merge.js';
import type { SeccompAction } from '../../src/types/seccomp-record.js';

// Rows spread over nodes at random: merging the profiles each node built must equal building
// one profile from all rows, whatever the split.
const ARCHES = [0xc000003e, 0x40000003, 0xc00000b7, 0x12345678]; // x86_64, i386, aarch64, unknown
const ACTIONS: SeccompAction[] = ['log', 'log', 'log', 'allow', 'errno', 'kill_process', 'trap'];

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

t.test('merge(build(part) for each node) equals build(all rows), over random splits', async (t) => {
  for (let seed = 1; seed <= 200; seed++) {
    const r = random(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    const rows: SyscallRow[] = Array.from({ length: 1 + Math.floor(r() * 40) }, () => {
      const first = 1_700_000_000_000 + Math.floor(r() * 1e9);
      const auditArch = pick(ARCHES);
      const x32 = auditArch === 0xc000003e && r() < 0.1 ? 0x40000000 : 0;
      return { auditArch, syscallNr: (Math.floor(r() * 40) | x32) + (r() < 0.05 ? 990 : 0), action: pick(ACTIONS), count: 1 + Math.floor(r() * 9), firstSeen: first, lastSeen: first + Math.floor(r() * 1e6) };
    });
    const nodes = 1 + Math.floor(r() * 4);
    const parts: SyscallRow[][] = Array.from({ length: nodes }, () => []);
    for (const row of rows) parts[Math.floor(r() * nodes)]!.push(row);
    for (const defaultAction of ['errno', 'log'] as const) {
      const merged = mergeBuiltProfiles(parts.filter((p) => p.length > 0).map((p) => buildOciProfile(p, { defaultAction })), { defaultAction });
      const whole = buildOciProfile(rows, { defaultAction });
      if (JSON.stringify(merged) !== JSON.stringify(whole)) {
        t.same(merged, whole, `seed ${seed} ${defaultAction}`);
        return;
      }
    }
  }
  t.pass('200 random splits, both default actions, identical to the bytes');
});

t.test('nothing to merge: an empty allow-nothing profile', async (t) => {
  t.same(mergeBuiltProfiles([], { defaultAction: 'errno' }), buildOciProfile([], { defaultAction: 'errno' }));
});
