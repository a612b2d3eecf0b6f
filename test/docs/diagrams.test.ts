/**
 * The architecture diagrams: the graph read from a small synthesized stack has the connections a
 * reader looks for; the catalog's own graphs show its fleets, references and alarms; and the
 * SVGs committed in docs/diagrams/ are the ones `npm run diagrams` generates from the catalog
 * app today (one synth of the app for the whole file, about 4 s).
 */
import * as fs from 'fs';
import * as path from 'path';
import type { CfnElement, Stack } from 'aws-cdk-lib/core';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { IConstruct } from 'constructs';
import { addCatalogStacks } from '../../lib/stacks/catalog-app';
import { toDot } from '../../scripts/architecture/dot';
import { architectureGraph, summarizeActions, type ArchGraph, type CfnTemplate } from '../../scripts/architecture/graph';
import { DIAGRAMS_DIR, renderDiagram, renderDiagrams, synthesizeTemplates } from '../../scripts/architecture/svg';
import { newStack, templateOf } from '../support/stacks';
import { REPO_ROOT } from '../support/paths';


/** A stack with each connection the diagrams draw: queue -> function, bucket -> queue, balancer -> group, role -> table. */
function connectedStack() {
  const { stack } = newStack('Connected');
  const queue = new sqs.Queue(stack, 'Jobs');
  const worker = new lambda.Function(stack, 'Worker', {
    runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => {};'),
  });
  worker.addEventSource(new SqsEventSource(queue, { batchSize: 5 }));
  worker.grantInvoke(new iam.ServicePrincipal('events.amazonaws.com'));
  const uploads = new s3.Bucket(stack, 'Uploads', { enforceSSL: true });
  uploads.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.SqsDestination(queue));
  const results = new dynamodb.Table(stack, 'Results', { partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING } });
  results.grantWriteData(worker);
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'Public', subnetType: ec2.SubnetType.PUBLIC }] });
  const servers = new autoscaling.AutoScalingGroup(stack, 'Servers', {
    vpc, vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC }, instanceType: new ec2.InstanceType('t3.micro'), machineImage: ec2.MachineImage.latestAmazonLinux2023(),
  });
  const balancer = new elbv2.ApplicationLoadBalancer(stack, 'Balancer', { vpc, internetFacing: true });
  const targets = balancer.addListener('Http', { port: 80, open: true }).addTargets('Servers', { port: 8080, targets: [servers] });
  return { stack, queue, worker, uploads, results, servers, balancer, targets };
}

function logicalId(stack: Stack, construct: IConstruct): string {
  return stack.resolve((construct as CfnElement).logicalId) as string;
}

function edge(graph: ArchGraph, from: string, to: string) {
  return graph.edges.find((e) => e.from === from && e.to === to);
}

