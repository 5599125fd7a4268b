/**
 * `kustomize build` for the subset deploy/kubernetes uses, since no kustomize or kubectl binary is
 * available to the tests: `resources` (files and directories), `components`, `namespace`, `labels`
 * (without selectors), `images`, `patches` in JSON 6902 form with a `target`, and
 * `configMapGenerator` without the name hash. Any other field, and any case this file does not
 * model (a strategic-merge patch, a hash suffix, renaming a Namespace object), throws naming the
 * feature, so a manifest change that needs more cannot pass unnoticed.
 *
 * Order as in kustomize (api/internal/target/kusttarget.go): resources, then components, then
 * this kustomization's generators, then its transformers: patches, namespace, labels, images.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

export type KObject = Record<string, any>;

const KNOWN_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'components', 'namespace', 'labels', 'images', 'patches', 'configMapGenerator']);

/** Kinds in these manifests that have no namespace; anything not listed here is namespaced. */
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PriorityClass']);

/** Where a workload keeps its pod template (kustomize's `labels` includeTemplates field specs). */
const TEMPLATE_KINDS = new Set(['Deployment', 'ReplicaSet', 'DaemonSet', 'StatefulSet', 'Job']);

export function isNamespaced(o: KObject): boolean {
  return !CLUSTER_SCOPED.has(o['kind']);
}

