/**
 * Whether Docker leaves a path of the build context out, by the rules of .dockerignore (moby's
 * patternmatcher): each line is a path pattern from the context root (`*` and `?` within one path
 * element, `**` across elements), a pattern that matches a parent directory matches everything
 * under it, `!` takes matching paths back in, and the last matching line decides.
 */
export interface IgnoreRule {
  negate: boolean;
  re: RegExp;
}

export function parseDockerignore(text: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const raw of text.split('\n')) {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    if (negate) line = line.slice(1).trim();
    line = line.replace(/^\/+|\/+$/g, '').replace(/\/{2,}/g, '/');
    if (line === '') continue;
    rules.push({ negate, re: globToRegExp(line) });
  }
  return rules;
}

export function isIgnored(rules: readonly IgnoreRule[], path: string): boolean {
  const parts = path.split('/');
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const rule of rules) {
    if (candidates.some((c) => rule.re.test(c))) ignored = !rule.negate;
  }
  return ignored;
}

function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      // `**/` matches zero or more directories, a trailing `**` everything below
      const slash = pattern[i + 2] === '/';
      re += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[' || c === '\\') throw new Error(`.dockerignore: character classes and escapes are not implemented (${pattern})`);
    else re += c.replace(/[.+^${}()|]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
