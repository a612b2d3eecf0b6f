/**
 * ImageBootstrapStack: the image pattern, deployable as it is. One small Graviton instance in
 * an Auto Scaling group, finished at boot from typed steps: a package, files, an environment
 * file, a parameter (and, with `withGeneratedSecret`, a generated secret) read at boot with the
 * instance role, and two demo services that show they arrived: a heartbeat in the log, and a
 * status page on a Unix socket (no open port), which the local cloud asks. The group's creation
 * waits for the boot's signal.
 *
 * The VPC has public subnets only, with no NAT gateway (no hourly NAT cost) and no inbound rule
 * anywhere: instances reach AWS APIs and the Amazon Linux repositories over HTTPS through the
 * internet gateway, and people reach the instances through Session Manager only.
 */
import { Aws, CfnOutput, RemovalPolicy, Stack, type CfnResource, type StackProps } from 'aws-cdk-lib/core';
import type * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import { IMAGE_STATUS_WORKLOAD } from '../../contracts/image-bootstrap';
import { SAME_CHECK, acknowledgeCheck } from '../core/nag';
import { assertProps, outsideInt } from '../core/validation';
import { declareWorkload } from '../core/workload';
import { BootStep, SecretSource } from '../image-bootstrap/boot-steps';
import { BootstrappedImage } from '../image-bootstrap/bootstrapped-image';
import { newDemoVpc } from './demo-resources';

/** Properties of an {@link ImageBootstrapStack}. */
export interface ImageBootstrapStackProps extends StackProps {
  /**
   * The VPC to run in; its public subnets are used, or its private subnets with egress when it has no public ones.
   *
   * @default - a new VPC with two public subnets and no NAT gateway
   */
  readonly vpc?: ec2.IVpc;

  /**
   * How many instances run: 1 shows the pattern (about 10 USD a month for a t4g.micro with its
   * public IPv4 address); 0 keeps everything but the instances.
   *
   * @default 1
   */
  readonly instances?: number;

  /**
   * Also generate a Secrets Manager secret (a demo API token) and read it at boot. Off by
   * default because the local cloud's CloudFormation (moto) has no Secrets Manager; on AWS,
   * turn it on to see a generated secret reach the service without entering the template.
   *
   * @default false
   */
  readonly withGeneratedSecret?: boolean;

  /**
   * Bake the image part of the steps into an AMI with EC2 Image Builder (the first deploy then
   * takes 20 to 40 minutes more). Not supported by the local cloud.
   *
   * @default false
   */
  readonly bake?: boolean;
}

/** The script of the demo service: it proves the parameter (and the secret) arrived, without printing the secret. */
const HEARTBEAT_PROGRAM = `#!/bin/bash
# Demo service of ImageBootstrapStack. The boot read a parameter (and a generated secret, when
# there is one) with the instance role; systemd hands them to this service as credentials, files
# only it can read.
set -euo pipefail
greeting=$(cat "\${CREDENTIALS_DIRECTORY}/greeting")
while true; do
  if [ -e "\${CREDENTIALS_DIRECTORY}/api-token" ]; then
    echo "\${greeting} from stack \${DEMO_STACK}: API token loaded ($(wc -c < "\${CREDENTIALS_DIRECTORY}/api-token") bytes)"
  else
    echo "\${greeting} from stack \${DEMO_STACK}"
  fi
  sleep 60
done
`;

/**
 * The program of the demo status page: GET / answers what the heartbeat prints, over a Unix socket
 * in the service's runtime directory (no open port; on an instance: `sudo curl --unix-socket
 * /run/demo/status.sock http://localhost/`). The local cloud asks it in `npm start -- --smoke`.
 */
const STATUS_PROGRAM = `#!/usr/bin/python3
# Demo status page of ImageBootstrapStack: the greeting read at boot with the instance role (and
# whether the generated secret arrived), over a Unix socket in the service's runtime directory.
import http.server, os, socketserver

credentials = os.environ['CREDENTIALS_DIRECTORY']

def status():
    greeting = open(os.path.join(credentials, 'greeting')).read()
    generated = os.path.join(credentials, 'api-token')
    loaded = ': API token loaded (%d bytes)' % os.path.getsize(generated) if os.path.exists(generated) else ''
    return '%s from stack %s%s\\n' % (greeting, os.environ['DEMO_STACK'], loaded)

class Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = status().encode()
        self.send_response(200)
        self.send_header('Content-Type', 'text/plain; charset=utf-8')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def address_string(self):
        return 'local'

    def log_message(self, *args):
        pass

class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

# A relative name: a socket's path holds at most 107 bytes.
os.chdir(os.environ['RUNTIME_DIRECTORY'])
if os.path.exists('status.sock'):
    os.unlink('status.sock')
with Server('status.sock', Page) as server:
    print('answering on %s: %s' % (os.path.join(os.getcwd(), 'status.sock'), status().strip()), flush=True)
    server.serve_forever()
`;

