#!/usr/bin/env node
// The kubectl plugin's executable (package.json "bin": kubectl-seccomp_auditor): kubectl runs it
// for `kubectl seccomp-auditor ...` with the arguments after the plugin's name.
import { kubectlPlugin } from './cli/kubectl-plugin.js';
import { runAsProcess } from './cli/process-entry.js';

runAsProcess('kubectl seccomp-auditor', kubectlPlugin);
