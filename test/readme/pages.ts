/**
 * The documentation's pages: README.md and every Markdown page under docs/, except the API
 * reference (docs/api/, generated from the code by TypeDoc). The samples test compiles the
 * samples of each; the claims test (test/docs/claims.test.ts) reads their Claims tables.
 */
import * as fs from 'fs';
import * as path from 'path';
import { REPO_ROOT } from '../support/paths';

/** The pages, relative to the repository, README.md first, then docs/ in path order. */
export function documentationPages(root = REPO_ROOT): string[] {
  const walk = (dir: string): string[] => fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return rel === 'docs/api' ? [] : walk(rel);
    return e.name.endsWith('.md') ? [rel] : [];
  });
  return ['README.md', ...walk('docs').sort()];
}

/** The pages of the patterns, one per pattern, in one template (docs/patterns/*.md). */
export function patternPages(root = REPO_ROOT): string[] {
  return documentationPages(root).filter((p) => p.startsWith('docs/patterns/') && p !== 'docs/patterns/README.md');
}
