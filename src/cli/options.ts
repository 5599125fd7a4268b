import { parseArgs } from 'node:util';

/**
 * Declarative flags: every flag has an environment variable (for DaemonSet and systemd use) and a
 * default that works, and `--help` is generated from the same table so it cannot drift.
 */
export interface OptionSpec {
  type: 'string' | 'boolean';
  /** Environment variable that sets the flag when it is not given on the command line. */
  env?: string;
  default?: string | boolean | string[];
  multiple?: boolean;
  short?: string;
  /** Placeholder shown in help, e.g. PATH. */
  value?: string;
  /** an empty environment variable is a value ('': off), not unset */
  emptyIsValue?: boolean;
  description: string;
}

export type OptionTable = Record<string, OptionSpec>;

export type OptionValues<T extends OptionTable> = {
  [K in keyof T]: T[K]['type'] extends 'boolean' ? boolean : T[K]['multiple'] extends true ? string[] : string | undefined;
};

export class UsageError extends Error {}

export interface ParsedCommandLine<T extends OptionTable> {
  values: OptionValues<T>;
  positionals: string[];
  help: boolean;
}

export function parseCommandLine<T extends OptionTable>(
  argv: string[],
  table: T,
  env: NodeJS.ProcessEnv = process.env,
): ParsedCommandLine<T> {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const [name, spec] of Object.entries(table)) {
    options[name] = { type: spec.type, ...(spec.multiple ? { multiple: true } : {}), ...(spec.short ? { short: spec.short } : {}) };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message.replace(/\. To specify a positional argument.*$/s, '')}`);
  }
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(table)) {
    let v: unknown = parsed.values[name];
    if (v === undefined && spec.env !== undefined && env[spec.env] !== undefined && (env[spec.env] !== '' || spec.emptyIsValue === true)) {
      const raw = env[spec.env]!;
      if (spec.type === 'boolean') {
        if (!/^(1|0|true|false|yes|no)$/i.test(raw)) {
          throw new UsageError(`${spec.env}=${raw}: expected true or false`);
        }
        v = /^(1|true|yes)$/i.test(raw);
      } else {
        // several values in one variable are comma-separated
        v = spec.multiple ? raw.split(',').map((s) => s.trim()).filter((s) => s !== '') : raw;
      }
    }
    if (v === undefined) v = spec.default ?? (spec.type === 'boolean' ? false : spec.multiple ? [] : undefined);
    values[name] = v;
  }
  return { values: values as OptionValues<T>, positionals: parsed.positionals, help: parsed.values['help'] === true };
}

export function formatOptions(table: OptionTable): string {
  const rows = Object.entries(table).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.type === 'string' ? ` ${spec.value ?? 'VALUE'}` : ''}`;
    const extra: string[] = [];
    if (spec.default !== undefined && spec.default !== false && !(Array.isArray(spec.default) && spec.default.length === 0)) {
      extra.push(`default: ${Array.isArray(spec.default) ? spec.default.join(',') : String(spec.default)}`);
    }
    if (spec.env) extra.push(`env ${spec.env}`);
    if (spec.multiple) extra.push('repeatable');
    return [flag, `${spec.description}${extra.length ? ` (${extra.join('; ')})` : ''}`] as const;
  });
  rows.push(['-h, --help', 'show this help']);
  const width = Math.max(...rows.map(([f]) => f.length)) + 2;
  return rows.map(([f, d]) => `  ${f.padEnd(width)}${d}`).join('\n');
}
