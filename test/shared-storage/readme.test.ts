/**
 * The README's "Shared storage" samples: each block is in readme-samples.ts unchanged, which
 * `npm run typecheck` compiles against the public API. (The composing sample bundles a user's
 * handler file that does not exist here, so it is compiled, not synthesized; what it builds is
 * covered by shared-storage.test.ts and the stack test.)
 */
import * as fs from 'fs';
import * as path from 'path';

const README = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
const SAMPLES = fs.readFileSync(path.join(__dirname, 'readme-samples.ts'), 'utf8');
const section = README.slice(README.indexOf('## Shared storage'), README.indexOf('\n## ', README.indexOf('## Shared storage') + 3));
const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
const unindent = (text: string) => text.split('\n').map((l) => l.trim()).filter(Boolean).join('\n');

test('every TypeScript sample of the section is compiled, unchanged but for its imports', () => {
  expect(blocks.length).toBe(3);
  const compiled = unindent(SAMPLES);
  for (const block of blocks) {
    const code = unindent(block.split('\n').filter((l) => !l.startsWith('import ')).join('\n'));
    expect(compiled).toContain(code);
  }
});

