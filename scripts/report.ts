/**
 * `npm run report`: synthesizes every catalog stack offline and prints one line per stack:
 * its resource count, its cdk-nag result (findings fail synth; acknowledged ones are counted)
 * and its cfn-lint result. Exits non-zero when any check fails.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib/core';
import { addCatalogStacks } from '../lib/stacks/catalog-app';
import { addCatalogChecks } from '../lib/testing/checks';

const ROOT = path.join(__dirname, '..');

function main(): number {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'catalog-report-'));
  const app = new App({ outdir });
  addCatalogStacks(app);
  addCatalogChecks(app);
  try {
    app.synth();
  } catch (e) {
    console.error(`cdk-nag / validation failed:\n${(e as Error).message}`);
    return 1;
  }
  let failed = 0;
  for (const stack of app.node.children.filter((c): c is Stack => c instanceof Stack)) {
    const file = path.join(outdir, stack.templateFile);
    const resources = Object.keys(JSON.parse(fs.readFileSync(file, 'utf8')).Resources ?? {}).length;
    const acked = stack.node.findAll().flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules'))
      .reduce((n, m) => n + Object.keys(m.data as object).length, 0);
    const lint = spawnSync('cfn-lint', ['--config-file', path.join(ROOT, '.cfnlintrc.yaml'), '--', file], { encoding: 'utf8' });
    const lintText = lint.error ? `cfn-lint not run (${lint.error.message})` : lint.status === 0 ? 'cfn-lint clean' : `cfn-lint FAILED:\n${lint.stdout}${lint.stderr}`;
    if (lint.status !== 0) failed++;
    console.log(`${stack.stackName.padEnd(24)} ${String(resources).padStart(3)} resources   cdk-nag clean (${acked} acknowledged, with reasons)   ${lintText}`);
  }
  fs.rmSync(outdir, { recursive: true, force: true });
  return failed === 0 ? 0 : 1;
}

process.exitCode = main();
