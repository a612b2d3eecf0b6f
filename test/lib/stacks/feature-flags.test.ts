/**
 * CDK feature flags: the constructs under none (aws-cdk-lib's defaults, what a library's own
 * tests see) and under the flags `cdk init` writes into a new app's cdk.json today (aws-cdk-lib's
 * currently recommended flags), each synthesized with cdk-nag on and passing cfn-lint; and the
 * catalog's cdk.json, which adopts them (docs/decisions.md, "CDK feature flags"). The catalog app
 * under that context is synthesized and checked (cdk-nag, CDK's validation, cfn-lint, snapshots)
 * in test/lib/stacks/catalog-app.test.ts.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib/core';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { CURRENTLY_RECOMMENDED_FLAGS } from 'aws-cdk-lib/cx-api';
import { BootStep, BootstrappedImage, FleetWorker, LambdaWorker, WorkQueue } from '../../../lib';
import { newDemoVpc } from '../../../lib/stacks/demo-resources';
import { addCatalogChecks } from '../../../lib/testing';
import { REPO_ROOT } from '../../support/paths';
import { cdkJsonContext } from '../../support/stacks';

const HANDLER = path.join(REPO_ROOT, 'test', 'lib', 'work-queue', 'fixtures', 'job-handler.ts');
const CDK_JSON_CONTEXT = cdkJsonContext();

const FLAG_SETS: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
  ['no flags', {}],
  ['the flags cdk init sets', CURRENTLY_RECOMMENDED_FLAGS],
];

/** An app with cdk-nag, CDK's own validation off (cfn-lint checks instead), and no bundling (the constructs are the point). */
function newApp(context: Record<string, unknown>, outdir: string): App {
  const app = new App({ outdir, context: { ...context, 'aws:cdk:bundling-stacks': [] } });
  addCatalogChecks(app);
  return app;
}

/** A user's stack composing every construct of the catalog. */
function userStack(app: App): Stack {
  const stack = new Stack(app, 'UserStack');
  const vpc = newDemoVpc(stack, '10.0.0.0/24');
  const jobs = new WorkQueue(stack, 'Jobs');
  new LambdaWorker(stack, 'Worker', { workQueue: jobs, entry: HANDLER, idempotency: true });
  new FleetWorker(stack, 'Farm', { workQueue: new WorkQueue(stack, 'Frames'), entry: HANDLER, vpc });
  const image = new BootstrappedImage(stack, 'Image', { vpc, steps: [BootStep.packages('tools', ['jq'])] });
  image.createAutoScalingGroup(stack, 'Group', { minCapacity: 0, maxCapacity: 1, vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC } });
  return stack;
}

const typesOf = (template: { Resources: Record<string, { Type: string }> }) => new Set(Object.values(template.Resources).map((r) => r.Type));

function cfnLint(templates: string[]): void {
  execFileSync('cfn-lint', ['--config-file', path.join(REPO_ROOT, '.cfnlintrc.yaml'), '--', ...templates], { encoding: 'utf8', stdio: 'pipe' });
}

describe('CDK feature flags', () => {
  const outdirs: string[] = [];
  /** Every template the tests below synthesize: cfn-lint checks them in one run at the end (it costs seconds to start). */
  const templates: string[] = [];
  const outdir = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-flags-'));
    outdirs.push(dir);
    return dir;
  };
  afterAll(() => outdirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  test('cdk init writes aws-cdk-lib\'s currently recommended flags (the CLI\'s init template holds the same)', () => {
    const cliInitFlags = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'node_modules', 'aws-cdk', 'lib', 'init-templates', '.recommended-feature-flags.json'), 'utf8'));
    expect(cliInitFlags).toEqual(CURRENTLY_RECOMMENDED_FLAGS);
  });

  test('the catalog\'s cdk.json sets every recommended flag at its recommended value', () => {
    const unset = Object.entries(CURRENTLY_RECOMMENDED_FLAGS).filter(([flag, value]) => JSON.stringify(CDK_JSON_CONTEXT[flag]) !== JSON.stringify(value)).map(([flag]) => flag);
    expect(unset).toEqual([]);
  });

  test.each(FLAG_SETS)('WorkQueue, LambdaWorker, FleetWorker and BootstrappedImage synthesize with cdk-nag clean under %s', (_name, flags) => {
    // GIVEN a user's stack of every construct, under the flags
    const dir = outdir();
    const app = newApp(flags, dir);
    userStack(app);

    // WHEN it synthesizes (cdk-nag fails synth on any finding)
    const template = app.synth().getStackByName('UserStack').template;

    // THEN every construct's resources are there
    expect([...typesOf(template)]).toEqual(expect.arrayContaining([
      'AWS::SQS::Queue', 'AWS::Lambda::Function', 'AWS::Lambda::EventSourceMapping', 'AWS::DynamoDB::Table',
      'AWS::EC2::LaunchTemplate', 'AWS::AutoScaling::AutoScalingGroup', 'AWS::AutoScaling::ScalingPolicy',
    ]));
    templates.push(path.join(dir, 'UserStack.template.json'));
  });

  test('every template synthesized above passes cfn-lint', () => {
    // GIVEN the user's stack under each flag set
    expect(templates.length).toBe(FLAG_SETS.length);
    // THEN cfn-lint finds nothing (it exits non-zero on any finding, naming the rule and resource)
    expect(() => cfnLint(templates)).not.toThrow();
  });
});
