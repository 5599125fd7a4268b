import { DEFAULT_YOUNG_THRESHOLDS, type YoungThresholds } from '../profile/learning-window.js';
import { UsageError, type OptionTable } from './options.js';

/**
 * When a learned profile is marked young: the same two flags for `run` (the REST answers) and
 * `profile` (the CLI's, and its --from merges). The defaults and why: DEFAULT_YOUNG_THRESHOLDS.
 */
export const YOUNG_OPTIONS = {
  'young-window': {
    type: 'string', value: 'DURATION', env: 'SECCOMP_AUDITOR_YOUNG_WINDOW', default: `${DEFAULT_YOUNG_THRESHOLDS.minWindowMs / 60_000}m`,
    description: 'a profile learned from a shorter window (first to last record) is marked young (X-Learned-Young, explain, SPO annotation) but still returned (e.g. 10m, 1h; 0s: never by time)',
  },
  'young-records': {
    type: 'string', value: 'N', env: 'SECCOMP_AUDITOR_YOUNG_RECORDS', default: String(DEFAULT_YOUNG_THRESHOLDS.minRecords),
    description: 'a profile learned from fewer records is marked young too (0: never by count)',
  },
} satisfies OptionTable;

export function parseYoungThresholds(values: { 'young-window'?: string; 'young-records'?: string }): YoungThresholds {
  const window = values['young-window']!;
  const m = /^(\d+)(d|h|m|s)$/.exec(window);
  if (!m) throw new UsageError(`--young-window ${window}: expected a number and a unit, e.g. 10m or 1h`);
  const records = values['young-records']!;
  if (!/^\d+$/.test(records) || !Number.isSafeInteger(Number(records))) throw new UsageError(`--young-records ${records}: expected a whole number of records, e.g. ${DEFAULT_YOUNG_THRESHOLDS.minRecords}`);
  return { minWindowMs: Number(m[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 }[m[2] as 'd' | 'h' | 'm' | 's'], minRecords: Number(records) };
}
