/**
 * WebTierStack: the autoscaled web tier, deployable as it is. An Application Load Balancer in
 * front of two to four t4g.micro servers that run the catalog's demo app (a page that says
 * which server answered, with a per-visitor counter kept in the visitor's session, in a
 * SessionStore table; the cookie-signing secret is generated in Secrets Manager and read by the
 * servers at start-up).
 *
 * Pass `certificate` for HTTPS with HTTP redirected. Without one, plain HTTP must be chosen
 * explicitly (`allowPlainHttp`, or `-c cdk-cloud-patterns:plain-http-demo=true`; a synth warning
 * then says so): otherwise the stack's synth reports an error. Deletion protection is off, so the demo can be
 * destroyed; the access logs bucket is kept.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib/core';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { PLAIN_HTTP_ENV, SESSION_SECRET_ARN_ENV } from '../../apps/web-tier/demo-app-env';
import { catalogWebEntry } from './catalog-code';
import type { SessionStore } from '../session-store/session-store';
import { WEB_SERVER_SERVICE, type WebTier } from '../web-tier/web-tier';
import { newDemoVpc, newDemoWebApp } from './demo-resources';

/** Properties of a {@link WebTierStack}. */
export interface WebTierStackProps extends StackProps {
  /**
   * The VPC to run in; the balancer and the servers use its public subnets (servers get no
   * inbound rule but from the balancer).
   *
   * @default - a new VPC with two public subnets and no NAT gateway
   */
  readonly vpc?: ec2.IVpc;

  /**
   * The certificate for HTTPS.
   *
   * @default - none: plain HTTP if `allowPlainHttp`, else the stack does not synthesize
   */
  readonly certificate?: acm.ICertificate;

  /**
   * Serve plain HTTP when there is no certificate (for trials: the session cookie then crosses
   * the network unencrypted). Without a certificate and without this choice, the stack's synth
   * reports an error.
   *
   * @default - the context value `cdk-cloud-patterns:plain-http-demo`, else false
   */
  readonly allowPlainHttp?: boolean;
}

/** The web tier with the demo app. */
export class WebTierStack extends Stack {
  public readonly vpc: ec2.IVpc;
  public readonly web: WebTier;
  /** The sessions of the demo's visitors (their visit counters). */
  public readonly sessions: SessionStore;
  /** The secret that signs the session cookies, read by the servers at start-up. */
  public readonly sessionSecret: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: WebTierStackProps = {}) {
    super(scope, id, { description: 'cdk-cloud-patterns: autoscaled web tier behind an Application Load Balancer', ...props });
    this.vpc = props.vpc ?? newDemoVpc(this, '10.42.0.0/24');
    // The module apps/web-tier/demo-app.ts, bundled with the web server.
    ({ web: this.web, sessions: this.sessions, sessionSecret: this.sessionSecret } = newDemoWebApp(this, {
      appName: 'WebTierStack\'s demo app',
      entry: catalogWebEntry('web-tier/demo-app'),
      vpc: this.vpc,
      certificate: props.certificate,
      allowPlainHttp: props.allowPlainHttp,
      secretArnEnv: SESSION_SECRET_ARN_ENV,
      plainHttpEnv: PLAIN_HTTP_ENV,
    }));

    new CfnOutput(this, 'Url', { value: `${this.web.https ? 'https' : 'http'}://${this.web.loadBalancer.loadBalancerDnsName}/`, description: 'The demo page' });
    new CfnOutput(this, 'SessionTableName', { value: this.sessions.table.tableName, description: 'The visitors\' sessions (hashed ids), with their visit counters' });
    new CfnOutput(this, 'AutoScalingGroupName', { value: this.web.autoScalingGroup.autoScalingGroupName, description: 'The servers' });
    new CfnOutput(this, 'ServerLogGroupName', {
      value: this.web.image.logGroup.logGroupName,
      description: `Streams <instance id>/bootstrap and <instance id>/${WEB_SERVER_SERVICE} (JSON access logs)`,
    });
  }
}
