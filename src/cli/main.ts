import type { Command, CommandIo } from './command.js';
import { UsageError } from './options.js';
import { PACKAGE_VERSION } from '../package-version.js';

/**
 * Each command is loaded when it is run: the daemon's modules (fastify, prom-client, the routes)
 * took ~160 ms of every `ingest`, `parse` or `cgroup` start, a tenth of a small log's ingest.
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./run-command.js')).runCommand,
  ingest: async () => (await import('./ingest-command.js')).ingestCommand,
  parse: async () => (await import('./parse-command.js')).parseCommand,
  cgroup: async () => (await import('./cgroup-command.js')).cgroupCommand,
  profile: async () => (await import('./profile-command.js')).profileCommand,
  doctor: async () => (await import('./doctor-command.js')).doctorCommand,
};

async function usage(): Promise<string> {
  const commands = await Promise.all(Object.values(COMMANDS).map((load) => load()));
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return `Usage: seccomp-auditor <command> [options]

Learns per-container seccomp profiles from the kernel's seccomp audit records.

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`).join('\n')}

Run 'seccomp-auditor <command> --help' for a command's options, 'seccomp-auditor --version' for
the version.
`;
}

export async function main(argv: string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V') {
    io.stdout.write(`seccomp-auditor ${PACKAGE_VERSION}\n`);
    return 0;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(await usage());
    return name === undefined ? 2 : 0;
  }
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (load === undefined) {
    io.stderr.write(`seccomp-auditor: unknown command '${name}'\n\n${await usage()}`);
    return 2;
  }
  const command = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(await command.help());
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`seccomp-auditor ${name}: ${err.message}\nRun 'seccomp-auditor ${name} --help' for usage.\n`);
      return 2;
    }
    throw err;
  }
}
