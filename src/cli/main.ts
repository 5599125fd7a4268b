import { cgroupCommand } from './cgroup-command.js';
import type { Command, CommandIo } from './command.js';
import { doctorCommand } from './doctor-command.js';
import { UsageError } from './options.js';
import { ingestCommand } from './ingest-command.js';
import { parseCommand } from './parse-command.js';
import { profileCommand } from './profile-command.js';
import { runCommand } from './run-command.js';

const COMMANDS: Command[] = [runCommand, ingestCommand, parseCommand, cgroupCommand, profileCommand, doctorCommand];

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return `Usage: seccomp-auditor <command> [options]

Learns per-container seccomp profiles from the kernel's seccomp audit records.

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`).join('\n')}

Run 'seccomp-auditor <command> --help' for a command's options.
`;
}

export async function main(argv: string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`seccomp-auditor: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(command.help());
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
