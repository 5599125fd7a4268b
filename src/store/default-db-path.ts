import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export const SYSTEM_DB_DIR = '/var/lib/seccomp-auditor';

/**
 * The database without --db: under /var/lib/seccomp-auditor where this process may write there,
 * else ./data (a checkout run by hand). `create: false` decides the same without creating the
 * system directory (the doctor changes nothing).
 */
export function defaultDbPath(options: { create: boolean; systemDir?: string }): string {
  const system = options.systemDir ?? SYSTEM_DB_DIR;
  try {
    if (options.create) mkdirSync(system, { recursive: true });
    accessSync(options.create ? system : nearestExisting(system), constants.W_OK);
    return join(system, 'seccomp-auditor.db');
  } catch {
    return resolve('data', 'seccomp-auditor.db');
  }
}

/** The path itself or its nearest ancestor that exists: what `mkdir -p` would create in. */
export function nearestExisting(path: string): string {
  let p = resolve(path);
  while (statSync(p, { throwIfNoEntry: false }) === undefined && dirname(p) !== p) p = dirname(p);
  return p;
}
