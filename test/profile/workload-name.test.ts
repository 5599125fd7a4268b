import t from 'tap';
import { workloadNameOf } from '../../src/profile/workload-name.js';

t.test('pod names to workload names', async (t) => {
  const cases: [string, string][] = [
    ['web-7d9f8b6c4-x2k4p', 'web'],
    ['my-api-server-5b7c9d8f6d-bcd2x', 'my-api-server'],
    ['agent-x2k4p', 'agent'],
    ['db-0', 'db'],
    ['redis-cluster-12', 'redis-cluster'],
    ['report-28339410-x2k4p', 'report-28339410'],
    ['plain', 'plain'],
  ];
  for (const [pod, name] of cases) t.equal(workloadNameOf(pod), name, pod);
});
