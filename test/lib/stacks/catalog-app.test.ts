/**
 * Every stack of the catalog app, synthesized under its cdk.json's context and checked the way
 * `cdk synth` checks it: cdk-nag's AwsSolutions and Serverless packs with CDK's built-in validation
 * on, cfn-lint over every template, and one hash-masked snapshot per stack. ImageBootstrapStack's bake mode (an app of its own: the catalog
 * deploys boot mode) is checked the same way here, in the same file: CDK's validation engine
 * costs about 5 s of CPU to load in each test file that uses it, and cfn-lint 1.5 s to start.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib/core';
import { Template } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { LOCAL_CLOUD_CONTEXT } from '../../../contracts/local-cloud';
import { VISIBILITY_TIMEOUT_ENV } from '../../../contracts/work-queue';
import { LOCAL_FLEET_VISIBILITY_SECONDS, addCatalogStacks } from '../../../lib/stacks/catalog-app';
import { ImageBootstrapStack } from '../../../lib/stacks/image-bootstrap-stack';
import { RenderFarmStack } from '../../../lib/stacks/render-farm-stack';
import { addCatalogChecks, snapshotTemplate } from '../../../lib/testing';
import { REPO_ROOT } from '../../support/paths';
import { cdkJsonContext } from '../../support/stacks';


describe('the catalog app', () => {
  let outdir: string;
  let app: App;
  let bakeOutdir: string;
  let bakeApp: App;

  beforeAll(() => {
    // GIVEN the app as bin/app.ts builds it and `cdk synth` runs it (the context of cdk.json: its
    // feature flags), with CDK's own template validation on; plain HTTP not chosen for the demos
    // with a page, so their two stacks carry the parameter and rule that refuse to deploy them until
    // it is (`-c cdk-cloud-patterns:plain-http-demo=true`, as a trial deploys them, drops only those)
    delete process.env.CDK_VALIDATION;
    outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'catalog-'));
    app = new App({ outdir, context: cdkJsonContext() });
    addCatalogStacks(app);
    addCatalogChecks(app);
    // AND ImageBootstrapStack in bake mode, with its generated secret, in an app of its own
    bakeOutdir = fs.mkdtempSync(path.join(os.tmpdir(), 'image-bake-'));
    bakeApp = new App({ outdir: bakeOutdir, context: cdkJsonContext() });
    new ImageBootstrapStack(bakeApp, 'ImageBakeStack', { bake: true, withGeneratedSecret: true });
    addCatalogChecks(bakeApp);
  });
  afterAll(() => {
    for (const dir of [outdir, bakeOutdir]) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('synthesizes with no unacknowledged cdk-nag finding, every acknowledgement with a reason', () => {
    // WHEN it synthesizes (a finding would throw here, with the report)
    app.synth();

    // THEN every acknowledgement recorded on the tree carries a reason
    const acks = app.node.findAll().flatMap((c) => c.node.metadata
      .filter((m) => m.type === 'aws:cdk:acknowledged-rules')
      .flatMap((m) => Object.entries(m.data as Record<string, string>)));
    expect(acks.length).toBeGreaterThan(0);
    for (const [id, reason] of acks) {
      expect(`${id}: ${reason}`).toMatch(/: \S+( \S+){5,}/); // a sentence, not a placeholder
    }
    // AND no stack reports an error (the CLI would refuse to deploy it)
    const errors = app.node.findAll().flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:error').map((m) => `${c.node.path}: ${String(m.data)}`));
    expect(errors).toEqual([]);
  });

  test('synthesizes ImageBootstrapStack in bake mode (pipeline, AMI parameter, generated secret) with no unacknowledged cdk-nag finding and CloudFormation validation on', () => {
    // WHEN it synthesizes (a finding would throw here, with the report)
    const assembly = bakeApp.synth();
    // THEN
    expect(assembly.stacks.map((s) => s.stackName)).toEqual(['ImageBakeStack']);
    expect(Object.values(assembly.stacks[0]!.template.Resources as Record<string, { Type: string }>).map((r) => r.Type))
      .toEqual(expect.arrayContaining(['AWS::ImageBuilder::ImagePipeline', 'AWS::SecretsManager::Secret']));
  });

  test('passes cfn-lint on every template with zero findings, and on bake mode\'s', () => {
    const templatesOf = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith('.template.json')).map((f) => path.join(dir, f));
    const templates = templatesOf(outdir);
    expect(templates.length).toBe(app.node.children.filter((c) => c instanceof Stack).length);
    const bake = templatesOf(bakeOutdir);
    expect(bake.map((f) => path.basename(f))).toEqual(['ImageBakeStack.template.json']);
    // cfn-lint exits non-zero on any finding; its output names the rule and the resource
    const run = () => execFileSync('cfn-lint', ['--config-file', path.join(REPO_ROOT, '.cfnlintrc.yaml'), '--', ...templates, ...bake], { encoding: 'utf8', stdio: 'pipe' });
    expect(run).not.toThrow();
  });

  test('matches one snapshot per stack, asset hashes masked', () => {
    for (const stack of app.node.children.filter((c): c is Stack => c instanceof Stack)) {
      expect(snapshotTemplate(stack)).toMatchSnapshot(stack.stackName);
    }
  });
});

describe('the catalog app in the local cloud\'s synthesis', () => {
  test('chooses plain HTTP for its demos with a page and a 5 s fleet visibility for the render farm, explicitly (context cdk-cloud-patterns:local-cloud)', () => {
    // GIVEN the app as `npm start` synthesizes it
    process.env.CDK_VALIDATION = 'false';
    const local = new App({ context: { [LOCAL_CLOUD_CONTEXT]: 'true', 'aws:cdk:bundling-stacks': [] } });
    addCatalogStacks(local);

    // THEN no stack reports an error, and the render farm's fleet hides a tile for 5 s
    const errors = local.node.findAll().flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:error'));
    expect(errors).toEqual([]);
    const farm = local.node.children.find((c): c is RenderFarmStack => c instanceof RenderFarmStack)!;
    expect(farm.fleet.programEnvironment[VISIBILITY_TIMEOUT_ENV]).toBe(String(LOCAL_FLEET_VISIBILITY_SECONDS));
  });

  test('keeps CloudFormation from deploying the demos with a page, and only them, when neither the local cloud nor plain HTTP was chosen', () => {
    process.env.CDK_VALIDATION = 'false';
    const deployed = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    addCatalogStacks(deployed);
    const refused = deployed.node.children.filter((c): c is Stack => c instanceof Stack)
      .filter((stack) => Template.fromStack(stack).toJSON().Rules?.PlainHttpMustBeChosen !== undefined).map((stack) => stack.stackName).sort();
    expect(refused).toEqual(['RenderFarmStack', 'WebTierStack']);
  });
});

describe('the catalog checks', () => {
  test('fail synth on a finding, naming the rule', () => {
    // GIVEN a queue without a dead-letter queue, TLS or encryption
    process.env.CDK_VALIDATION = 'false';
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'nag-'));
    try {
      const app = new App({ outdir });
      new sqs.Queue(new Stack(app, 'Careless'), 'Queue', { encryption: sqs.QueueEncryption.UNENCRYPTED });
      addCatalogChecks(app);

      // WHEN it synthesizes THEN cdk-nag stops it
      expect(() => app.synth()).toThrow(/AwsSolutions-SQS3|AwsSolutions-SQS4/);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});
