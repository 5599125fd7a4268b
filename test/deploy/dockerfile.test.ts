import t from 'tap';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { REPO_ROOT, SAMPLES_DIR } from '../helpers/paths.js';
import { builtCli } from '../helpers/cli.js';
import { DEFAULT_PORT } from '../../src/cli/run-command.js';
import { isIgnored, parseDockerignore } from './dockerignore.js';

// No Docker engine here: the Dockerfile is linted (dockerfile-utils, the linter behind VS Code's
// Dockerfile support), parsed (dockerfile-ast) and checked, and the runtime stage's file layout is
// assembled from this checkout and run.
const text = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
const dockerfile = DockerfileParser.parse(text);
const ignore = parseDockerignore(readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8'));
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string>; engines: { node: string } };

interface Stage {
  name: string | null;
  /** what FROM names, ARG defaults expanded */
  base: string;
  instructions: Instruction[];
}

const stages: Stage[] = [];
for (const i of dockerfile.getInstructions()) {
  if (i.getKeyword() === 'FROM') {
    const args = i.getExpandedArguments().map((a) => a.getValue());
    stages.push({ name: args[1]?.toUpperCase() === 'AS' ? args[2]! : null, base: args[0]!, instructions: [] });
  } else if (stages.length > 0) {
    stages.at(-1)!.instructions.push(i);
  }
}
const runtime = stages.at(-1)!;
const of = (stage: Stage, keyword: string): Instruction[] => stage.instructions.filter((i) => i.getKeyword() === keyword);
const runText = (stage: Stage): string => of(stage, 'RUN').map((i) => i.getArgumentsContent() ?? '').join('\n');
const flag = (i: Instruction, name: string): string | null => {
  const f = (i as unknown as { getFlags(): { getName(): string; getValue(): string | null }[] }).getFlags().find((x) => x.getName() === name);
  return f === undefined ? null : f.getValue();
};
/** COPY's sources and destination, flags left out */
const copyArgs = (i: Instruction): string[] => i.getArguments().map((a) => a.getValue()).filter((v) => !v.startsWith('--'));
/** An exec-form instruction's strings (ENTRYPOINT, CMD); [] for the shell form. */
const json = (i: Instruction | undefined): string[] =>
  (i as unknown as { getJSONStrings(): { getJSONValue(): string }[] } | undefined)?.getJSONStrings().map((s) => s.getJSONValue()) ?? [];
/** the stage a stage builds on, through stage names */
const rootOf = (stage: Stage): string => {
  const parent = stages.find((s) => s.name === stage.base);
  return parent === undefined ? stage.base : rootOf(parent);
};

t.test('the linter finds nothing', async (t) => {
  const bad = validate('FROM node\nCOPY --form=build a b\nMAINTAINER x\n');
  t.ok(bad.length >= 2, 'the linter does report problems (an unknown flag, a deprecated instruction)');
  t.same(validate(text).map((d) => `${d.range.start.line + 1}: ${d.message}`), []);
});

t.test('multi-stage, every base image pinned to a full version', async (t) => {
  t.ok(stages.length >= 3, `${stages.length} stages`);
  const images = stages.filter((s, i) => !stages.slice(0, i).some((p) => p.name === s.base));
  t.ok(images.length >= 1 && images.length < stages.length, 'some stages build on others');
  for (const s of images) {
    t.notMatch(s.base, /\$/, `FROM ${s.base}: every variable has a default`);
    t.notMatch(s.base, /:latest\b/, 'no latest');
    t.match(s.base, /^(?:[^/]+\/)*node:\d+\.\d+\.\d+-[a-z]+-slim(?:@sha256:[0-9a-f]{64})?$/, `FROM ${s.base}: a full version tag (or a digest too)`);
    const major = /node:(\d+)\./.exec(s.base)?.[1];
    // engines is a lower bound (>=20.19): the image's major must be at or above it
    const least = />=\s*(\d+)/.exec(pkg.engines.node)?.[1];
    t.ok(major !== undefined && least !== undefined && Number(major) >= Number(least), `Node ${major} satisfies the engines field ${pkg.engines.node}`);
  }
  t.equal(rootOf(runtime), rootOf(stages[0]!), 'the runtime runs the Node the native module was compiled for');
  t.not(runtime.base, stages.find((s) => runText(s).includes('g++'))?.name, 'the runtime stage does not build on the toolchain stage');
  t.equal(dockerfile.getInstructions().filter((i) => i.getKeyword() === 'ADD').length, 0, 'no ADD (of URLs or archives): COPY only');
});

