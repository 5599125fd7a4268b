/**
 * Label values as Prometheus should store them. Most values the daemon exports are Kubernetes
 * names (DNS labels) or its own words, but some come from what processes call themselves (an
 * unattributed record's comm and exe: any process on the node picks those) or from file names in
 * the kubelet's log directory. Such text is shown in alerts, Grafana tables and URLs, so a value
 * keeps printable characters only and a bounded length:
 * - control characters (C0, DEL, C1) and lone surrogates (which would turn into U+FFFD on the
 *   wire anyway) become `?`;
 * - more than MAX_LABEL_LENGTH characters are cut, the cut marked with `…`.
 * The common case (printable ASCII, short) is returned as it is, with one regular-expression test.
 */
export const MAX_LABEL_LENGTH = 128;

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export function labelValue(raw: string): string {
  const safe = UNSAFE.test(raw) ? raw.replace(UNSAFE, '?') : raw;
  // test() with /g moves lastIndex: start the next call from the beginning
  UNSAFE.lastIndex = 0;
  if (safe.length <= MAX_LABEL_LENGTH) return safe;
  // never split a surrogate pair at the cut
  let end = MAX_LABEL_LENGTH - 1;
  const last = safe.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${safe.slice(0, end)}…`;
}
