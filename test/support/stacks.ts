/**
 * Template-test support, one helper for every pattern's tests: a fresh App and Stack per test
 * (CDK's built-in CloudFormation validation is off in every test file: test/support/setup-env.ts;
 * test/lib/stacks/catalog-app.test.ts turns it on), and the small VPC the tests place instances
 * and balancers in.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Stack, type Environment } from 'aws-cdk-lib/core';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';

/** A fresh App and a Stack `id` in it (region-agnostic unless `env` is given). */
export function newStack(id = 'TestStack', env?: Environment): { app: App; stack: Stack } {
  const app = new App();
  const stack = new Stack(app, id, { env });
  return { app, stack };
}

/** Options of {@link newVpc}. */
export interface TestVpcOptions {
  /** @default 2 (an Application Load Balancer needs two) */
  readonly maxAzs?: number;
  /** Its subnets: public ones only, isolated ones only, or CDK's public and private ones (still without NAT gateways). @default 'public' */
  readonly subnets?: 'public' | 'isolated' | 'public-and-private';
  /** @default 'Vpc' */
  readonly id?: string;
}

const SUBNETS: Record<NonNullable<TestVpcOptions['subnets']>, Partial<ec2.VpcProps>> = {
  'public': { subnetConfiguration: [{ name: 'Public', subnetType: ec2.SubnetType.PUBLIC }] },
  'isolated': { subnetConfiguration: [{ name: 'Private', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] },
  'public-and-private': {},
};

/** A VPC `Vpc` without NAT gateways (nothing to pay for, nothing to wait for). */
export function newVpc(scope: Construct, options: TestVpcOptions = {}): ec2.Vpc {
  return new ec2.Vpc(scope, options.id ?? 'Vpc', {
    maxAzs: options.maxAzs ?? 2,
    natGateways: 0,
    ...SUBNETS[options.subnets ?? 'public'],
    restrictDefaultSecurityGroup: false,
  });
}

/** The template of a stack, for fine-grained assertions. */
export function templateOf(stack: Stack): Template {
  return Template.fromStack(stack);
}

/**
 * The context the CDK CLI passes the catalog app from the repository's cdk.json (its feature
 * flags and the CLI's own settings): what `cdk synth` and `npm start` synthesize with.
 */
export function cdkJsonContext(): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8')).context as Record<string, unknown>;
}
