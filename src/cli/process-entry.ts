import type { CommandIo } from './command.js';

/**
 * Runs a command as the process: argv and the process's streams in, the exit code out. An
 * unexpected failure still gets one readable line named after the program, not a stack trace,
 * unless SECCOMP_AUDITOR_DEBUG asks for it. Shared by the executables (cli.ts, kubectl-plugin.ts).
 */
export function runAsProcess(program: string, run: (argv: string[], io: CommandIo) => Promise<number>): void {
  const io: CommandIo = {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    isTTY: Boolean(process.stderr.isTTY),
  };
  run(process.argv.slice(2), io).then(
    (code) => { process.exitCode = code; },
    (err: unknown) => {
      const e = err as Error;
      process.stderr.write(`${program}: ${e.message}\n`);
      if (process.env['SECCOMP_AUDITOR_DEBUG']) process.stderr.write(`${e.stack}\n`);
      process.exitCode = 1;
    },
  );
}
