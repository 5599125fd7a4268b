import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from '../helpers/paths.js';

// A user's clone has nothing beside it: the team's `shared/` folder (samples, kernel tables,
// notes) exists only on the development machines. Code, tests, benches and CI that read from it
// pass here and fail (or skip) in a clone, so any reference to it is refused; data goes into
// test/fixtures or syscall-tables with a note of its source instead.

const SCANNED_DIRS = ['src', 'test', 'bench', 'syscall-tables', 'systemd', 'deploy', '.ci'];
const SCANNED_FILES = ['package.json', 'Dockerfile', 'tsconfig.json', 'tsconfig.check.json'];
// Copied data with its own notes of where it came from, not code.
const SKIPPED_DIRS = new Set(['node_modules', 'fixtures', 'linux-7.1.5']);
const CODE = /\.(?:[cm]?[jt]s|c|sh|json|ya?ml|service)$|^run$/;
const THIS_FILE = fileURLToPath(import.meta.url);

/** Lines that name the sibling `shared` folder, in any of the ways code has spelled it. */
export function sharedReferences(text: string): number[] {
  const found: number[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    // a relative path up to shared, the workplace's absolute path, or path.join's two words
    if (/(?:^|[^\w.-])(?:\.\.\/)+shared(?![\w-])/.test(line) || /\/work\/shared(?![\w-])/.test(line) || /['"]\.\.['"]\s*,\s*['"]shared['"]/.test(line)) {
      found.push(i + 1);
    }
  }
  return found;
}

function* files(dir: string): Generator<string> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (!SKIPPED_DIRS.has(name)) yield* files(path);
    } else if (CODE.test(name) && path !== THIS_FILE) {
      yield path;
    }
  }
}

t.test('the pattern finds each spelling and leaves look-alikes alone', async (t) => {
  // the samples are built from parts, so that this file itself names no such path
  const up = "'..'";
  t.same(sharedReferences(`const A = join(REPO, ${up}, 'shared', 'samples');`), [1]);
  t.same(sharedReferences('x\n// see ../shared/notes/a.md'), [2]);
  t.same(sharedReferences("resolve(HERE, '../../shared/reference/linux')"), [1]);
  t.same(sharedReferences(' * /work/shared/notes/real-kernel-testing.md.'), [1]);
  t.same(sharedReferences("installer.install('shared', PROFILE)\nconst sharedPool = 1;\n'./shared-samples.test.ts'"), []);
});

t.test('no code, test, bench or CI file reads the sibling shared/ folder', async (t) => {
  const scanned = [...SCANNED_DIRS.flatMap((d) => [...files(join(REPO_ROOT, d))]), ...SCANNED_FILES.map((f) => join(REPO_ROOT, f))];
  t.ok(scanned.length > 100, `scanned ${scanned.length} files`);
  const offenders: string[] = [];
  for (const path of scanned) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      continue;
    }
    for (const line of sharedReferences(text)) offenders.push(`${relative(REPO_ROOT, path)}:${line}`);
  }
  t.same(offenders, [], 'copy what is needed into test/fixtures (with a SOURCES note) or syscall-tables/, and read it there');
});
