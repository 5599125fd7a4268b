/**
 * One line per route, keyed by method and path as the route files declare them. buildApp puts
 * each into its route's schema (`summary`, so the OpenAPI document has it) and `run --help`
 * lists the routes the app actually registers with these lines; test/http/route-summaries.test.ts
 * fails when a route has no line or a line no route.
 */
export const ROUTE_SUMMARIES: Readonly<Record<string, string>> = {
  'GET /': 'a page for people: pods and their learning status, syscalls, violations, unattributed records, sources; profile download and check (data through the API, with its token)',
  'GET /page.js': 'the page\'s script',
  'GET /healthz': 'alive',
  'GET /readyz': 'ready: each source (a followed file: its state and position) and the database; 503 when one fails',
  'GET /metrics': 'Prometheus metrics (seccomp_auditor_*)',
  'GET /openapi.json': 'this API as an OpenAPI document, generated from the schemas the routes validate with',
  'GET /api/v1/status': 'each source\'s counts, lag and errors, committed positions, lost records, database size',
  'GET /api/v1/pods': 'pods and their containers with syscall and record counts (?namespace=, paged: ?limit=&continue=)',
  'GET /api/v1/namespaces/:namespace/pods/:pod/syscalls': 'the syscalls each container of a pod made, with counts and first/last seen (?container=)',
  'GET /api/v1/namespaces/:namespace/pods/:pod/profile': 'the learned seccomp profile of a pod (?container=&format=oci|spo&defaultAction=&baseline=&explain=)',
  'POST /api/v1/namespaces/:namespace/pods/:pod/profile/diff': 'what an OCI profile (the body) would block of what the pod did, and what it allows that was never seen',
  'GET /api/v1/namespaces/:namespace/workloads/:name/profile': 'the learned profile of a workload: the union over its pods (same options as a pod\'s)',
  'DELETE /api/v1/namespaces/:namespace/pods/:pod': 'forget a pod\'s observations, to learn it again (bearer token)',
  'GET /api/v1/violations': 'records whose action was not log (what a restrictive profile blocked), per pod, container and syscall',
  'GET /api/v1/unattributed': 'records no container or unit could be found for, by comm, exe and reason',
  'GET /api/v1/units': 'host systemd units seen, attributed by their cgroup',
  'GET /api/v1/units/:unit/profile': 'a host unit\'s learned profile, or its SystemCallFilter= drop-in (?format=oci|systemd)',
  'GET /api/v1/profiles': 'profiles installed in this node\'s kubelet seccomp directory',
  'POST /api/v1/profiles/:name': 'install an OCI profile (the body) on this node (bearer token)',
  'DELETE /api/v1/profiles/:name': 'remove a profile this daemon installed (bearer token)',
};
