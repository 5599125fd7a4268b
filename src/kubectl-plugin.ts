#!/usr/bin/env node
// The kubectl plugin's executable (package.json "bin": kubectl-seccomp_auditor): kubectl runs it
// for `kubectl seccomp-auditor ...` with the arguments after the plugin's name.
import type { CommandIo } from './cli/command.js';
import { kubectlPlugin } from './cli/kubectl-plugin.js';

const io: CommandIo = {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  isTTY: Boolean(process.stderr.isTTY),
};

kubectlPlugin(process.argv.slice(2), io).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    const e = err as Error;
    process.stderr.write(`kubectl seccomp-auditor: ${e.message}\n`);
    if (process.env['SECCOMP_AUDITOR_DEBUG']) process.stderr.write(`${e.stack}\n`);
    process.exitCode = 1;
  },
);
