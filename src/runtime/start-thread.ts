import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * A reading thread's young generation (ingest's and the daemon's; V8's default is 48 MB for a
 * 64-bit heap): its garbage is the parse's short strings and each batch's builder, and
 * collecting it more often costs little (within the noise of the 30-day ingest) while taking
 * 30-60 MiB off the peak RSS.
 */
export const READER_YOUNG_GENERATION_MB = 16;

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