t.test('dependencies: toolchain for better-sqlite3, dev dependencies out of the runtime', async (t) => {
  const toolchain = stages.filter((s) => /apt-get install[^\n]*\bpython3\b/.test(runText(s)));
  t.equal(toolchain.length, 1, 'one stage installs the toolchain');
  t.match(runText(toolchain[0]!), /\bmake\b/);
  t.match(runText(toolchain[0]!), /\bg\+\+/);
  t.match(runText(toolchain[0]!), /rm -rf \/var\/lib\/apt\/lists/, 'apt lists removed in the same layer');
  t.notMatch(runText(runtime), /apt-get|npm (ci|install)/, 'nothing installed in the runtime stage');

  const prod = stages.filter((s) => /npm ci\b[^\n&]*--omit=dev/.test(runText(s)));
  t.equal(prod.length, 1, 'one stage installs the production dependencies with npm ci --omit=dev');
  const prodRun = runText(prod[0]!);
  if (pkg.scripts['prepare'] !== undefined) {
    // `prepare` (tsc) would run after npm ci and fail without the dev dependencies
    t.match(prodRun, /npm ci\b[^\n&]*--ignore-scripts/, `package.json has prepare (${pkg.scripts['prepare']}): its scripts are skipped`);
    t.match(prodRun, /npm rebuild better-sqlite3/, '...and the native module is built explicitly');
  }
  t.match(runText(stages.find((s) => /npm run build/.test(runText(s)))!), /npm ci\b/, 'the build stage installs everything with npm ci');

  const fromStage = of(runtime, 'COPY').filter((c) => flag(c, 'from') !== null);
  const copied = new Map(fromStage.map((c) => [copyArgs(c)[0]!, flag(c, 'from')]));
  t.equal(copied.get('/src/node_modules'), prod[0]!.name, 'runtime node_modules come from the production install');
  t.equal(copied.get('/src/dist'), stages.find((s) => /npm run build/.test(runText(s)))!.name, 'dist comes from the build stage');
  for (const c of fromStage) t.ok(stages.some((s) => s.name === flag(c, 'from')), `COPY --from=${flag(c, 'from')} names a stage`);
});

t.test('runtime: entrypoint, command, port, user', async (t) => {
    t.same(json(of(runtime, 'ENTRYPOINT').at(-1)), ['node', '/app/dist/cli.js'], 'ENTRYPOINT in exec form: node gets SIGTERM itself');
  t.same(json(of(runtime, 'CMD').at(-1)), ['run']);
  t.same(of(runtime, 'EXPOSE').map((i) => i.getArgumentsContent()), [String(DEFAULT_PORT)]);
  const user = of(runtime, 'USER').at(-1)?.getArgumentsContent() ?? undefined;
  t.ok(user !== undefined && !/^(root|0)(:|$)/.test(user), `USER ${user}: not root by default (the DaemonSet asks for uid 0 itself)`);
  t.equal(of(runtime, 'WORKDIR').at(-1)?.getArgumentsContent(), '/app');
});

t.test('.dockerignore keeps the context to what the Dockerfile copies', async (t) => {
  for (const p of ['node_modules/fastify/package.json', '.git/HEAD', 'data/seccomp-auditor.db', 'seccomp-auditor.db-wal', 'dist/cli.js', 'test/deploy/dockerfile.test.ts', 'bench/out/x', 'deploy/kubernetes/base/daemonset.yaml', 'syscall-tables/generate.ts']) {
    t.ok(isIgnored(ignore, p), `${p} is left out`);
  }
  let sources = 0;
  for (const s of stages) {
    for (const c of of(s, 'COPY').filter((c) => flag(c, 'from') === null)) {
      for (const src of copyArgs(c).slice(0, -1)) {
        const files = expand(src);
        t.ok(files.length > 0, `COPY ${src}: exists in the repository`);
        for (const f of files) t.notOk(isIgnored(ignore, f), `${f} is in the build context`);
        sources++;
      }
    }
  }
  t.ok(sources >= 5, `${sources} COPY sources checked`);
});

