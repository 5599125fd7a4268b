import t from 'tap';
import { spawnSync } from 'node:child_process';
import { buildOciProfile } from '../../src/profile/oci-profile.js';
import { formatSpoYaml, scalar, toSpoProfile, type SpoSeccompProfile } from '../../src/profile/spo-profile.js';
import { AUDIT_ARCH_I386, AUDIT_ARCH_X86_64 } from '../../src/syscalls/syscall-table.js';

const rows = [0, 1, 59].map((syscallNr) => ({ auditArch: AUDIT_ARCH_X86_64, syscallNr, action: 'log' as const, count: 1, firstSeen: 0, lastSeen: 0 }));
rows.push({ auditArch: AUDIT_ARCH_I386, syscallNr: 140, action: 'log', count: 1, firstSeen: 0, lastSeen: 0 });

t.test('the SeccompProfile text for a fixed input', async (t) => {
  const { profile } = buildOciProfile(rows, { defaultAction: 'errno' });
  const spo = toSpoProfile(profile, { name: 'cart-0-app', namespace: 'shop' });
  t.equal(formatSpoYaml(spo), `apiVersion: security-profiles-operator.x-k8s.io/v1beta1
kind: SeccompProfile
metadata:
  name: cart-0-app
  namespace: shop
spec:
  defaultAction: SCMP_ACT_ERRNO
  architectures:
  - SCMP_ARCH_X86_64
  - SCMP_ARCH_X86
  syscalls:
  - action: SCMP_ACT_ALLOW
    names:
    - _llseek
    - execve
    - read
    - write
`);
});

t.test('an empty profile writes empty lists, not nulls', async (t) => {
  const spo = toSpoProfile(buildOciProfile([], { defaultAction: 'log' }).profile, { name: 'p', namespace: 'default' });
  t.equal(formatSpoYaml(spo), `apiVersion: security-profiles-operator.x-k8s.io/v1beta1
kind: SeccompProfile
metadata:
  name: p
  namespace: default
spec:
  defaultAction: SCMP_ACT_LOG
  architectures: []
  syscalls: []
`);
});

t.test('scalars that would read as something else are quoted', async (t) => {
  const cases: Array<[string, string]> = [
    ['read', 'read'],
    ['cart-0', 'cart-0'],
    ['yes', '"yes"'],
    ['No', '"No"'],
    ['null', '"null"'],
    ['~', '"~"'],
    ['123', '"123"'],
    ['1e3', '"1e3"'],
    ['0x1f', '"0x1f"'],
    ['.inf', '".inf"'],
    ['', '""'],
    ['a: b', '"a: b"'],
    ['#x', '"#x"'],
    ['-x', '"-x"'],
    ['a"b\\c', '"a\\"b\\\\c"'],
    ['tab\there', '"tab\\there"'],
    ['del\x7f', '"del\\u007f"'],
    ['ls\u2028x', '"ls\\u2028x"'],
    ['é😀', '"\\u00e9\\U0001f600"'],
  ];
  // messages stay ASCII: a raw U+2028 in a TAP line would break the TAP stream itself
  for (const [input, expected] of cases) t.equal(scalar(input), expected, `scalar of ${JSON.stringify(input).replace(/[^\x20-\x7e]/gu, '?')}`);
});

// The round trip needs a real YAML parser; the project has none, so PyYAML is used when this
// machine has it. Without it, this part is skipped (the exact-text tests above still run).
const pyyaml = spawnSync('python3', ['-c', 'import yaml'], { stdio: 'ignore' }).status === 0;
t.test('the YAML parses back to the same object (PyYAML)', { skip: pyyaml ? false : 'python3 with PyYAML is not installed here' }, async (t) => {
  const objects: SpoSeccompProfile[] = [
    toSpoProfile(buildOciProfile(rows, { defaultAction: 'errno' }).profile, { name: 'cart-0-app', namespace: 'shop' }),
    toSpoProfile(buildOciProfile([], { defaultAction: 'log' }).profile, { name: 'p', namespace: 'default' }),
    // names no cluster would accept, to exercise quoting
    toSpoProfile(
      { defaultAction: 'SCMP_ACT_ERRNO', architectures: ['on'], syscalls: [{ names: ['true', '1', 'a: b', 'x # y', 'é😀', 'q"\\', '\u2028', '\x7f'], action: 'SCMP_ACT_ALLOW' }] },
      { name: 'null', namespace: '0o17' },
    ),
  ];
  for (const object of objects) {
    const r = spawnSync('python3', ['-c', 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin.read()), sys.stdout)'], {
      input: formatSpoYaml(object),
      encoding: 'utf8',
    });
    t.equal(r.status, 0, r.stderr);
    t.same(JSON.parse(r.stdout), object);
  }
});
