/**
 * `npm run diagrams`: writes docs/diagrams/<StackName>.svg for every stack of the catalog app,
 * generated from its synthesized template (scripts/architecture/), and deletes the SVGs of
 * stacks that no longer exist. test/docs/diagrams.test.ts fails until this has been run after
 * a change that alters a diagram.
 */
import * as fs from 'fs';
import * as path from 'path';
import { DIAGRAMS_DIR, catalogDiagrams } from './architecture/svg';

async function main(): Promise<void> {
  const dir = path.join(__dirname, '..', DIAGRAMS_DIR);
  const diagrams = await catalogDiagrams();
  fs.mkdirSync(dir, { recursive: true });
  for (const stale of fs.readdirSync(dir).filter((f) => f.endsWith('.svg') && !diagrams.has(f))) {
    fs.rmSync(path.join(dir, stale));
    console.log(`removed ${path.join(DIAGRAMS_DIR, stale)} (no such stack)`);
  }
  for (const [file, svg] of diagrams) {
    const target = path.join(dir, file);
    const changed = !fs.existsSync(target) || fs.readFileSync(target, 'utf8') !== svg;
    if (changed) fs.writeFileSync(target, svg);
    console.log(`${changed ? 'wrote    ' : 'unchanged'} ${path.join(DIAGRAMS_DIR, file)}`);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
