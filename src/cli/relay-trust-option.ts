import type { RelayTrust } from '../parse/record-framing.js';
import { UsageError, type OptionSpec } from './options.js';

const RELAYS = { audisp: 'audisp', journal: 'journalText' } as const satisfies Record<string, keyof RelayTrust>;

/**
 * `--trust-relay audisp|journal`: the relays of the kernel's records a command's input may come
 * through. Off by default because a local user can write lines that look like either into a
 * plain syslog file (see record-framing.ts): only whoever hands over the file knows it has no
 * such writer (audisp's relays on a log host, a saved `journalctl -o short` output).
 */
export const TRUST_RELAY_OPTION = {
  type: 'string',
  value: 'NAME',
  multiple: true,
  description: "also take records relayed by NAME: 'audisp' (audisp-syslog:/audispd: syslog lines), " +
    "'journal' (journalctl's 'audit[PID]: SECCOMP ...' lines); only for input no one else writes such lines into",
} as const satisfies OptionSpec;

export function relayTrustOf(names: readonly string[]): RelayTrust {
  const trust: RelayTrust = {};
  for (const name of names) {
    const key = (RELAYS as Record<string, keyof RelayTrust>)[name];
    if (key === undefined) throw new UsageError(`--trust-relay ${name}: expected audisp or journal`);
    trust[key] = true;
  }
  return trust;
}