/** Every YAML document of a file, as plain data; empty documents are skipped, syntax errors throw. */
export function readYamlDocuments(file: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'), { prettyErrors: true });
  const out: unknown[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS({ maxAliasCount: 0 });
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

export function buildKustomization(dir: string): KObject[] {
  return build(resolve(dir), [], 'Kustomization');
}

function build(dir: string, inherited: KObject[], expectedKind: 'Kustomization' | 'Component'): KObject[] {
  const file = join(dir, 'kustomization.yaml');
  const [k, ...more] = readYamlDocuments(file) as KObject[];
  if (k === undefined || more.length > 0) throw new Error(`${file}: expected exactly one document`);
  if (k['kind'] !== expectedKind) throw new Error(`${file}: kind ${k['kind']}, expected ${expectedKind}`);
  const expectedApi = expectedKind === 'Component' ? 'kustomize.config.k8s.io/v1alpha1' : 'kustomize.config.k8s.io/v1beta1';
  if (k['apiVersion'] !== expectedApi) throw new Error(`${file}: apiVersion ${k['apiVersion']}, expected ${expectedApi}`);
  for (const key of Object.keys(k)) {
    if (!KNOWN_FIELDS.has(key)) throw new Error(`${file}: '${key}' is not implemented by this kustomize subset (test/deploy/kustomize-build.ts)`);
  }
  let objects = [...inherited];
  for (const entry of list(k, 'resources', file)) {
    const path = join(dir, entry);
    const loaded = statSync(path).isDirectory() ? build(path, [], 'Kustomization') : loadResourceFile(path);
    for (const o of loaded) add(objects, o, file);
  }
  for (const entry of list(k, 'components', file)) objects = build(join(dir, entry), objects, 'Component');
  for (const gen of list(k, 'configMapGenerator', file)) add(objects, configMapFrom(gen, dir, file), file);

  for (const p of list(k, 'patches', file)) applyPatch(objects, p, dir, file);
  if (k['namespace'] !== undefined) setNamespace(objects, k['namespace'], file);
  for (const l of list(k, 'labels', file)) addLabels(objects, l, file);
  for (const img of list(k, 'images', file)) setImage(objects, img, file);
  return objects;
}

function list(k: KObject, key: string, file: string): any[] {
  const v = k[key];
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new Error(`${file}: ${key} must be a list`);
  return v;
}

function loadResourceFile(path: string): KObject[] {
  return readYamlDocuments(path).map((d) => {
    if (typeof d !== 'object' || d === null || Array.isArray(d)) throw new Error(`${path}: a document is not an object`);
    const o = d as KObject;
    if (typeof o['apiVersion'] !== 'string' || typeof o['kind'] !== 'string' || typeof o['metadata']?.name !== 'string') {
      throw new Error(`${path}: every object needs apiVersion, kind and metadata.name`);
    }
    return o;
  });
}

export function idOf(o: KObject): string {
  return `${o['apiVersion']}/${o['kind']}/${o['metadata']?.namespace ?? '~'}/${o['metadata']?.name}`;
}

/** kustomize refuses two resources with one id. */
function add(objects: KObject[], o: KObject, file: string): void {
  if (objects.some((x) => idOf(x) === idOf(o))) throw new Error(`${file}: ${idOf(o)} is defined twice`);
  objects.push(o);
}

function configMapFrom(gen: KObject, dir: string, file: string): KObject {
  for (const key of Object.keys(gen)) {
    if (!['name', 'files', 'literals', 'options'].includes(key)) throw new Error(`${file}: configMapGenerator.${key} is not implemented`);
  }
  if (gen['options']?.disableNameSuffixHash !== true || Object.keys(gen['options']).length !== 1) {
    // the hash suffix also renames every reference to the ConfigMap: not modelled here
    throw new Error(`${file}: configMapGenerator ${gen['name']} must set options.disableNameSuffixHash: true (the hash suffix is not implemented)`);
  }
  const data: Record<string, string> = {};
  for (const entry of (gen['files'] ?? []) as string[]) {
    const eq = entry.indexOf('=');
    const [key, path] = eq < 0 ? [basename(entry), entry] : [entry.slice(0, eq), entry.slice(eq + 1)];
    if (key in data) throw new Error(`${file}: configMapGenerator ${gen['name']}: key ${key} twice`);
    data[key] = readFileSync(join(dir, path), 'utf8');
  }
  for (const entry of (gen['literals'] ?? []) as string[]) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new Error(`${file}: configMapGenerator literal '${entry}' is not KEY=VALUE`);
    data[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: gen['name'] }, data };
}

function groupVersion(apiVersion: string): [group: string, version: string] {
  const i = apiVersion.lastIndexOf('/');
  return i < 0 ? ['', apiVersion] : [apiVersion.slice(0, i), apiVersion.slice(i + 1)];
}

function applyPatch(objects: KObject[], p: KObject, dir: string, file: string): void {
  const target = p['target'];
  if (target === undefined) throw new Error(`${file}: a patch without target (strategic merge) is not implemented`);
  for (const key of Object.keys(target)) {
    if (!['group', 'version', 'kind', 'name', 'namespace'].includes(key)) throw new Error(`${file}: patch target.${key} is not implemented`);
  }
  const text = p['path'] !== undefined ? readFileSync(join(dir, p['path']), 'utf8') : p['patch'];
  if (typeof text !== 'string') throw new Error(`${file}: a patch needs path or patch`);
  const docs = parseAllDocuments(text);
  const ops = docs.length === 1 ? docs[0]!.toJS() : undefined;
  if (!Array.isArray(ops)) throw new Error(`${file}: only JSON 6902 patches (a list of operations) are implemented`);
  const matches = objects.filter((o) => {
    const [group, version] = groupVersion(o['apiVersion']);
    return (target.group === undefined || target.group === group) && (target.version === undefined || target.version === version)
      && (target.kind === undefined || target.kind === o['kind']) && (target.name === undefined || target.name === o['metadata'].name)
      && (target.namespace === undefined || target.namespace === o['metadata'].namespace);
  });
  if (matches.length === 0) throw new Error(`${file}: patch target ${JSON.stringify(target)} matches nothing`);
  for (const o of matches) for (const op of ops) applyOperation(o, op, file);
}

/** RFC 6902 add, remove, replace and test, with RFC 6901 pointers. */
export function applyOperation(doc: KObject, op: KObject, file = 'patch'): void {
  const path = op['path'];
  if (typeof path !== 'string' || !path.startsWith('/')) throw new Error(`${file}: bad JSON pointer ${String(path)}`);
  const tokens = path.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
  const last = tokens.pop()!;
  let parent: any = doc;
  for (const t of tokens) {
    parent = Array.isArray(parent) ? parent[index(parent, t, false, path)] : parent?.[t];
    if (parent === undefined || parent === null || typeof parent !== 'object') throw new Error(`${file}: ${path}: ${t} does not exist`);
  }
  const value = structuredClone(op['value']);
  switch (op['op']) {
    case 'add':
      if (Array.isArray(parent)) parent.splice(last === '-' ? parent.length : index(parent, last, true, path), 0, value);
      else parent[last] = value;
      return;
    case 'replace':
    case 'remove': {
      const exists = Array.isArray(parent) ? last !== '-' && index(parent, last, false, path) >= 0 : Object.hasOwn(parent, last);
      if (!exists) throw new Error(`${file}: ${op['op']} ${path}: the path does not exist`);
      if (op['op'] === 'replace') {
        if (Array.isArray(parent)) parent[index(parent, last, false, path)] = value;
        else parent[last] = value;
      } else if (Array.isArray(parent)) parent.splice(index(parent, last, false, path), 1);
      else delete parent[last];
      return;
    }
    case 'test': {
      const actual = Array.isArray(parent) ? parent[index(parent, last, false, path)] : parent[last];
      if (JSON.stringify(actual) !== JSON.stringify(value)) throw new Error(`${file}: test ${path} failed`);
      return;
    }
    default:
      throw new Error(`${file}: JSON patch op '${op['op']}' is not implemented`);
  }
}

function index(arr: unknown[], token: string, forAdd: boolean, path: string): number {
  const i = /^(0|[1-9]\d*)$/.test(token) ? Number(token) : NaN;
  if (!Number.isInteger(i) || i > arr.length || (!forAdd && i === arr.length)) throw new Error(`${path}: index ${token} is out of range`);
  return i;
}

function setNamespace(objects: KObject[], ns: string, file: string): void {
  for (const o of objects) {
    if (o['kind'] === 'Namespace' && o['metadata'].name !== ns) {
      throw new Error(`${file}: namespace ${ns} with a Namespace object named ${o['metadata'].name}: renaming it is not implemented`);
    }
    if (isNamespaced(o)) o['metadata'].namespace = ns;
    if (o['kind'] === 'RoleBinding' || o['kind'] === 'ClusterRoleBinding') {
      // setRoleBindingSubjects: defaultOnly, kustomize's default: only subjects named "default"
      for (const s of o['subjects'] ?? []) if (s.kind === 'ServiceAccount' && s.name === 'default') s.namespace = ns;
    }
  }
}

function addLabels(objects: KObject[], l: KObject, file: string): void {
  for (const key of Object.keys(l)) {
    if (!['pairs', 'includeSelectors', 'includeTemplates'].includes(key)) throw new Error(`${file}: labels.${key} is not implemented`);
  }
  if (l['includeSelectors'] === true) throw new Error(`${file}: labels with includeSelectors: true are not implemented`);
  const pairs = l['pairs'] as Record<string, string>;
  for (const o of objects) {
    o['metadata'].labels = { ...o['metadata'].labels, ...pairs };
    if (l['includeTemplates'] === true && TEMPLATE_KINDS.has(o['kind'])) {
      const t = (o['spec'].template.metadata ??= {});
      t.labels = { ...t.labels, ...pairs };
    }
  }
}

/** `registry:5000/a/b:tag@sha256:...` → name, tag, digest (a colon before the last slash is a port). */
export function splitImage(image: string): { name: string; tag: string | null; digest: string | null } {
  const at = image.indexOf('@');
  const digest = at < 0 ? null : image.slice(at + 1);
  const rest = at < 0 ? image : image.slice(0, at);
  const colon = rest.lastIndexOf(':');
  const tag = colon > rest.lastIndexOf('/') ? rest.slice(colon + 1) : null;
  return { name: tag === null ? rest : rest.slice(0, colon), tag, digest };
}

function setImage(objects: KObject[], img: KObject, file: string): void {
  for (const key of Object.keys(img)) {
    if (!['name', 'newName', 'newTag', 'digest'].includes(key)) throw new Error(`${file}: images.${key} is not implemented`);
  }
  for (const o of objects) {
    const spec = TEMPLATE_KINDS.has(o['kind']) ? o['spec']?.template?.spec : undefined;
    for (const c of [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])]) {
      const cur = splitImage(c.image);
      if (cur.name !== img['name']) continue;
      const name = img['newName'] ?? cur.name;
      if (img['digest'] !== undefined) c.image = `${name}@${img['digest']}`;
      else if (img['newTag'] !== undefined) c.image = `${name}:${img['newTag']}`;
      else c.image = `${name}${cur.tag === null ? '' : `:${cur.tag}`}${cur.digest === null ? '' : `@${cur.digest}`}`;
    }
  }
}
