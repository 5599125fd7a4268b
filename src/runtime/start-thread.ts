import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * The entry file `name` (without extension) beside the module at `base`: `.js` when that module
 * runs built, `.ts` when it runs from the sources (tests, through tsx).
 */
export function threadEntry(base: string, name: string): URL {
  return new URL(`${name}${base.endsWith('.ts') ? '.ts' : '.js'}`, base);
}

/**
 * A worker thread running `entry`. A thread does not inherit tsx's loader: from the sources it
 * registers tsx before importing the entry.
 */
export function startThread(entry: URL, options: WorkerOptions): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, options);
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { (m.register ?? m.default.register)(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(boot, { ...options, eval: true });
}
