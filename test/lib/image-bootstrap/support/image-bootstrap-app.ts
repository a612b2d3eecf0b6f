/**
 * A CDK app with only ImageBootstrapStack (and cdk-nag), for deploying the pattern on its own:
 * `npx cdk deploy ImageBootstrapStack -a "node -r esbuild-register test/lib/image-bootstrap/support/image-bootstrap-app.ts"`.
 * IMAGE_BOOTSTRAP_BAKE=true synthesizes it in bake mode (not deployable on the local cloud);
 * IMAGE_BOOTSTRAP_INSTANCES=<n> sets its instance count (to try an update).
 */
import { App } from 'aws-cdk-lib/core';
import { ImageBootstrapStack } from '../../../../lib/stacks/image-bootstrap-stack';
import { addCatalogChecks } from '../../../../lib/testing/checks';

const app = new App();
new ImageBootstrapStack(app, 'ImageBootstrapStack', {
  bake: process.env.IMAGE_BOOTSTRAP_BAKE === 'true',
  instances: process.env.IMAGE_BOOTSTRAP_INSTANCES === undefined ? undefined : Number(process.env.IMAGE_BOOTSTRAP_INSTANCES),
});
if (process.env.CDK_NAG !== 'false') addCatalogChecks(app);
app.synth();
