#!/usr/bin/env node
// The executable: argv and the process's streams in, an exit code out. Everything else lives in
// modules that never import this file.
import { main } from './cli/main.js';
import { runAsProcess } from './cli/process-entry.js';

runAsProcess('seccomp-auditor', main);
