/**
 * The tiny CDK app of the cold-start benchmark: the demo job handler built as a user would get
 * it. `Ours` is a LambdaWorker with `entry` (the catalog's bundling options); `Peer` is a plain
 * `new NodejsFunction(this, 'F', { entry, runtime: NODEJS_24_X })` (its defaults: CommonJS, not
 * minified, `@aws-sdk/*` left to the runtime); `Tuned` adds the two documented options a careful
 * user sets, `minify: true, bundleAwsSDK: true`; `TunedModuleFirst` and `TunedNoProviders` each
 * add one of ours' other choices (ES module builds of dependencies first; the credential
 * providers Lambda never loads left out), and `TunedBoth` adds both, to show where a difference
 * comes from. Run by bench/cold-start.bench.ts with CDK_OUTDIR; it writes bench-functions.json into
 * the assembly: function -> asset folder.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib/core';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import { LAMBDA_UNUSED_SDK_MODULES } from '../../lib/core/bundling';
import { LambdaWorker } from '../../lib/work-queue/lambda-worker';
import { WorkQueue } from '../../lib/work-queue/work-queue';

const entry = path.join(__dirname, '..', '..', 'lambda', 'work-queue', 'demo-job.ts');

const app = new App();
const stack = new Stack(app, 'ColdStartBench');
const worker = new LambdaWorker(stack, 'Ours', { workQueue: new WorkQueue(stack, 'Jobs'), entry });
const peer = new nodejs.NodejsFunction(stack, 'Peer', { entry, runtime: lambda.Runtime.NODEJS_24_X });
const tuned = new nodejs.NodejsFunction(stack, 'Tuned', { entry, runtime: lambda.Runtime.NODEJS_24_X, bundling: { minify: true, bundleAwsSDK: true } });
const tunedModuleFirst = new nodejs.NodejsFunction(stack, 'TunedModuleFirst', {
  entry,
  runtime: lambda.Runtime.NODEJS_24_X,
  bundling: { minify: true, bundleAwsSDK: true, mainFields: ['module', 'main'] },
});
const tunedNoProviders = new nodejs.NodejsFunction(stack, 'TunedNoProviders', {
  entry,
  runtime: lambda.Runtime.NODEJS_24_X,
  bundling: { minify: true, bundleAwsSDK: true, externalModules: [...LAMBDA_UNUSED_SDK_MODULES] },
});
const tunedBoth = new nodejs.NodejsFunction(stack, 'TunedBoth', {
  entry,
  runtime: lambda.Runtime.NODEJS_24_X,
  bundling: { minify: true, bundleAwsSDK: true, mainFields: ['module', 'main'], externalModules: [...LAMBDA_UNUSED_SDK_MODULES] },
});
const assembly = app.synth();

// Find each function's asset folder from the synthesized template (S3Key is `<hash>.zip`).
const template = assembly.getStackByName(stack.stackName).template as {
  Resources: Record<string, { Type: string; Properties: { Code?: { S3Key?: string }; Handler?: string } }>;
};
const describe = (fn: lambda.Function) => {
  const logicalId = stack.getLogicalId(fn.node.defaultChild as lambda.CfnFunction);
  const props = template.Resources[logicalId]!.Properties;
  const hash = String(props.Code?.S3Key).replace(/\.zip$/, '');
  return { logicalId, handler: props.Handler, assetDir: path.join(assembly.directory, `asset.${hash}`) };
};
fs.writeFileSync(
  path.join(assembly.directory, 'bench-functions.json'),
  JSON.stringify({ ours: describe(worker.function), peer: describe(peer), tuned: describe(tuned), tunedModuleFirst: describe(tunedModuleFirst), tunedNoProviders: describe(tunedNoProviders), tunedBoth: describe(tunedBoth) }, null, 2),
);
