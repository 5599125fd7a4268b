/**
 * What `seccomp-auditor doctor` reports: one result per check, each saying what was found and,
 * when something is wrong, the exact command or path that fixes it.
 */
export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  /** stable kebab-case name: what scripts and tests key on */
  check: string;
  /** fail: learning cannot work as things are; warn: it works, but loses records or names */
  status: CheckStatus;
  /** what was found, one line */
  found: string;
  /** the command or setting that fixes it; null when there is nothing to do */
  fix: string | null;
}

export function result(check: string, status: CheckStatus, found: string, fix: string | null = null): CheckResult {
  return { check, status, found, fix };
}

/** 1 when any check failed (learning cannot work), else 0: warnings alone do not fail a probe. */
export function exitCodeOf(results: readonly CheckResult[]): number {
  return results.some((r) => r.status === 'fail') ? 1 : 0;
}

/** One line per check (`fail  name  found; fix: ...`), then a one-line summary. */
export function renderText(results: readonly CheckResult[]): string {
  const width = Math.max(0, ...results.map((r) => r.check.length)) + 2;
  const lines = results.map((r) => `${r.status.padEnd(6)}${r.check.padEnd(width)}${r.found}${r.fix !== null ? `; fix: ${r.fix}` : ''}`);
  const { fails, warns } = counts(results);
  lines.push(fails > 0
    ? `${fails} failed, ${warns} warning${warns === 1 ? '' : 's'}: learning cannot work until the failures are fixed`
    : `no failures, ${warns} warning${warns === 1 ? '' : 's'}`);
  return `${lines.join('\n')}\n`;
}

/** `{"ok","fails","warns","checks":[{"check","status","found","fix"}]}` on one line. */
export function renderJson(results: readonly CheckResult[]): string {
  const { fails, warns } = counts(results);
  return `${JSON.stringify({ ok: fails === 0, fails, warns, checks: results })}\n`;
}

function counts(results: readonly CheckResult[]): { fails: number; warns: number } {
  return {
    fails: results.filter((r) => r.status === 'fail').length,
    warns: results.filter((r) => r.status === 'warn').length,
  };
}
