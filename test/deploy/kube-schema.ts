/**
 * Offline checks of Kubernetes objects against the API's own schemas, as shipped by npm packages:
 * kubernetes-models 4.5 (JSON schemas from the Kubernetes OpenAPI document, compiled with ajv; its
 * core/v1 schemas have Lifecycle.stopSignal, so v1.33 or later, although its README badge still
 * says 1.27.1) and @kubernetes-models/prometheus-operator 4.4 (from prometheus-operator's CRDs).
 *
 * Those schemas, like the OpenAPI document, do not forbid unknown fields; the API server does
 * (kubectl's default --validate=strict). unknownFields() finds them the only way compiled
 * validators allow: it gives each field in turn a value of another JSON type and keeps the fields
 * whose change the schema does not notice.
 */
import { ConfigMap, Namespace, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { ClusterRole, ClusterRoleBinding, Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import type { KObject } from './kustomize-build.js';

interface Validatable {
  validate(): void;
}

const MODELS: Record<string, new (data: any) => Validatable> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/DaemonSet': DaemonSet,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
};

/** The schema's complaints about an object, [] when it conforms; throws for a kind without a schema here. */
export function schemaErrors(o: KObject): string[] {
  const Model = MODELS[`${o['apiVersion']}/${o['kind']}`];
  if (Model === undefined) throw new Error(`no schema for ${o['apiVersion']} ${o['kind']} in test/deploy/kube-schema.ts`);
  try {
    new Model(structuredClone(o)).validate();
    return [];
  } catch (err) {
    return [(err as Error).message];
  }
}

/** JSON pointers of fields the schema does not know (call on an object whose schemaErrors() is []). */
export function unknownFields(o: KObject): string[] {
  const unknown: string[] = [];
  const visit = (value: unknown, path: string[]): void => {
    if (Array.isArray(value)) {
      value.forEach((v, i) => visit(v, [...path, String(i)]));
      return;
    }
    if (typeof value !== 'object' || value === null) return;
    for (const [key, v] of Object.entries(value)) {
      const at = [...path, key];
      if (path.length === 0 && (key === 'apiVersion' || key === 'kind')) continue;
      const probe = structuredClone(o);
      setAt(probe, at, otherType(v));
      if (schemaErrors(probe).length === 0) unknown.push(`/${at.join('/')}`);
      else visit(v, at);
    }
  };
  visit(o, []);
  return unknown;
}

/** A value of another JSON type than v, which a typed schema must reject. */
function otherType(v: unknown): unknown {
  if (typeof v === 'string' || typeof v === 'number') return { probe: true };
  if (typeof v === 'boolean') return 'probe';
  return Array.isArray(v) ? { probe: true } : true;
}

function setAt(doc: any, path: string[], value: unknown): void {
  let cur = doc;
  for (const key of path.slice(0, -1)) cur = cur[Array.isArray(cur) ? Number(key) : key];
  const last = path[path.length - 1]!;
  cur[Array.isArray(cur) ? Number(last) : last] = value;
}
