/**
 * The documentation keeps its word: every pattern page (docs/patterns/) has the template's
 * sections in the template's order and links its API reference page; every Claims table (the
 * pattern pages, the compliance page) names, for each promise, a test file that exists and a test
 * in it (a distinctive part of the test's name); every test file a page names exists; and every
 * relative link of a page resolves to a file the package ships (README.md, LICENSE, docs/), so
 * the pages work on npm as in the repository. Reads files only: well under a second.
 */
import * as fs from 'fs';
import * as path from 'path';
import { documentationPages, patternPages } from '../readme/pages';
import { REPO_ROOT } from '../support/paths';

/** The sections of a pattern page, in order: no other `##` heading. */
const TEMPLATE = ['What problem it solves', 'The smallest working sample', 'Defaults, and why', 'What it exposes', 'Its runtime code', 'Locally', 'Limits', 'Claims'];

/** The pages that must have a Claims table besides the pattern pages. */
const OTHER_CLAIMS_PAGES = ['docs/compliance.md', 'docs/render-farm.md', 'docs/local-cloud.md'];

/** What the package ships of the repository's files (package.json `files`), for links. */
const SHIPPED = /^(README\.md|LICENSE|docs\/.+)$/;

/** The page's lines outside fenced code blocks, with their line numbers. */
function proseLines(markdown: string): { line: number; text: string }[] {
  let fenced = false;
  return markdown.split('\n').flatMap((text, i) => {
    if (/^\s*```/.test(text)) {
      fenced = !fenced;
      return [];
    }
    return fenced ? [] : [{ line: i + 1, text }];
  });
}

/** The `##` headings of a page, in order. */
function sections(markdown: string): string[] {
  return proseLines(markdown).flatMap((l) => (/^## (.+)$/.exec(l.text)?.[1] ? [/^## (.+)$/.exec(l.text)![1].trim()] : []));
}

/** The prose lines of one `##` section. */
function sectionLines(markdown: string, heading: string): { line: number; text: string }[] {
  const lines = proseLines(markdown);
  const start = lines.findIndex((l) => l.text.trim() === `## ${heading}`);
  if (start < 0) return [];
  const end = lines.findIndex((l, i) => i > start && /^## /.test(l.text));
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

/** Problems with a pattern page's shape: the template's sections, in order, and a link to its API reference page. */
export function templateProblems(markdown: string, page: string): string[] {
  const problems: string[] = [];
  const found = sections(markdown);
  if (JSON.stringify(found) !== JSON.stringify(TEMPLATE)) {
    problems.push(`${page}: its sections are ${JSON.stringify(found)}, the template's are ${JSON.stringify(TEMPLATE)} (in that order, no other \`##\` heading)`);
  }
  const api = `../api/${path.basename(page)}`;
  if (!sectionLines(markdown, 'What it exposes').some((l) => l.text.includes(`](${api})`))) {
    problems.push(`${page}: "What it exposes" does not link the API reference page ${api}`);
  }
  return problems;
}

/** The names of the tests, `describe` blocks and `test.each` tables of a test file's source, unescaped. */
export function testNames(source: string): string[] {
  const literal = String.raw`(['"\x60])((?:\\.|(?!\1)[^\\])*)\1`;
  const direct = new RegExp(String.raw`\b(?:describe|test|it)\(\s*` + literal, 'g');
  const each = new RegExp(String.raw`\)\(\s*` + literal + String.raw`\s*,\s*(?:async\s*)?(?:\(|function|\w+\s*=>)`, 'g');
  return [...source.matchAll(direct), ...source.matchAll(each)].map((m) => m[2].replace(/\\(.)/g, '$1'));
}

/** A claim of a Claims table: the promise, and the tests that back it. */
interface Claim {
  readonly line: number;
  readonly promise: string;
  readonly tests: { readonly file: string; readonly name: string }[];
}

/** The rows of a page's Claims table (header and separator left out). */
export function claims(markdown: string): Claim[] {
  return sectionLines(markdown, 'Claims')
    .filter((l) => /^\|.*\|\s*$/.test(l.text.trim()))
    .slice(2)
    .map((l) => {
      const cells = l.text.trim().slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim());
      const backing = cells[cells.length - 1] ?? '';
      const tests = [...backing.matchAll(/`(test\/[\w./-]+\.test\.ts)`\s*"([^"]+)"/g)].map((m) => ({ file: m[1], name: m[2] }));
      return { line: l.line, promise: cells[0] ?? '', tests };
    });
}

/** Problems with a page's Claims table: a row without a test, a test file that does not exist, a test name not in it. */
export function claimProblems(markdown: string, page: string, root = REPO_ROOT): string[] {
  const rows = claims(markdown);
  if (rows.length === 0) return [`${page}: no Claims table (| promise | test |) under "## Claims"`];
  return rows.flatMap((row) => {
    if (row.tests.length === 0) return [`${page}:${row.line}: "${row.promise}" names no test (\`test/<path>.test.ts\` "<part of the test's name>")`];
    return row.tests.flatMap(({ file, name }) => {
      const full = path.join(root, file);
      if (!fs.existsSync(full)) return [`${page}:${row.line}: ${file} does not exist`];
      return testNames(fs.readFileSync(full, 'utf8')).some((n) => n.includes(name)) ? [] : [`${page}:${row.line}: ${file} has no test named like "${name}"`];
    });
  });
}

/** Problems with a page's references: a test file named in backticks that does not exist, a relative link that does not resolve to a shipped file. */
export function referenceProblems(markdown: string, page: string, root = REPO_ROOT): string[] {
  const problems: string[] = [];
  for (const { line, text } of proseLines(markdown)) {
    for (const m of text.matchAll(/`(test\/[\w./-]+\.test\.ts)`/g)) {
      if (!fs.existsSync(path.join(root, m[1]))) problems.push(`${page}:${line}: ${m[1]} does not exist`);
    }
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const link = m[1];
      if (/^[a-z]+:|^#/.test(link)) continue;
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(page), link.split('#')[0]));
      if (!fs.existsSync(path.join(root, target))) problems.push(`${page}:${line}: the link ${link} resolves to ${target}, which does not exist`);
      else if (!SHIPPED.test(target)) problems.push(`${page}:${line}: the link ${link} resolves to ${target}, which the package does not ship (README.md, LICENSE, docs/)`);
    }
  }
  return problems;
}

const read = (page: string) => fs.readFileSync(path.join(REPO_ROOT, page), 'utf8');

describe('the pattern pages', () => {
  test('are one per pattern, each with the template\'s sections in order and a link to its API reference page', () => {
    // GIVEN the pattern pages
    const pages = patternPages();
    expect(pages.map((p) => path.basename(p, '.md')).sort()).toEqual(['image-bootstrap', 'locks', 'session-store', 'shared-storage', 'web-tier', 'work-queue']);
    // THEN each has the template's shape
    expect(pages.flatMap((p) => templateProblems(read(p), p))).toEqual([]);
  });
});

describe('the Claims tables', () => {
  test('name, for every promise, a test file that exists and a test in it', () => {
    // GIVEN every page with claims: the pattern pages, the compliance, render farm and local cloud pages
    const pages = [...patternPages(), ...OTHER_CLAIMS_PAGES];
    // WHEN each row's tests are looked up
    const problems = pages.flatMap((p) => claimProblems(read(p), p));
    // THEN each is there, and the tables are not empty
    expect(problems).toEqual([]);
    expect(pages.map((p) => claims(read(p)).length).every((n) => n >= 3)).toBe(true);
  });

  test('fail on a row without a test, a missing test file and a test name the file lacks (the check is not blind)', () => {
    // GIVEN a table with one good row and three bad ones
    const page = [
      '## Claims', '', '| promise | test |', '|---|---|',
      '| good | `test/docs/claims.test.ts` "fail on a row without a test" |',
      '| no test | nothing named |',
      '| no file | `test/nowhere/missing.test.ts` "anything" |',
      '| no such test | `test/docs/claims.test.ts` "a test nobody wrote" |',
    ].join('\n');
    // WHEN it is checked THEN each bad row is named, and the good one is not
    expect(claimProblems(page, 'fixture.md')).toEqual([
      'fixture.md:6: "no test" names no test (`test/<path>.test.ts` "<part of the test\'s name>")',
      'fixture.md:7: test/nowhere/missing.test.ts does not exist',
      'fixture.md:8: test/docs/claims.test.ts has no test named like "a test nobody wrote"',
    ]);
  });

  test('read test names as jest sees them: escaped quotes, template literals and test.each tables', () => {
    const source = [
      "test('the agent\\'s role', () => {});",
      'test(`${N} processes lose no update`, async () => {});',
      "test.each([\n  ['a', { x: [f('y')] }],\n])('fails when %s', (_name, props) => {});",
      "describe('a block', () => {});",
    ].join('\n');
    expect(testNames(source).sort()).toEqual(['${N} processes lose no update', 'a block', 'fails when %s', 'the agent\'s role']);
  });
});

describe('the pages\' references', () => {
  test('every test file a page names exists, and every relative link resolves to a file the package ships', () => {
    expect(documentationPages().flatMap((p) => referenceProblems(read(p), p))).toEqual([]);
  });

  test('fail on a missing test file, a broken link and a link to a file the package leaves out (the check is not blind)', () => {
    const page = 'See `test/nowhere/missing.test.ts`, [gone](../nothing.md), [code](../../lib/index.ts) and [ok](../api/README.md).';
    expect(referenceProblems(page, 'docs/patterns/fixture.md')).toEqual([
      'docs/patterns/fixture.md:1: test/nowhere/missing.test.ts does not exist',
      'docs/patterns/fixture.md:1: the link ../nothing.md resolves to docs/nothing.md, which does not exist',
      'docs/patterns/fixture.md:1: the link ../../lib/index.ts resolves to lib/index.ts, which the package does not ship (README.md, LICENSE, docs/)',
    ]);
  });

  test('a page out of the template\'s order, or without its API link, is named (the check is not blind)', () => {
    const page = ['# X', ...TEMPLATE.slice(0, 3).reverse().map((h) => `## ${h}`), '```bash', '## not a heading', '```'].join('\n');
    expect(templateProblems(page, 'docs/patterns/x.md')).toEqual([
      expect.stringMatching(/^docs\/patterns\/x\.md: its sections are \["Defaults, and why","The smallest working sample","What problem it solves"\]/),
      'docs/patterns/x.md: "What it exposes" does not link the API reference page ../api/x.md',
    ]);
  });
});