describe('the architecture graph of a synthesized stack', () => {
  const { stack, queue, worker, uploads, results, servers, balancer, targets } = connectedStack();
  const template = templateOf(stack).toJSON() as CfnTemplate;
  const graph = architectureGraph(template);
  const id = (c: IConstruct) => logicalId(stack, c.node.defaultChild ?? c);
  const asg = logicalId(stack, servers.node.findChild('ASG'));

  test('draws the queue triggering its function through the event source mapping, with the batch size', () => {
    expect(edge(graph, id(queue), id(worker))).toEqual({ from: id(queue), to: id(worker), kind: 'trigger', labels: ['event source mapping, batch 5'] });
  });

  test('draws the bucket notifying the queue, with the events', () => {
    expect(edge(graph, id(uploads), id(queue))).toEqual({ from: id(uploads), to: id(queue), kind: 'trigger', labels: ['notifies s3:ObjectCreated:*'] });
  });

  test('draws the balancer to its target group through the listener, and the target group to the Auto Scaling group', () => {
    expect(edge(graph, id(balancer), id(targets))).toMatchObject({ kind: 'traffic', labels: ['listener HTTP 80'] });
    expect(edge(graph, id(targets), asg)).toMatchObject({ kind: 'traffic', labels: ['forwards to its instances'] });
  });

  test('draws the function\'s role to the table it may write, labelled with the actions of the statement', () => {
    const role = id(worker.role!);
    expect(edge(graph, id(worker), role)).toMatchObject({ labels: ['runs as'] });
    const write = edge(graph, role, id(results));
    expect(write?.kind).toBe('permission');
    expect(write?.labels.join('\n')).toMatch(/^dynamodb: .*PutItem/);
    expect(edge(graph, role, id(queue))?.labels.join('\n')).toMatch(/^sqs: .*ReceiveMessage/);
  });

  test('collapses the VPC plumbing into one node that the balancer and the group sit in', () => {
    const vpc = id(stack.node.findChild('Vpc'));
    const networkNodes = graph.nodes.filter((n) => n.type.startsWith('AWS::EC2::'));
    expect(networkNodes.map((n) => n.id)).toEqual([vpc]);
    expect(networkNodes[0].details.join(' ')).toMatch(/Subnet \(2\)/);
    expect(edge(graph, id(balancer), vpc)?.kind).toBe('network');
    expect(edge(graph, asg, vpc)?.kind).toBe('network');
  });

  test('leaves out what only connects others or belongs to CDK: mappings, policies, listeners, permissions, metadata, the notifications handler', () => {
    const withMetadata = { Resources: { ...template.Resources, CDKMetadata: { Type: 'AWS::CDK::Metadata', Properties: { Analytics: 'v2:deflate64:H4sI' } } } };
    const types = new Set(architectureGraph(withMetadata).nodes.map((n) => n.type));
    expect(Object.values(template.Resources ?? {}).map((r) => r.Type)).toEqual(expect.arrayContaining(['AWS::Lambda::Permission', 'AWS::S3::BucketPolicy']));
    for (const type of ['AWS::Lambda::EventSourceMapping', 'AWS::IAM::Policy', 'AWS::ElasticLoadBalancingV2::Listener', 'Custom::S3BucketNotifications', 'AWS::SQS::QueuePolicy',
      'AWS::S3::BucketPolicy', 'AWS::Lambda::Permission', 'AWS::CDK::Metadata', 'AWS::EC2::LaunchTemplate', 'AWS::AutoScaling::LaunchConfiguration', 'AWS::IAM::InstanceProfile']) {
      expect(types).not.toContain(type);
    }
    expect(graph.nodes.filter((n) => n.type === 'AWS::Lambda::Function').map((n) => n.id)).toEqual([id(worker)]);
    // The group's launch configuration and instance profile are drawn as the group using its role
    expect(edge(graph, asg, id(servers.role))).toMatchObject({ labels: ['instance profile'] });
  });

  test('labels nodes with the logical id less CDK\'s hash', () => {
    expect(graph.nodes.find((n) => n.id === id(queue))).toMatchObject({ label: 'Jobs', type: 'AWS::SQS::Queue' });
  });

  test('gives the same DOT whatever the order of the template\'s resources, and the same SVG every time', async () => {
    const reversed = { Resources: Object.fromEntries(Object.entries(template.Resources ?? {}).reverse()) };
    expect(toDot(architectureGraph(reversed), 'Connected')).toBe(toDot(graph, 'Connected'));
    const svg = await renderDiagram(template, 'Connected');
    expect(svg).toMatch(/^<\?xml[\s\S]*<svg[\s\S]*Jobs[\s\S]*<\/svg>\n$/);
    expect(await renderDiagram(reversed, 'Connected')).toBe(svg);
  });
});

describe('summarizeActions', () => {
  test('groups actions by service, listing up to six and counting more', () => {
    expect(summarizeActions(['sqs:ReceiveMessage', 'dynamodb:PutItem', 'sqs:DeleteMessage'])).toEqual(['dynamodb: PutItem', 'sqs: ReceiveMessage, DeleteMessage']);
    expect(summarizeActions(['ec2:A', 'ec2:B', 'ec2:C', 'ec2:D', 'ec2:E', 'ec2:F', 'ec2:G'])).toEqual(['ec2: 7 actions']);
  });
});

