#!/usr/bin/env node
/**
 * The CDK app of the catalog: `npx cdk synth --all` / `npx cdk deploy <Stack>`.
 * cdk-nag runs on every stack; CDK_NAG=false skips it (tests that check templates only).
 */
import { App } from 'aws-cdk-lib';
import { addCatalogStacks } from '../lib/stacks/catalog-app';
import { addCatalogChecks } from '../lib/testing/checks';

const app = new App();
addCatalogStacks(app);
if (process.env.CDK_NAG !== 'false') addCatalogChecks(app);
app.synth();
