import t from 'tap';
import { declaredRoutes } from '../../src/http/declared-routes.js';
import { ROUTE_SUMMARIES } from '../../src/http/route-summaries.js';
import { runCli } from '../helpers/cli.js';

t.test('every route the app declares has a summary, and every summary a route', async (t) => {
  const routes = await declaredRoutes();
  t.ok(routes.length >= 18, `${routes.length} routes`);
  t.same(routes.filter((r) => r.summary === null).map((r) => `${r.method} ${r.url}`), [], 'add a line to src/http/route-summaries.ts');
  const declared = new Set(routes.map((r) => `${r.method} ${r.url}`));
  t.same(Object.keys(ROUTE_SUMMARIES).filter((k) => !declared.has(k)), [], 'no line for a route that does not exist');
});

t.test('run --help lists the whole API, one line a route; the OpenAPI document carries the summaries', async (t) => {
  const help = (await runCli(['run', '--help'])).stdout;
  for (const [route, summary] of Object.entries(ROUTE_SUMMARIES)) {
    t.ok(help.split('\n').some((l) => l.startsWith(`  ${route} `) && l.endsWith(summary)), route);
  }
  t.notMatch(help, /health endpoints/);
  const { buildApp } = await import('../../src/http/app.js');
  const app = buildApp({ status: { ready: () => ({ ready: true, sources: [] }) } });
  t.teardown(() => app.close());
  const doc = (await app.inject('/openapi.json')).json() as { paths: Record<string, Record<string, { summary?: string }>> };
  t.equal(doc.paths['/api/v1/pods']?.['get']?.summary, ROUTE_SUMMARIES['GET /api/v1/pods']);
});
