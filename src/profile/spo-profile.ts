/**
 * A learned profile as a Security Profiles Operator `SeccompProfile` object, in YAML, so clusters
 * running that operator can apply it. The emitter covers exactly this fixed shape (maps of known
 * keys, lists of strings) rather than being a general YAML writer.
 */
import type { OciProfile } from './oci-profile.js';

export interface SpoSeccompProfile {
  apiVersion: 'security-profiles-operator.x-k8s.io/v1beta1';
  kind: 'SeccompProfile';
  /** annotations: what the profile was learned from (learnedAnnotations), when known */
  metadata: { name: string; namespace: string; annotations?: Record<string, string> };
  spec: {
    defaultAction: OciProfile['defaultAction'];
    architectures: string[];
    syscalls: { action: string; names: string[] }[];
    /** the CRD's spec.flags (v1beta1: SECCOMP_FILTER_FLAG_TSYNC, _LOG, _SPEC_ALLOW, _WAIT_KILLABLE_RECV) */
    flags?: string[];
  };
}

/**
 * The operator's object for an OCI profile. The spec has no defaultErrnoRet: the operator's
 * SCMP_ACT_ERRNO already means EPERM (1), which is what the OCI profile sets. `flags` (the log
 * flag of logDenied) is the CRD's own `spec.flags`, which the operator hands to the runtime with
 * the profile it writes (api/seccompprofile/v1beta1/seccompprofile_types.go, "Additional
 * properties from OCI runtime spec"); the runtime decides what it does with it, as with OCI JSON.
 */
export function toSpoProfile(profile: OciProfile, metadata: { name: string; namespace: string; annotations?: Record<string, string> }): SpoSeccompProfile {
  return {
    apiVersion: 'security-profiles-operator.x-k8s.io/v1beta1',
    kind: 'SeccompProfile',
    metadata: {
      name: metadata.name, namespace: metadata.namespace,
      ...(metadata.annotations !== undefined ? { annotations: { ...metadata.annotations } } : {}),
    },
    spec: {
      defaultAction: profile.defaultAction,
      architectures: [...profile.architectures],
      syscalls: profile.syscalls.map((s) => ({ action: s.action, names: [...s.names] })),
      ...(profile.flags !== undefined ? { flags: [...profile.flags] } : {}),
    },
  };
}

export function formatSpoYaml(object: SpoSeccompProfile): string {
  const { metadata: m, spec: s } = object;
  const lines = [
    `apiVersion: ${scalar(object.apiVersion)}`,
    `kind: ${scalar(object.kind)}`,
    'metadata:',
    `  name: ${scalar(m.name)}`,
    `  namespace: ${scalar(m.namespace)}`,
    ...(m.annotations !== undefined && Object.keys(m.annotations).length > 0
      ? ['  annotations:', ...Object.entries(m.annotations).map(([k, v]) => `    ${scalar(k)}: ${scalar(v)}`)]
      : []),
    'spec:',
    `  defaultAction: ${scalar(s.defaultAction)}`,
    ...list('  architectures', '  ', s.architectures),
  ];
  if (s.syscalls.length === 0) {
    lines.push('  syscalls: []');
  } else {
    lines.push('  syscalls:');
    for (const rule of s.syscalls) {
      lines.push(`  - action: ${scalar(rule.action)}`);
      lines.push(...list('    names', '    ', rule.names));
    }
  }
  if (s.flags !== undefined) lines.push(...list('  flags', '  ', s.flags));
  return lines.join('\n') + '\n';
}

function list(key: string, indent: string, items: readonly string[]): string[] {
  if (items.length === 0) return [`${key}: []`];
  return [`${key}:`, ...items.map((item) => `${indent}- ${scalar(item)}`)];
}

/** Words YAML 1.1 parsers (PyYAML, go-yaml v2) read as booleans or null when plain. */
const KEYWORDS = /^(y|n|yes|no|on|off|true|false|null|~)$/i;
/** Plain only when nothing about it can read as another type, a comment, an anchor or structure. */
const PLAIN = /^[A-Za-z_][A-Za-z0-9_./-]*$/;

/**
 * A string as a YAML scalar: plain when safe, else double-quoted. JSON's string escapes are a
 * subset of YAML's double-quoted ones; what JSON leaves raw outside printable ASCII (DEL,
 * U+2028 which YAML 1.1 reads as a line break, ...) becomes a \uXXXX escape too.
 */
export function scalar(value: string): string {
  if (PLAIN.test(value) && !KEYWORDS.test(value)) return value;
  return JSON.stringify(value).replace(/[^\x20-\x7e]/gu, (c) => {
    const cp = c.codePointAt(0)!;
    // one escape per code point: YAML has \U for those beyond the BMP, no surrogate pairs
    return cp > 0xffff ? `\\U${cp.toString(16).padStart(8, '0')}` : `\\u${cp.toString(16).padStart(4, '0')}`;
  });
}
