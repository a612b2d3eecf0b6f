/**
 * The tiers' import boundaries (eslint.config.mjs) are rules ESLint really runs: each forbidden
 * import is reported in the folder it is forbidden in, and the same import passes where it is
 * allowed. (`npx eslint .` over the whole repository runs in `npm test` before jest.)
 */
import { execFileSync } from 'child_process';
import { REPO_ROOT } from '../support/paths';

const REFUSED: readonly (readonly [string, string, RegExp])[] = [
  ['runtime/jobs/x.ts', "import { Stack } from 'aws-cdk-lib';", /runs in the cloud: it never loads aws-cdk-lib/],
  ['runtime/jobs/x.ts', "import { Construct } from 'constructs';", /never loads aws-cdk-lib or constructs/],
  ['lambda/work-queue/x.ts', "import * as sqs from 'aws-cdk-lib/aws-sqs';", /never loads aws-cdk-lib/],
  ['apps/render-farm/x.ts', "import { WorkQueue } from '../../lib/work-queue/work-queue';", /never imports the construct library or the local cloud/],
  ['runtime/storage/x.ts', "import { LOCAL_AWS_ENV } from '../../local/moto';", /never imports the construct library or the local cloud/],
  ['lib/work-queue/x.ts', "import { startWorker } from '../../runtime/worker-agent/worker';", /never imports the runtime, the local cloud or the examples/],
  ['lib/core/x.ts', "import { WorkQueueStack } from '../stacks/work-queue-stack';", /never imports the runtime, the local cloud or the examples/],
  ['lib/web-tier/x.ts', "import * as app from '../../apps/web-tier/demo-app';", /never imports the runtime, the local cloud or the examples/],
  ['lib/index.ts', "export * from './stacks/catalog-app';", /never imports the runtime, the local cloud or the examples/],
  ['lib/work-queue/x.ts', "import { defineJobHandler } from '@cdk-cloud-patterns/runtime';", /never imports the runtime/],
  ['lib/work-queue/x.ts', "import { Duration } from 'aws-cdk-lib';", /import aws-cdk-lib\/core or the module's own path/],
  ['lib/testing/x.ts', "import { AwsSolutionsChecks } from 'cdk-nag';", /import aws-cdk-lib\/core or the module's own path/],
  ['lib/stacks/x.ts', "import { App, Stack } from 'aws-cdk-lib';\nexport { App, Stack };", /import aws-cdk-lib\/core or the module's own path/],
  ['test/lib/x.test.ts', "import { AwsSolutionsChecks } from 'cdk-nag';\nexport { AwsSolutionsChecks };", /cdk-nag through a typed require/],
  ['bin/x.ts', "import * as cdk from 'aws-cdk-lib';\nexport { cdk };", /into the programs of tsc, jsii and TypeDoc/],
  ['local/workloads/x.ts', "import { WebTier } from '../../lib/web-tier/web-tier';", /reads what was deployed/],
  ['contracts/x.ts', "import { WorkQueue } from '../lib/work-queue/work-queue';", /the contracts import nothing of ours/],
  ['contracts/x.ts', "import { z } from 'zod';", /no package import/],
  ['runtime/jobs/x.ts', "import { something } from '../../test/support/local-aws';", /never imports tests/],
  ['test/runtime/x.test.ts', "import { startWorker } from '../../runtime';", /import a file of the package \(e\.g\. runtime\/index\), not its folder/],
];

const ALLOWED: readonly (readonly [string, string])[] = [
  ['lib/stacks/x.ts', "import { catalogWebEntry } from './catalog-code';\nimport { RENDER_FARM_ENV } from '../../contracts/render-farm';\nexport { catalogWebEntry, RENDER_FARM_ENV };"],
  ['lib/work-queue/x.ts', "import { QUEUE_URL_ENV } from '../../contracts/work-queue';\nexport { QUEUE_URL_ENV };"],
  ['lib/work-queue/x.ts', "import { Duration } from 'aws-cdk-lib/core';\nimport { Queue } from 'aws-cdk-lib/aws-sqs';\nexport { Duration, Queue };"],
  ['lib/stacks/x.ts', "import { App, Stack } from 'aws-cdk-lib/core';\nimport * as sqs from 'aws-cdk-lib/aws-sqs';\nexport { App, Stack, sqs };"],
  ['runtime/jobs/x.ts', "import { QUEUE_URL_ENV } from '../../contracts/work-queue';\nexport { QUEUE_URL_ENV };"],
  ['local/x.ts', "import { JobClient } from '../runtime/jobs/job-client';\nexport { JobClient };"],
  ['contracts/x.ts', "import { WORKLOAD_METADATA_KEY } from './workload';\nexport { WORKLOAD_METADATA_KEY };"],
  ['test/lib/x.test.ts', "import { WorkQueue } from '../../lib';\nimport { startWorker } from '../../runtime/index';\nexport { WorkQueue, startWorker };"],
];

/**
 * The messages ESLint gives each snippet as if it were the file named with it, from one ESLint
 * process (its config is an ES module, which jest's module system cannot load).
 */
function lint(snippets: readonly (readonly [string, string])[]): string[][] {
  const script = `
    const { ESLint } = require('eslint');
    const path = require('path');
    const eslint = new ESLint({ cwd: process.cwd() });
    (async () => {
      const out = [];
      for (const [file, code] of JSON.parse(process.argv[1])) {
        const [result] = await eslint.lintText(code, { filePath: path.join(process.cwd(), file) });
        out.push(result.messages.map((m) => m.ruleId + ': ' + m.message));
      }
      console.log(JSON.stringify(out));
    })();`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script, JSON.stringify(snippets)], { cwd: REPO_ROOT, encoding: 'utf8' })) as string[][];
}

let refused: string[][];
let allowed: string[][];
beforeAll(() => {
  // (one ESLint process for both lists: each start costs over a second of CPU)
  const messages = lint([...REFUSED.map(([file, code]) => [file, code] as const), ...ALLOWED]);
  [refused, allowed] = [messages.slice(0, REFUSED.length), messages.slice(REFUSED.length)];
}, 60_000);

describe('the import boundaries', () => {
  test.each(REFUSED.map(([file, code, message], i) => [file, code, message, i] as const))('%s: `%s` is refused', (_file, _code, message, i) => {
    expect(refused[i]!.filter((m) => m.startsWith('no-restricted-imports'))).toEqual([expect.stringMatching(new RegExp(`^no-restricted-imports: .*${message.source}`))]);
  });

  test.each(ALLOWED.map(([file, code], i) => [file, code, i] as const))('%s: allowed imports pass', (_file, _code, i) => {
    expect(allowed[i]).toEqual([]);
  });
});
