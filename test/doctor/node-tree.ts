import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { makeTempDir } from '../helpers/real-kernel.js';

/**
 * A real directory tree laid out like a node's /proc (or /sys, or any root), for what the real
 * /proc cannot be made to show without changing the machine: `files` maps relative paths to
 * contents, `dirs` lists empty directories.
 */
export function nodeTree(files: Record<string, string>, dirs: string[] = []): string {
  const root = makeTempDir('sa-doctor-');
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  for (const dir of dirs) mkdirSync(join(root, dir), { recursive: true });
  return root;
}

/** The sysctls of a default kernel without auditd, changed by `overrides` (relative to sys/kernel). */
export function procWithSysctls(overrides: Record<string, string> = {}, extra: Record<string, string> = {}): string {
  const sysctls: Record<string, string> = {
    'seccomp/actions_logged': 'kill_process kill_thread trap errno user_notif trace log\n',
    'seccomp/actions_avail': 'kill_process kill_thread trap errno user_notif trace log allow\n',
    printk_ratelimit: '5\n',
    printk_ratelimit_burst: '10\n',
    printk: '4\t4\t1\t7\n',
    dmesg_restrict: '1\n',
    ...overrides,
  };
  const files: Record<string, string> = { '1/comm': 'init\n', '1/cgroup': '0::/init.scope\n', ...extra };
  for (const [k, v] of Object.entries(sysctls)) files[`sys/kernel/${k}`] = v;
  return nodeTree(files);
}

/** A v2 cgroup file of a container of the pod with this uid (systemd driver, containerd). */
export function podCgroup(uid: string, id = 'ab'.repeat(32)): string {
  return `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid.replaceAll('-', '_')}.slice/cri-containerd-${id}.scope\n`;
}

/** A stat line of a sleeping process (ppid 1, start time 4242). */
export function statLine(pid: number, comm: string): string {
  return `${pid} (${comm}) S 1 ${pid} ${pid} 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 4242 1000000 100 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n`;
}