describe('the catalog\'s diagrams', () => {
  let templates: Map<string, CfnTemplate>;
  let generated: Map<string, string>;
  beforeAll(async () => {
    // GIVEN every catalog stack, synthesized once for the file
    templates = synthesizeTemplates(addCatalogStacks);
    generated = await renderDiagrams(templates);
  });
  const graphOf = (stack: string) => architectureGraph(templates.get(stack)!);
  const node = (graph: ArchGraph, label: string) => {
    const found = graph.nodes.find((n) => n.label === label);
    if (!found) throw new Error(`no node ${label} among ${graph.nodes.map((n) => n.label).join(', ')}`);
    return found.id;
  };

  test('are one per catalog stack, committed, each byte for byte what `npm run diagrams` generates now', () => {
    // GIVEN the committed SVGs
    const dir = path.join(REPO_ROOT, DIAGRAMS_DIR);
    const committed = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.svg')).sort() : [];

    // THEN none is missing, stale or extra
    const problems = [
      ...[...generated.keys()].filter((f) => !committed.includes(f)).map((f) => `${DIAGRAMS_DIR}/${f} is missing`),
      ...committed.filter((f) => !generated.has(f)).map((f) => `${DIAGRAMS_DIR}/${f} is for no catalog stack`),
      ...committed.filter((f) => generated.has(f) && fs.readFileSync(path.join(dir, f), 'utf8') !== generated.get(f)).map((f) => `${DIAGRAMS_DIR}/${f} is out of date`),
    ].map((p) => `${p}: run \`npm run diagrams\` and commit docs/diagrams/`);
    expect(problems).toEqual([]);
    expect(committed).toEqual([...templates.keys()].map((name) => `${name}.svg`));
  });

  test('are each shown in the README, under the stack\'s name', () => {
    const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const missing = [...templates.keys()].filter((name) => !readme.includes(`### ${name}\n![${name}](${DIAGRAMS_DIR}/${name}.svg)`));
    expect(missing).toEqual([]);
  });

  test('draw the fleet pulling jobs from its queue and scaling on its backlog', () => {
    const graph = graphOf('FleetWorkerStack');
    const group = graph.nodes.find((n) => n.type === 'AWS::AutoScaling::AutoScalingGroup')!.id;
    const pull = edge(graph, node(graph, 'JobsQueue'), group);
    expect(pull?.kind).toBe('trigger');
    expect(pull?.labels).toContain('jobs pulled by the worker agent');
    expect(pull?.labels.join('\n')).toMatch(/^scales on .*ApproximateNumberOfMessagesVisible/m);
    // an alarm starts the first instance; the group runs as its role, in the VPC
    const alarms = graph.edges.filter((e) => e.to === group && e.labels.includes('scales'));
    expect(alarms.map((e) => graph.nodes.find((n) => n.id === e.from)?.type)).toEqual(['AWS::CloudWatch::Alarm']);
    const role = graph.edges.find((e) => e.from === group && e.labels.includes('instance profile'))!.to;
    expect(graph.nodes.find((n) => n.id === role)?.details.join(' ')).toMatch(/^also calls .*ssm/);
    expect(edge(graph, group, node(graph, 'Vpc'))?.kind).toBe('network');
  });

  test('draw environment variables, dead-letter queues, access logs and log groups as references', () => {
    const web = graphOf('WebTierStack');
    const servers = web.nodes.find((n) => n.type === 'AWS::AutoScaling::AutoScalingGroup')!.id;
    expect(edge(web, servers, node(web, 'SessionsTable'))).toMatchObject({ kind: 'reference', labels: ['env SESSION_TABLE_NAME'] });
    expect(edge(web, node(web, 'WebLoadBalancer'), node(web, 'WebAccessLogsBucket'))?.labels).toEqual(['access logs']);
    const jobs = graphOf('WorkQueueStack');
    expect(edge(jobs, node(jobs, 'JobsQueue'), node(jobs, 'JobsDeadLetterQueue'))?.labels).toEqual(['dead letters after 5 receives']);
    expect(edge(jobs, node(jobs, 'WorkerFunction'), node(jobs, 'WorkerLogGroup'))?.labels).toEqual(['logs to']);
    expect(edge(jobs, node(jobs, 'JobsQueue'), node(jobs, 'JobsOldestJobAgeAlarm'))).toMatchObject({ kind: 'metric', labels: ['ApproximateAgeOfOldestMessage'] });
  });
});
