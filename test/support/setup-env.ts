/** Runs before every test file: quiet the AWS SDK's Node 20 deprecation notice (we pin Node 20 on this machine). */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
/**
 * CDK's built-in CloudFormation validation off in every test file (docs/decisions.md: it costs
 * about 5 s of CPU in each file that synthesizes, for a WebAssembly engine, and duplicates
 * cfn-lint). The file that checks the catalog's syntheses as `cdk synth` does turns it back on
 * (test/lib/stacks/catalog-app.test.ts);
 * `CDK_VALIDATION=true npm test` keeps it on everywhere.
 */
if (process.env.CDK_VALIDATION === undefined) process.env.CDK_VALIDATION = 'false';
