#!/usr/bin/env node
/**
 * The CDK app of the catalog: `npx cdk synth` / `npx cdk deploy <Stack>`.
 *
 * cdk-nag (AwsSolutions, Serverless) runs on every stack; CDK_NAG=false skips it. CDK's built-in
 * CloudFormation validation is off unless CDK_VALIDATION=true: it costs about 4.5 s of every
 * synth (and deploy, and `npm start`), and duplicates cfn-lint, which checks every template in
 * the tests (test/lib/stacks/catalog-app.test.ts runs both) and in `npm run report`.
 */
import { App } from 'aws-cdk-lib/core';
import { addCatalogStacks } from '../lib/stacks/catalog-app';
import { addCatalogChecks } from '../lib/testing/checks';

const app = new App({ builtinCloudFormationValidation: process.env.CDK_VALIDATION === 'true' });
addCatalogStacks(app);
if (process.env.CDK_NAG !== 'false') addCatalogChecks(app);
app.synth();