/** The unit of the demo status page: a complete one, for its runtime directory (a dynamic user writes nowhere else). */
function statusUnit(credentials: readonly string[]): string {
  return [
    '[Unit]',
    'Description=Demo status page of ImageBootstrapStack: GET / on /run/demo/status.sock (no open port)',
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    'ExecStart=/usr/bin/python3 /opt/demo/status.py',
    'Restart=always',
    'RestartSec=5',
    'DynamicUser=yes',
    'RuntimeDirectory=demo',
    'NoNewPrivileges=yes',
    'PrivateTmp=yes',
    'EnvironmentFile=/etc/bootstrap/demo.env',
    ...credentials.map((name) => `LoadCredential=${name}:/run/bootstrap/secrets/${name}`),
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** The image pattern with a demo service. */
export class ImageBootstrapStack extends Stack {
  /** The VPC of the instances. */
  public readonly vpc: ec2.IVpc;
  /** The launch template, role, security group and boot log group. */
  public readonly image: BootstrappedImage;
  /** The Auto Scaling group that launches from the image. */
  public readonly group: autoscaling.AutoScalingGroup;
  /** A parameter, read at boot like a secret: change it and new instances pick it up without a deploy. */
  public readonly greeting: ssm.StringParameter;
  /** A generated secret, read at boot (never in the template, user data or image); with `withGeneratedSecret` only. */
  public readonly apiToken?: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: ImageBootstrapStackProps = {}) {
    super(scope, id, { description: 'cdk-cloud-patterns: an image finished at boot from typed steps', ...props });

    const instances = props.instances ?? 1;
    assertProps(this, [{
      failed: outsideInt(instances, 0, 10),
      prop: 'instances',
      message: `must be an integer from 0 to 10 (a demo: each instance costs money), received ${instances}.`,
    }]);

    this.vpc = props.vpc ?? newDemoVpc(this, '10.40.0.0/24');
    const subnets: ec2.SubnetSelection = this.vpc.publicSubnets.length > 0
      ? { subnetType: ec2.SubnetType.PUBLIC }
      : { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };

    this.greeting = new ssm.StringParameter(this, 'Greeting', {
      // A name of its own: the local cloud's CloudFormation (moto) cannot create an unnamed parameter.
      parameterName: `/cdk-cloud-patterns/${this.stackName}/greeting`,
      description: 'Demo parameter of ImageBootstrapStack, read by its instances at boot',
      stringValue: 'Hello',
    });
    const greeting = BootStep.secret('greeting', SecretSource.fromParameter(this.greeting));
    const secrets = [greeting];
    if (props.withGeneratedSecret) {
      this.apiToken = new secretsmanager.Secret(this, 'ApiToken', {
        description: 'Demo secret of ImageBootstrapStack, read by its instances at boot',
        generateSecretString: { passwordLength: 32, excludePunctuation: true },
        removalPolicy: RemovalPolicy.DESTROY,
      });
      acknowledgeCheck(this.apiToken, SAME_CHECK.secretsManagerRotation,
        'A demo value that grants nothing; rotating it would need a rotation Lambda function for no benefit. A real secret read by BootStep.secret should rotate.');
      secrets.push(BootStep.secret('api-token', SecretSource.fromSecret(this.apiToken)));
    }

    this.image = new BootstrappedImage(this, 'Image', {
      vpc: this.vpc,
      bake: props.bake ? { subnetSelection: subnets } : undefined,
      steps: [
        BootStep.packages('tools', ['jq']),
        BootStep.file('motd', {
          path: '/etc/motd.d/30-cloud-patterns',
          content: 'This instance was finished at boot by cdk-cloud-patterns (ImageBootstrapStack).\nBoot log: /var/log/bootstrap.log\n',
        }),
        BootStep.file('heartbeat-program', { path: '/opt/demo/heartbeat.sh', content: HEARTBEAT_PROGRAM, mode: '0755' }),
        BootStep.environment('demo', { DEMO_STACK: Aws.STACK_NAME }),
        ...secrets,
        BootStep.service('heartbeat', {
          execStart: '/opt/demo/heartbeat.sh',
          description: 'Demo heartbeat of ImageBootstrapStack',
          environmentFiles: ['/etc/bootstrap/demo.env'],
          credentials: secrets,
        }),
        BootStep.file('status-program', { path: '/opt/demo/status.py', content: STATUS_PROGRAM, mode: '0755' }),
        BootStep.service('status', { unitFile: statusUnit(secrets.map((s) => s.name)) }),
      ],
    });

    this.group = this.image.createAutoScalingGroup(this, 'Group', {
      vpcSubnets: subnets,
      minCapacity: instances,
      maxCapacity: instances,
    });
    // The local cloud asks each instance's status page in `npm start -- --smoke`.
    declareWorkload(this.group.node.defaultChild as CfnResource, IMAGE_STATUS_WORKLOAD.declare({ service: 'status', socket: 'status.sock' }));

    new CfnOutput(this, 'AutoScalingGroupName', { value: this.group.autoScalingGroupName });
    new CfnOutput(this, 'BootLogGroupName', { value: this.image.logGroup.logGroupName, description: 'Streams <instance id>/bootstrap and <instance id>/heartbeat' });
    new CfnOutput(this, 'LaunchTemplateId', { value: this.image.launchTemplate.launchTemplateId! });
    new CfnOutput(this, 'InstanceRoleArn', { value: this.image.role.roleArn });
    new CfnOutput(this, 'ConnectCommand', {
      value: `aws ssm start-session --target $(aws autoscaling describe-auto-scaling-groups --auto-scaling-group-names ${this.group.autoScalingGroupName} --query 'AutoScalingGroups[0].Instances[0].InstanceId' --output text)`,
      description: 'A shell on the instance through Session Manager (no SSH, no open port)',
    });
    if (this.image.bakery) {
      new CfnOutput(this, 'AmiParameterName', { value: this.image.bakery.amiParameterName, description: 'The id of the newest baked AMI' });
      new CfnOutput(this, 'ImagePipelineArn', { value: this.image.bakery.pipeline.attrArn, description: 'Rebuild with aws imagebuilder start-image-pipeline-execution' });
    }
  }
}
