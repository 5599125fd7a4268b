import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The repository root (this file is test/helpers/paths.ts). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const FIXTURES = join(REPO_ROOT, 'test', 'fixtures');
/** Real audit lines and cgroup files from public sources (test/fixtures/samples/SOURCES.md). */
export const SAMPLES_DIR = join(FIXTURES, 'samples');
