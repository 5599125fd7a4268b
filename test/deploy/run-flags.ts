/**
 * The `run` command's flags as its `--help` prints them: what an operator writing a manifest
 * reads (the help text is generated from the option table, so it cannot drift from it).
 */
import { parseArgs } from 'node:util';
import { formatOptions } from '../../src/cli/options.js';
import { OPTIONS } from '../../src/cli/run-command.js';

export interface FlagSpec {
  name: string;
  type: 'string' | 'boolean';
  env: string | null;
  multiple: boolean;
}

const FLAG_LINE = /^ {2}(?:-[A-Za-z], )?--([a-z][a-z0-9-]*)( [A-Z][A-Z:_]*)? {2,}(.*)$/;

export function realRunFlags(): FlagSpec[] {
  const flags: FlagSpec[] = [];
  // the options part of `run --help`, which is formatOptions(OPTIONS) (the rest, the API, is async)
  for (const line of formatOptions(OPTIONS).split('\n')) {
    const m = FLAG_LINE.exec(line);
    if (m === null || m[1] === 'help') continue;
    flags.push({
      name: m[1]!,
      type: m[2] === undefined ? 'boolean' : 'string',
      env: /\benv (SECCOMP_AUDITOR_[A-Z0-9_]+)/.exec(m[3]!)?.[1] ?? null,
      multiple: /\brepeatable\)/.test(m[3]!),
    });
  }
  return flags;
}

/** Parses argv (without the command) as the CLI does: strict, unknown flags and missing values throw. */
export function parseRunArgs(argv: string[], flags: readonly FlagSpec[]): Record<string, string | boolean | string[] | undefined> {
  const options = Object.fromEntries(flags.map((f) => [f.name, { type: f.type, ...(f.multiple ? { multiple: true } : {}) }]));
  const { values, positionals } = parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  if (positionals.length > 0) throw new Error(`unexpected argument '${positionals[0]}'`);
  return values as Record<string, string | boolean | string[] | undefined>;
}
