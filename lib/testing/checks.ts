/**
 * The checks every catalog stack passes, for users to run on their own apps too: cdk-nag's
 * AwsSolutions and Serverless packs (cdk-nag 3: validation plugins), whose unacknowledged
 * findings fail `app.synth()`.
 */
import { Validations, type App } from 'aws-cdk-lib';

/** Registers cdk-nag's AwsSolutions and Serverless packs on `app` (needs the `cdk-nag` package). */
export function addCatalogChecks(app: App): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nag = require('cdk-nag') as typeof import('cdk-nag');
  Validations.of(app).addPlugins(new nag.AwsSolutionsChecks(app), new nag.ServerlessChecks(app));
}
