/**
 * The API reference (docs/api/): one page per pattern, generated from the TSDoc by TypeDoc
 * (`npm run docs`, scripts/api-docs.ts). The pages committed are the ones the code generates today:
 * the test regenerates them into a temporary folder (one TypeDoc run for the file, about 10 s of
 * CPU) and fails on any page that differs, is missing or is left over.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as api from '../../lib';
import { API_DOCS_DIR } from '../../scripts/api-docs';
import { REPO_ROOT } from '../support/paths';

const committed = path.join(REPO_ROOT, API_DOCS_DIR);
const pages = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.md')).sort() : []);

/** The folders of lib/ with a public index: every pattern, and what they share. */
const PATTERNS = fs.readdirSync(path.join(REPO_ROOT, 'lib'), { withFileTypes: true })
  .filter((e) => e.isDirectory() && e.name !== 'testing' && fs.existsSync(path.join(REPO_ROOT, 'lib', e.name, 'index.ts')))
  .map((e) => e.name)
  .sort();

let fresh: string;
beforeAll(() => {
  fresh = fs.mkdtempSync(path.join(os.tmpdir(), 'api-docs-'));
  // WHEN the reference is generated from the code as it is now (a TypeDoc warning fails this)
  execFileSync(process.execPath, ['-r', 'esbuild-register', path.join(REPO_ROOT, 'scripts', 'api-docs.ts'), '--out', fresh], { cwd: REPO_ROOT, stdio: 'pipe' });
}, 180_000);
afterAll(() => fs.rmSync(fresh, { recursive: true, force: true }));

describe('the API reference', () => {
  test('is the one `npm run docs` generates from the code today', () => {
    // THEN every committed page is the generated one, and no page is missing or left over
    const now = pages(fresh);
    const before = pages(committed);
    const stale = now.filter((f) => before.includes(f) && fs.readFileSync(path.join(fresh, f), 'utf8') !== fs.readFileSync(path.join(committed, f), 'utf8'));
    expect({ stale, missing: now.filter((f) => !before.includes(f)), leftOver: before.filter((f) => !now.includes(f)) })
      .toEqual({ stale: [], missing: [], leftOver: [] });
  });

  test('has one page per pattern, one for the testing entry and one for the runtime, listed on its index page', () => {
    expect(PATTERNS).toEqual(expect.arrayContaining(['core', 'image-bootstrap', 'session-store', 'shared-storage', 'web-tier', 'work-queue']));
    const expected = [...PATTERNS, 'testing', 'runtime'].map((p) => `${p}.md`);
    expect(pages(committed)).toEqual(['README.md', ...expected].sort());
    const index = fs.readFileSync(path.join(committed, 'README.md'), 'utf8');
    expect(expected.filter((page) => !index.includes(`](${page})`))).toEqual([]);
  });

  test('documents every export of the constructs on its pattern\'s page', () => {
    // GIVEN every page's headings
    const headings = new Set(PATTERNS.flatMap((p) => [...fs.readFileSync(path.join(committed, `${p}.md`), 'utf8').matchAll(/^### (?:`abstract` )?(\w+)$/gm)].map((m) => m[1]!)));
    // THEN each class and enum users import has a section (types are checked by the public-API test)
    expect(Object.keys(api).filter((name) => !headings.has(name))).toEqual([]);
  });
});