/** Files in the repository a COPY source names: a file, a directory (all files below it) or `dir/*.ext`. */
function expand(src: string): string[] {
  const star = src.indexOf('*');
  if (star >= 0) {
    const dir = posix.dirname(src);
    const re = new RegExp(`^${posix.basename(src).replace(/[.+^${}()|]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
    return existsSync(join(REPO_ROOT, dir)) ? readdirSync(join(REPO_ROOT, dir)).filter((f) => re.test(f)).map((f) => `${dir}/${f}`) : [];
  }
  if (!existsSync(join(REPO_ROOT, src))) return [];
  const walk = (rel: string): string[] => {
    const abs = join(REPO_ROOT, rel);
    try {
      return readdirSync(abs, { withFileTypes: true }).flatMap((e) => walk(`${rel}/${e.name}`));
    } catch {
      return [rel];
    }
  };
  return walk(src);
}

t.test('the runtime stage\'s files are enough to run the CLI', async (t) => {
  // /app as the runtime stage lays it out: from the build stages, this checkout's dist and
  // node_modules; from the context, whatever its COPY lines name
  const app = mkdtempSync(join(tmpdir(), 'sa-image-'));
  t.teardown(() => rmSync(app, { recursive: true, force: true }));
  const cli = builtCli();
  for (const c of of(runtime, 'COPY')) {
    const args = copyArgs(c);
    const dest = join(app, args.at(-1)!);
    const from = flag(c, 'from');
    if (from !== null) {
      const src = args[0]!.replace(/^\/src\//, '');
      t.ok(['dist', 'node_modules', 'build/Release/audit_netlink.node', 'build/Release/record_scan.node', 'build/Release/malloc_policy.node'].includes(src), `COPY --from=${from} ${args[0]}: a build output this test knows`);
      if (src === 'dist') cpSync(dirname(cli), dest, { recursive: true });
      else if (src === 'node_modules') symlinkSync(join(REPO_ROOT, src), dest);
      else {
        mkdirSync(dest, { recursive: true });
        cpSync(join(REPO_ROOT, src), join(dest, posix.basename(src)));
      }
      continue;
    }
    for (const f of args.slice(0, -1).flatMap(expand)) {
      const target = args.at(-1)!.endsWith('/') ? join(dest, posix.basename(f)) : dest;
      mkdirSync(dirname(target), { recursive: true });
      cpSync(join(REPO_ROOT, f), target);
    }
  }
  const [entry, script] = json(of(runtime, 'ENTRYPOINT').at(-1));
  t.equal(entry, 'node');
  const main = join(app, posix.relative('/app', script!));
  const help = spawnSync(process.execPath, [main, 'run', '--help'], { encoding: 'utf8', cwd: app });
  t.equal(help.status, 0, help.stderr);
  t.match(help.stdout, /--listen HOST:PORT/);
  // parse needs the syscall tables, and the version comes from package.json
  const line = readFileSync(join(SAMPLES_DIR, 'audit-lines.log'), 'utf8').split('\n')[0]!;
  const parsed = spawnSync(process.execPath, [main, 'parse'], { input: `${line}\n`, encoding: 'utf8', cwd: app });
  t.equal(parsed.status, 0, parsed.stderr);
  t.match(parsed.stdout, /"syscall":"write"/, 'syscall 1 on x86_64 is named from the copied tables');
  // the audit source's addon loads from where the image puts it (the doctor probes the channel)
  const addon = spawnSync(process.execPath, ['--input-type=module', '-e', `import(${JSON.stringify(join(app, 'dist/sources/audit-netlink.js'))}).then((m) => { const a = m.auditNetlink(); process.stdout.write(typeof a.open); })`], { encoding: 'utf8', cwd: app });
  t.equal(addon.stdout, 'function', `the audit netlink addon loads in the image's layout (${addon.stderr.trim()})`);
  // ingest's reader of auditd lines too: without it the image's ingest would fall back, slower
  const scan = spawnSync(process.execPath, ['--input-type=module', '-e', `import(${JSON.stringify(join(app, 'dist/ingest/record-scan-addon.js'))}).then((m) => { process.stdout.write(typeof m.recordScan()?.scan); })`], { encoding: 'utf8', cwd: app });
  t.equal(scan.stdout, 'function', `the record scan addon loads in the image's layout (${scan.stderr.trim()})`);
  // and the malloc policy (without it an ingest's peak RSS is 20-30 MB higher)
  const policy = spawnSync(process.execPath, ['--input-type=module', '-e', `import(${JSON.stringify(join(app, 'dist/runtime/malloc-policy.js'))}).then((m) => { process.stdout.write(String(m.keepLargeAllocationsMapped())); })`], { encoding: 'utf8', cwd: app });
  t.equal(policy.stdout, 'true', `the malloc policy addon loads and applies in the image's layout (${policy.stderr.trim()})`);
});
