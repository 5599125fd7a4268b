import { createRequire } from 'node:module';
import t from 'tap';
import { main } from '../../src/cli/main.js';

// fastify and prom-client are CommonJS: once anything imports them they sit in require's cache,
// which this process shares with the ES module loader
const loaded = (name: string): boolean => Object.keys(createRequire(import.meta.url).cache).some((p) => p.includes(`/node_modules/${name}/`));

t.test('a command other than run starts without loading the daemon (HTTP server, metrics)', async (t) => {
  let out = '';
  const io = {
    stdin: process.stdin, env: {}, isTTY: false, stderr: process.stderr,
    stdout: { write: (s: string) => { out += s; return true; } } as NodeJS.WritableStream,
  };
  t.equal(await main(['ingest', '--help'], io), 0);
  t.match(out, /Usage: seccomp-auditor ingest FILE/);
  t.notOk(loaded('fastify'), 'fastify not loaded');
  t.notOk(loaded('prom-client'), 'prom-client not loaded');
  out = '';
  t.equal(await main(['--help'], io), 0);
  t.match(out, /\n {2}run +run the daemon/, 'the command list still names every command');
  t.match(out, /\n {2}ingest +add seccomp records/);
});
