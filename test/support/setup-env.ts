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
/**
 * No creation stack trace on every CloudFormation element (context
 * `aws:cdk:disable-creation-stack-traces`, through CDK_CONTEXT_JSON as the CDK CLI passes context):
 * each one captured the call stack through jest's source maps, about 3 s of CPU over the suite for
 * metadata (`aws:cdk:creationStack` in the assembly's manifest) that no test reads. Templates are
 * unchanged. The CDK CLI sets its own CDK_CONTEXT_JSON for the apps it runs.
 */
const context = process.env.CDK_CONTEXT_JSON ? JSON.parse(process.env.CDK_CONTEXT_JSON) as Record<string, unknown> : {};
process.env.CDK_CONTEXT_JSON = JSON.stringify({ 'aws:cdk:disable-creation-stack-traces': true, ...context });
