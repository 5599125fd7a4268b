import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The repository root (this file is test/helpers/paths.ts). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** `../shared` beside the checkout: read-only samples and reference data, present in CI too. */
export const SHARED = join(REPO_ROOT, '..', 'shared');
export const FIXTURES = join(REPO_ROOT, 'test', 'fixtures');
