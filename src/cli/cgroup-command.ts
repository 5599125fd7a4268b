import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCgroupFile } from '../attribute/cgroup-path.js';
import { ProcFs, ProcFsError } from '../attribute/proc-fs.js';
import { InputError } from '../sources/input-chunks.js';
import type { Command, CommandIo } from './command.js';
import { formatOptions, parseCommandLine, UsageError, type OptionTable } from './options.js';

const OPTIONS = {
  pid: {
    type: 'string',
    value: 'N',
    description: 'read <proc-root>/N/cgroup instead of FILE',
  },
  'proc-root': {
    type: 'string',
    value: 'PATH',
    default: '/proc',
    env: 'SECCOMP_AUDITOR_PROC_ROOT',
    description: "where procfs is mounted (the host's /proc inside a pod)",
  },
} satisfies OptionTable;

export const cgroupCommand: Command = {
  name: 'cgroup',
  summary: 'show the container, pod and unit a /proc/<pid>/cgroup file names',
  help: () => `Usage: seccomp-auditor cgroup [FILE] [options]
       seccomp-auditor cgroup --pid N [options]

Reads the content of a /proc/<pid>/cgroup file from FILE, or stdin when there is none or FILE
is '-', or from the live process N with --pid, and prints one JSON object with what the daemon
would attribute that process's records to. Understands cgroup v1 and v2, the kubelet's systemd
and cgroupfs drivers, containerd, CRI-O, docker and podman names. When v1 hierarchies disagree,
a line naming a container wins, then one naming a pod, then one naming a unit; among those the
v2 line, then name=systemd, then the first other line.

Options:
${formatOptions(OPTIONS)}

Output keys: containerId (64 hex digits), podUid, qos (guaranteed, burstable, besteffort),
runtime (containerd, cri-o, docker, podman), unit (systemd unit or slice of a host process);
each null where it does not apply.
`,
  async run(argv: string[], io: CommandIo): Promise<number> {
    const { values, positionals } = parseCommandLine(argv, OPTIONS, io.env);
    if (positionals.length > 1) throw new UsageError(`expected at most one FILE, got ${positionals.length}`);
    if (values.pid !== undefined && positionals.length > 0) throw new UsageError('give either FILE or --pid, not both');
    const file = positionals[0] ?? '-';
    let content: string;
    try {
      if (values.pid !== undefined) content = readPid(values.pid, values['proc-root'] ?? '/proc');
      else if (file === '-') content = await readStream(io.stdin);
      else content = readFile(file);
    } catch (err) {
      if (!(err instanceof InputError || err instanceof ProcFsError)) throw err;
      io.stderr.write(`seccomp-auditor cgroup: ${err.message}\n`);
      return 1;
    }
    const id = parseCgroupFile(content);
    io.stdout.write(`${JSON.stringify({ containerId: id.containerId, podUid: id.podUid, qos: id.qos, runtime: id.runtime, unit: id.unit })}\n`);
    return 0;
  },
};

function readPid(value: string, procRoot: string): string {
  if (!/^\d+$/.test(value) || Number(value) <= 0 || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`--pid ${value}: expected a positive integer`);
  }
  const content = new ProcFs({ root: procRoot }).readCgroup(Number(value));
  if (content === null) {
    const path = join(procRoot, value, 'cgroup');
    throw new ProcFsError(path, 'ENOENT', `no such process; check the pid (it may have exited), and --proc-root when the host's /proc is mounted elsewhere`);
  }
  return content;
}

function readFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new InputError(path, err as NodeJS.ErrnoException);
  }
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer | string>) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}
