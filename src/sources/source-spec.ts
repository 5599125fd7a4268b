/**
 * A `--source` value: `audit` (the kernel's audit multicast group), `kmsg`, `file:PATH`, `journal` or `journal:DIR`, `-` (stdin), `none`.
 * The daemon, the run command's checks and the doctor read it the same way.
 */
export type SourceSpec =
  | { kind: 'audit' | 'kmsg' | 'stdin' | 'none'; path: null }
  | { kind: 'file'; path: string }
  | { kind: 'journal'; path: string | null };

/** The source a value names, or null for one nothing reads. */
export function parseSourceSpec(spec: string): SourceSpec | null {
  if (spec === 'audit' || spec === 'kmsg' || spec === 'none') return { kind: spec, path: null };
  if (spec === '-') return { kind: 'stdin', path: null };
  if (spec === 'journal') return { kind: 'journal', path: null };
  if (spec.startsWith('journal:') && spec.length > 8) return { kind: 'journal', path: spec.slice(8) };
  if (spec.startsWith('file:') && spec.length > 5) return { kind: 'file', path: spec.slice(5) };
  return null;
}

/** The usage error for a value parseSourceSpec refuses. */
export function unknownSourceMessage(spec: string): string {
  return `unknown source '${spec}': use audit, kmsg, file:PATH, journal[:DIR], - (stdin) or none`;
}
