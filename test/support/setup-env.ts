/** Runs before every test file: quiet the AWS SDK's Node 20 deprecation notice (we pin Node 20 on this machine). */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
/**
 * CDK's built-in CloudFormation validation off in every test file (docs/decisions.md: it costs
 * about 5 s of CPU in each file that synthesizes, for a WebAssembly engine, and duplicates
 * cfn-lint). The files that check a synthesis as `cdk synth` does turn it back on for it
 * (test/lib/stacks/catalog-app.test.ts, test/lib/stacks/image-bootstrap-stack.test.ts);
 * `CDK_VALIDATION=true npm test` keeps it on everywhere.
 */
if (process.env.CDK_VALIDATION === undefined) process.env.CDK_VALIDATION = 'false';
