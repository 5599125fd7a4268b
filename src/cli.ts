#!/usr/bin/env node
// The executable: argv and the process's streams in, an exit code out. Everything else lives in
// modules that never import this file.
import type { CommandIo } from './cli/command.js';
import { main } from './cli/main.js';

const io: CommandIo = {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  isTTY: Boolean(process.stderr.isTTY),
};

main(process.argv.slice(2), io).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    // an unexpected failure still gets one readable line, not a stack trace, unless asked for
    const e = err as Error;
    process.stderr.write(`seccomp-auditor: ${e.message}\n`);
    if (process.env['SECCOMP_AUDITOR_DEBUG']) process.stderr.write(`${e.stack}\n`);
    process.exitCode = 1;
  },
);
