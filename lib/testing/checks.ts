/**
 * The checks every catalog stack passes, for users to run on their own apps too: cdk-nag's
 * AwsSolutions and Serverless packs (cdk-nag 3: validation plugins), whose unacknowledged
 * findings fail `app.synth()`.
 */
import { Validations, type App, type IPolicyValidationPlugin } from 'aws-cdk-lib/core';
import type { IConstruct } from 'constructs';

/**
 * What this file uses of cdk-nag, typed here: cdk-nag's own declarations import the root of
 * aws-cdk-lib, which would put every module's declarations (a million lines) into the programs of
 * jsii and TypeDoc, which compile the library from `aws-cdk-lib/core` and the modules it uses.
 */
interface NagPacks {
  readonly AwsSolutionsChecks: new (scope: IConstruct) => IPolicyValidationPlugin;
  readonly ServerlessChecks: new (scope: IConstruct) => IPolicyValidationPlugin;
}

/** Registers cdk-nag's AwsSolutions and Serverless packs on `app` (needs the `cdk-nag` package). */
export function addCatalogChecks(app: App): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nag = require('cdk-nag') as NagPacks;
  Validations.of(app).addPlugins(new nag.AwsSolutionsChecks(app), new nag.ServerlessChecks(app));
}
