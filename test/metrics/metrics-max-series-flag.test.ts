import t from 'tap';
import { runCli } from '../helpers/cli.js';

t.test('--metrics-max-series: in the help with its variable and default; a bad value is a usage error', async (t) => {
  const help = await runCli(['run', '--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /--metrics-max-series N +.*\(default: 10000; env SECCOMP_AUDITOR_METRICS_MAX_SERIES\)/);
  for (const bad of ['lots', '-1', '1.5', '1e3', '']) {
    const r = await runCli(['run', '--source', 'none', `--metrics-max-series=${bad}`]);
    t.equal(r.code, 2, `--metrics-max-series=${bad}`);
    t.match(r.stderr, /--metrics-max-series .*: expected a whole number of series/);
  }
  const env = await runCli(['run', '--source', 'none'], '', { SECCOMP_AUDITOR_METRICS_MAX_SERIES: 'many' });
  t.equal(env.code, 2, 'from the environment too');
  t.match(env.stderr, /--metrics-max-series many/);
});
