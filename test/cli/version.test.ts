import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { runBuiltCli, runCli } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/paths.js';

const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

t.test('--version and -V print the package version, from the built executable too', async (t) => {
  t.match(VERSION, /^\d+\.\d+\.\d+/);
  for (const flag of ['--version', '-V']) {
    t.same(await runCli([flag]), { code: 0, stdout: `seccomp-auditor ${VERSION}\n`, stderr: '' }, flag);
  }
  const built = runBuiltCli(['--version']);
  t.same({ code: built.code, stdout: built.stdout }, { code: 0, stdout: `seccomp-auditor ${VERSION}\n` }, 'dist/cli.js finds package.json from dist/');
  t.match((await runCli(['--help'])).stdout, /'seccomp-auditor --version'/, 'the usage mentions it');
});
