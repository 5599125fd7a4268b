import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Attributor } from '../dist/attribute/attributor.js';
import { ProcFs } from '../dist/attribute/proc-fs.js';
import { ABSENT, type SeccompRecordView } from '../dist/types/seccomp-record.js';

/**
 * Warm-cache attribution: `processes` pids across `containers` containers in a fixture proc
 * root, each resolved once, then `lookups` records attributed (a realistic syscall mix, no
 * forks). Returns lookups per second.
 */
export function attributeBench(lookups: number, processes = 2000, containers = 48): { ms: number; lookups: number } {
  const root = mkdtempSync(join(tmpdir(), 'sa-bench-proc-'));
  try {
    for (let i = 0; i < processes; i++) {
      const pid = 10_000 + i;
      const id = (i % containers).toString(16).padStart(64, '0');
      mkdirSync(join(root, String(pid)));
      writeFileSync(join(root, String(pid), 'cgroup'), `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0000_${i % containers}.slice/cri-containerd-${id}.scope\n`);
      writeFileSync(join(root, String(pid), 'stat'), `${pid} (app) S 1 ${'0 '.repeat(17)}${1000 + i} 0 0\n`);
    }
    const attributor = new Attributor({ proc: new ProcFs({ root }) });
    attributor.advance(Date.now());
    const recs: SeccompRecordView[] = [];
    const nrs = [0, 1, 3, 9, 202, 232, 257, 262, 270, 281];
    for (let i = 0; i < 4096; i++) {
      recs.push({
        time: ABSENT, serial: ABSENT, pid: 10_000 + ((i * 7919) % processes), uid: 0, gid: 0, auid: ABSENT, ses: ABSENT, sig: 0,
        auditArch: 0xc000003e, syscallNr: nrs[i % nrs.length]!, compat: 0, code: 0x7ffc0000, action: 'log',
        comm: () => 'app', exe: () => '/app', subj: () => null, ip: () => '0x7f0000001000', snapshot: () => { throw new Error('unused'); },
      });
    }
    for (const r of recs) attributor.attribute(r);
    const start = process.hrtime.bigint();
    let hits = 0;
    for (let i = 0; i < lookups; i++) if (attributor.attribute(recs[i & 4095]!) !== null) hits++;
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (hits !== lookups) throw new Error(`only ${hits} of ${lookups} lookups attributed`);
    return { ms, lookups };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
