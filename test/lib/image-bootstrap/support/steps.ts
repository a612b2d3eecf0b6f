/**
 * Steps for the boot script tests, with every kind of step, built from imported resources whose
 * names are literals (so the script has no deploy-time tokens and runs as it is).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Stack } from 'aws-cdk-lib/core';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { BootStep, SecretSource, type BootStep as Step } from '../../../../lib/image-bootstrap/boot-steps';

export const DEMO_BUCKET = 'demo-bucket';
export const DB_PASSWORD_PARAMETER = '/demo/db-password';
export const API_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:demo-api-AbCdEf';

/** A stack to import resources into (nothing of it is synthesized). */
export function importScope(): Stack {
  return new Stack(undefined, 'Imports');
}

/** Imported resources with literal names (the secret's ARN as Secrets Manager made it, when it did). */
export function demoResources(scope = importScope(), apiSecretArn = API_SECRET_ARN) {
  return {
    bucket: s3.Bucket.fromBucketName(scope, 'Bucket', DEMO_BUCKET),
    dbPassword: ssm.StringParameter.fromSecureStringParameterAttributes(scope, 'DbPassword', { parameterName: DB_PASSWORD_PARAMETER }),
    apiSecret: secretsmanager.Secret.fromSecretCompleteArn(scope, 'ApiSecret', apiSecretArn),
  };
}

/** One step of each kind, in an order where each kind can see what the earlier ones did. */
export function everyKindOfStep(scope = importScope(), apiSecretArn = API_SECRET_ARN): Step[] {
  const r = demoResources(scope, apiSecretArn);
  const dbPassword = BootStep.secret('db-password', SecretSource.fromParameter(r.dbPassword), { envVar: 'DB_PASSWORD' });
  const apiKey = BootStep.secret('api-key', SecretSource.fromSecret(r.apiSecret, { jsonField: 'key' }), { owner: 'worker:worker' });
  return [
    BootStep.packages('tools', ['jq', 'nodejs22']),
    BootStep.file('config', { path: '/etc/demo/config.json', content: '{"greeting": "it\'s $HOME"}', mode: '0640', owner: 'root:worker' }),
    BootStep.fileFromS3('agent', { path: '/opt/demo/agent', bucket: r.bucket, objectKey: 'assets/agent.zip', extract: true }),
    BootStep.environment('demo', { DEMO_MODE: 'sandbox', DEMO_URL: 'https://example.com/a?b=c' }),
    BootStep.commands('prepare', ['echo "mode ${DEMO_MODE}" > "${BOOT_ROOT}/opt/demo/mode"']),
    dbPassword,
    apiKey,
    BootStep.commands('use-secret', ['printf \'%s\' "${#DB_PASSWORD}" > "${BOOT_ROOT}/opt/demo/password-length"']),
    BootStep.service('worker', {
      execStart: '/opt/demo/agent/run.sh',
      user: 'worker',
      environmentFiles: ['/etc/bootstrap/demo.env'],
      credentials: [dbPassword, apiKey],
    }),
  ];
}

/** A zip archive with an executable `run.sh` and a data file, made with Python's zipfile. */
export function agentZip(): Buffer {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-zip-'));
  try {
    const zip = path.join(dir, 'agent.zip');
    execFileSync('python3', ['-c', [
      'import sys, zipfile',
      'with zipfile.ZipFile(sys.argv[1], "w") as z:',
      '    run = zipfile.ZipInfo("run.sh"); run.external_attr = 0o755 << 16',
      '    z.writestr(run, "#!/bin/sh\\necho running\\n")',
      '    data = zipfile.ZipInfo("lib/data.txt"); data.external_attr = 0o644 << 16',
      '    z.writestr(data, "data\\n")',
    ].join('\n'), zip]);
    return fs.readFileSync(zip);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
