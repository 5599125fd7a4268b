/** Prometheus' text exposition format, read back: enough of it to check what /metrics serves. */

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** name → its samples, in order; `# HELP`/`# TYPE` lines go to `types` and `help`. */
export interface Exposition {
  samples: Map<string, Sample[]>;
  types: Map<string, string>;
  help: Map<string, string>;
}

export function parseExposition(text: string): Exposition {
  const samples = new Map<string, Sample[]>();
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const comment = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (comment) {
      (comment[1] === 'HELP' ? help : types).set(comment[2]!, comment[3]!);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    const body = m[2] ?? '';
    const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/y;
    for (let l = label.exec(body); l !== null; l = label.exec(body)) {
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      if (label.lastIndex === body.length) break;
    }
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    const list = samples.get(m[1]!) ?? [];
    list.push({ labels, value });
    samples.set(m[1]!, list);
  }
  return { samples, types, help };
}

/** The samples of `name` whose labels include `where`. */
export function select(e: Exposition, name: string, where: Record<string, string> = {}): Sample[] {
  return (e.samples.get(name) ?? []).filter((s) => Object.entries(where).every(([k, v]) => s.labels[k] === v));
}

export function sum(samples: Sample[]): number {
  return samples.reduce((a, s) => a + s.value, 0);
}

/** The one value of `name` with these labels; undefined when there is none. */
export function value(e: Exposition, name: string, where: Record<string, string> = {}): number | undefined {
  const found = select(e, name, where);
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(where)}`);
  return found[0]?.value;
}
