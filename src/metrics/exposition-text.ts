import { workloadNameOf } from '../profile/workload-name.js';
import { labelValue } from './label-value.js';

/**
 * Prometheus' text exposition format (0.0.4), written directly for the per-container families:
 * tens of thousands of samples a scrape, where prom-client's per-sample label objects, hashes and
 * escaping were most of /metrics' time. Each label value is escaped once per container or per
 * syscall name and the samples reuse those strings.
 */

const NEEDS_ESCAPE = /[\\"\n]/;
const ESCAPED = /[\\"\n]/g;

/** A label value in double quotes' inside: backslash, double quote and line feed escaped. */
export function escapeLabelValue(value: string): string {
  // almost every value is a DNS label or a syscall name: one test, no copy
  return NEEDS_ESCAPE.test(value) ? value.replace(ESCAPED, (c) => (c === '\n' ? '\\n' : `\\${c}`)) : value;
}

/** HELP text as the format wants it (backslash and line feed escaped; quotes stay). */
function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/**
 * A container's labels as exposition text, `namespace="…",workload="…",pod="…",container="…"`:
 * the names sanitised (labelValue: they come from file names in the kubelet's log directory),
 * the workload from the pod's name, then escaped. Two containers with the same text are one
 * series to Prometheus, so this text is also what the series are keyed by.
 */
export function containerLabelText(w: { namespace: string; pod: string; container: string | null }): string {
  return `namespace="${escapeLabelValue(labelValue(w.namespace))}",workload="${escapeLabelValue(labelValue(workloadNameOf(w.pod)))}",` +
    `pod="${escapeLabelValue(labelValue(w.pod))}",container="${escapeLabelValue(labelValue(w.container ?? ''))}"`;
}

/** One metric family with its samples, already formatted; a family without samples keeps its HELP and TYPE. */
export class FamilyText {
  readonly name: string;
  /** the HELP and TYPE lines */
  readonly head: string;
  #lines: string[] = [];

  constructor(options: { name: string; help: string; type: 'counter' | 'gauge' }) {
    this.name = options.name;
    this.head = `# HELP ${options.name} ${escapeHelp(options.help)}\n# TYPE ${options.name} ${options.type}`;
  }

  /** `labels` is exposition text (containerLabelText and the like), '' for none. */
  sample(labels: string, value: number): void {
    this.#lines.push(labels === '' ? `${this.name} ${valueText(value)}` : `${this.name}{${labels}} ${valueText(value)}`);
  }

  /** The family as prom-client writes one: no line feed at the end. */
  text(): string {
    return this.#lines.length === 0 ? this.head : `${this.head}\n${this.#lines.join('\n')}`;
  }
}

function valueText(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}
