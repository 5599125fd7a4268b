import { readFileSync } from 'node:fs';

/**
 * The version in package.json, read at run time: this file sits one level below the package root
 * both as source (src/) and built (dist/), and a copy kept in code would drift from the release.
 */
export const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
