import { Registry } from 'prom-client';
import { buildApp, type DeclaredRoute } from './app.js';

/**
 * Every route the daemon serves, with its summary, in declaration order: read from an app built
 * the way the daemon builds it (metrics on, no database), so a help text made from it lists what
 * is really served.
 */
export async function declaredRoutes(): Promise<DeclaredRoute[]> {
  const routes: DeclaredRoute[] = [];
  const app = buildApp({
    status: { ready: () => ({ ready: true, sources: [] }) },
    metrics: new Registry(),
    onRoute: (route) => routes.push(route),
  });
  await app.ready();
  await app.close();
  return routes;
}
