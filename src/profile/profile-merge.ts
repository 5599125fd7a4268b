/**
 * One profile from the profiles several nodes learned for the same workload (its pods ran on
 * each). Every part of a learned profile is a union, a sum or an extreme over the syscall rows
 * it was built from, so merging the built profiles gives what buildOciProfile would give over
 * all the nodes' rows together: a name is allowed if any node saw it run; `architectures` is the
 * union; records add up; the time range spans all; what was seen only blocked stays out unless
 * another node saw it run.
 */
import { ARCH_NAMES, seccompArchName } from '../syscalls/syscall-table.js';
import { completeAllowList, type BuiltProfile, type OciProfile, type ProfileExplain, type ProfileOptions } from './oci-profile.js';

const ARCH_RANK: ReadonlyMap<string, number> = new Map(ARCH_NAMES.map((a, i) => [seccompArchName(a), i]));

export function mergeBuiltProfiles(parts: readonly BuiltProfile[], options: ProfileOptions): BuiltProfile {
  // names some node observed; what only a runtime baseline added there is left to options.baseline
  const names = new Set<string>();
  const arches = new Set<string>();
  const notAllowed = new Map<string, ProfileExplain['notAllowed'][number]>();
  const unknown = new Map<string, ProfileExplain['unknownNumbers'][number]>();
  let records = 0;
  let from: string | null = null;
  let to: string | null = null;
  for (const { profile, explain } of parts as readonly { profile: OciProfile; explain: Omit<ProfileExplain, 'baselineAdded'> & { baselineAdded?: string[] } }[]) {
    const added = new Set(explain.baselineAdded ?? []);
    for (const rule of profile.syscalls) {
      for (const n of rule.names) if (!added.has(n)) names.add(n);
    }
    for (const a of profile.architectures) arches.add(a);
    for (const n of explain.notAllowed) notAllowed.set(`${n.name} ${n.arch} ${n.action}`, n);
    for (const u of explain.unknownNumbers) unknown.set(`${u.arch} ${u.nr}`, u);
    records += explain.records;
    if (explain.from !== null && (from === null || Date.parse(explain.from) < Date.parse(from))) from = explain.from;
    if (explain.to !== null && (to === null || Date.parse(explain.to) > Date.parse(to))) to = explain.to;
  }
  // the parts may come from daemons asked for another default action or baseline
  const baselineAdded = completeAllowList(names, options, new Set(names));
  const sorted = [...names].sort(compareStrings);
  const profile: OciProfile = options.defaultAction === 'errno'
    ? { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1, architectures: [], syscalls: [] }
    : { defaultAction: 'SCMP_ACT_LOG', architectures: [], syscalls: [] };
  profile.architectures = [...arches].sort((a, b) => rank(a) - rank(b) || compareStrings(a, b));
  if (sorted.length > 0) profile.syscalls = [{ names: sorted, action: 'SCMP_ACT_ALLOW' }];
  return {
    profile,
    explain: {
      records,
      syscalls: sorted.length,
      from,
      to,
      notAllowed: [...notAllowed.values()]
        .filter((n) => !names.has(n.name))
        .sort((a, b) => compareStrings(a.name, b.name) || rank(seccompArchName(a.arch)) - rank(seccompArchName(b.arch)) || compareStrings(a.action, b.action)),
      baselineAdded,
      unknownNumbers: [...unknown.values()].sort((a, b) => compareStrings(a.arch, b.arch) || a.nr - b.nr),
    },
  };
}

function rank(seccompArch: string): number {
  return ARCH_RANK.get(seccompArch) ?? Number.MAX_SAFE_INTEGER;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
