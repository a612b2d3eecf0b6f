/**
 * The architecture graph of one synthesized CloudFormation template: the resources a reader
 * cares about as nodes, and how they connect as edges (what triggers what, where traffic goes,
 * who may call what, what refers to what). Pure: a template in, a sorted graph out, so that
 * the same template always gives the same graph. scripts/architecture/dot.ts draws it.
 *
 * Resources that only connect others become edges, not nodes: an event source mapping is an
 * edge from its queue to its function, a listener an edge from its balancer to its target
 * group, an IAM policy one edge per named resource from its role, a scaling policy an edge from
 * what it measures to its group. VPC plumbing (subnets, routes, gateways, security groups, the
 * flow log and its role) collapses into one node per VPC; a launch template (or configuration) into
 * the Auto Scaling group that launches it, an instance profile into its role. Policies on queues and buckets, Lambda
 * permissions and CDK metadata are left out.
 */
import { WORKLOAD_METADATA_KEY } from '../../contracts/workload';

/** A CloudFormation template, as far as the graph reads it. */
export interface CfnTemplate {
  readonly Resources?: Record<string, CfnResource>;
}

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
}

/** How a node is drawn: by the part of the architecture it plays. */
export type NodeRole = 'compute' | 'messaging' | 'data' | 'traffic' | 'identity' | 'network' | 'monitoring' | 'other';

export interface ArchNode {
  /** The logical id of the resource the node stands for. */
  readonly id: string;
  /** The logical id without CDK's 8-character hash suffix, when that stays unique. */
  readonly label: string;
  readonly type: string;
  readonly role: NodeRole;
  /** Extra lines: what was folded into the node. */
  readonly details: readonly string[];
}

/**
 * trigger: the source starts work on the target (event source mapping, notification, jobs
 * pulled by a fleet). traffic: requests flow (listener, target group). permission: an IAM
 * statement of the source's role names the target. scaling: the target scales on a metric of
 * the source. metric: an alarm watches the source. reference: anything else one resource names.
 * network: the source sits in the VPC.
 */
export type EdgeKind = 'trigger' | 'traffic' | 'permission' | 'scaling' | 'metric' | 'reference' | 'network';

export interface ArchEdge {
  readonly from: string;
  readonly to: string;
  readonly kind: EdgeKind;
  /** One line per connection merged into this edge. */
  readonly labels: readonly string[];
}

export interface ArchGraph {
  /** Sorted by id. */
  readonly nodes: readonly ArchNode[];
  /** Sorted by from, then to; at most one edge per ordered pair of nodes. */
  readonly edges: readonly ArchEdge[];
}

/** Types left out entirely: their meaning is already on the resource they belong to, or none. */
const OMITTED_TYPES = new Set([
  'AWS::CDK::Metadata', 'AWS::SQS::QueuePolicy', 'AWS::S3::BucketPolicy', 'AWS::SNS::TopicPolicy',
  'AWS::Lambda::Permission', 'AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy', 'AWS::Lambda::EventSourceMapping',
  'AWS::ElasticLoadBalancingV2::Listener', 'AWS::ElasticLoadBalancingV2::ListenerRule', 'AWS::AutoScaling::ScalingPolicy',
  'Custom::S3BucketNotifications',
]);

/** VPC plumbing: collapsed into the node of its VPC. */
const NETWORK_TYPES = new Set([
  'AWS::EC2::VPC', 'AWS::EC2::Subnet', 'AWS::EC2::RouteTable', 'AWS::EC2::Route', 'AWS::EC2::SubnetRouteTableAssociation',
  'AWS::EC2::InternetGateway', 'AWS::EC2::EgressOnlyInternetGateway', 'AWS::EC2::VPCGatewayAttachment', 'AWS::EC2::NatGateway',
  'AWS::EC2::EIP', 'AWS::EC2::SecurityGroup', 'AWS::EC2::SecurityGroupIngress', 'AWS::EC2::SecurityGroupEgress',
  'AWS::EC2::FlowLog', 'AWS::EC2::VPCEndpoint', 'AWS::EC2::NetworkAcl', 'AWS::EC2::NetworkAclEntry',
  'AWS::EC2::SubnetNetworkAclAssociation', 'AWS::EC2::VPCCidrBlock', 'AWS::EC2::SubnetCidrBlock',
]);

const ROLE_BY_TYPE: Record<string, NodeRole> = {
  'AWS::Lambda::Function': 'compute', 'AWS::AutoScaling::AutoScalingGroup': 'compute', 'AWS::EC2::Instance': 'compute',
  'AWS::ECS::Service': 'compute', 'AWS::StepFunctions::StateMachine': 'compute',
  'AWS::SQS::Queue': 'messaging', 'AWS::SNS::Topic': 'messaging', 'AWS::Events::Rule': 'messaging',
  'AWS::S3::Bucket': 'data', 'AWS::DynamoDB::Table': 'data', 'AWS::SSM::Parameter': 'data', 'AWS::SecretsManager::Secret': 'data',
  'AWS::ElasticLoadBalancingV2::LoadBalancer': 'traffic', 'AWS::ElasticLoadBalancingV2::TargetGroup': 'traffic',
  'AWS::IAM::Role': 'identity', 'AWS::EC2::VPC': 'network',
  'AWS::CloudWatch::Alarm': 'monitoring', 'AWS::Logs::LogGroup': 'monitoring',
};

/** The id of the node that stands for all plumbing of a template with no VPC resource. */
const NETWORK_NODE = 'Network';

/** A reference to another resource of the template, where it was found. */
interface Reference {
  readonly target: string;
  /** Property path from the resource's Properties (or Metadata) to the reference. */
  readonly path: readonly string[];
}

/** Every Ref, Fn::GetAtt and Fn::Sub reference to a resource of `ids` inside `value`. */
export function referencesIn(value: unknown, ids: ReadonlySet<string>, path: readonly string[] = []): Reference[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => referencesIn(v, ids, [...path, String(i)]));
  if (value === null || typeof value !== 'object') return [];
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length === 1) {
    const [key] = keys;
    const arg = obj[key];
    if (key === 'Ref' && typeof arg === 'string') return ids.has(arg) ? [{ target: arg, path }] : [];
    if (key === 'Fn::GetAtt') {
      const target = Array.isArray(arg) ? arg[0] : typeof arg === 'string' ? arg.split('.')[0] : undefined;
      return typeof target === 'string' && ids.has(target) ? [{ target, path }] : [];
    }
    if (key === 'Fn::Sub') {
      const [text, vars] = Array.isArray(arg) ? arg : [arg, undefined];
      const named = typeof text === 'string'
        ? [...text.matchAll(/\$\{([^}!.]+)(?:\.[^}]*)?\}/g)].map((m) => m[1]).filter((id) => ids.has(id)).map((target) => ({ target, path }))
        : [];
      return [...named, ...referencesIn(vars, ids, path)];
    }
  }
  return keys.flatMap((k) => referencesIn(obj[k], ids, [...path, k]));
}

/** `JobsQueue24944186` -> `JobsQueue`: the logical id without CDK's hash, where that is unique. */
function shortLabels(ids: readonly string[]): Map<string, string> {
  const strip = (id: string) => id.replace(/[0-9A-F]{8}$/, '') || id;
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(strip(id), (counts.get(strip(id)) ?? 0) + 1);
  return new Map(ids.map((id) => [id, counts.get(strip(id)) === 1 ? strip(id) : id]));
}

/** `AWS::EC2::SecurityGroup` -> `SecurityGroup`. */
function typeName(type: string): string {
  return type.split('::').pop() ?? type;
}

/**
 * IAM actions in a few words: grouped by service, listed (three a line) when there are up to
 * six, counted otherwise (`sqs: ReceiveMessage, DeleteMessage`, `ec2: 9 actions`).
 */
export function summarizeActions(actions: readonly string[]): string[] {
  const byService = new Map<string, Set<string>>();
  for (const action of actions) {
    const [service, name = '*'] = action.split(':');
    if (!byService.has(service)) byService.set(service, new Set());
    byService.get(service)!.add(name);
  }
  return [...byService.keys()].sort().map((service) => {
    const names = [...byService.get(service)!];
    if (names.length > 6) return `${service}: ${names.length} actions`;
    // Three names a line keeps an edge label narrow.
    return `${service}: ${wrap(names, 3)}`;
  });
}

function asArray(value: unknown): unknown[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function prop(resource: CfnResource, ...path: string[]): unknown {
  let value: unknown = resource.Properties;
  for (const key of path) value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  return value;
}

/** A reader's label for a reference found by the generic walk, from its property path. */
function referenceLabel(resource: CfnResource, path: readonly string[]): string {
  const [top] = path[0] === 'LaunchTemplateData' ? path.slice(1) : path;
  if (top === 'Environment' && path[1] === 'Variables') return `env ${path[2]}`;
  if (top === 'Role') return 'runs as';
  if (top === 'LoggingConfig' || top === 'LogGroupName' || top === 'LogDestination') return 'logs to';
  if (top === 'RedrivePolicy') {
    const receives = prop(resource, 'RedrivePolicy', 'maxReceiveCount');
    return receives === undefined ? 'dead letters' : `dead letters after ${String(receives)} receives`;
  }
  if (top === 'DeadLetterConfig') return 'dead letters';
  if (top === 'LoggingConfiguration' || top === 'LoadBalancerAttributes') return 'access logs';
  if (top === 'IamInstanceProfile') return 'instance profile';
  if (top === 'KmsMasterKeyId' || top === 'KmsKeyId' || top === 'BucketEncryption' || top === 'SSESpecification') return 'encrypted with';
  return top ?? 'refers to';
}

/** The architecture graph of a synthesized template. */
export function architectureGraph(template: CfnTemplate): ArchGraph {
  const resources = template.Resources ?? {};
  const ids = new Set(Object.keys(resources));
  const ofType = (type: string) => [...ids].filter((id) => resources[id].Type === type).sort();
  const refs = (value: unknown, path: readonly string[] = []) => referencesIn(value, ids, path);
  const targets = (value: unknown) => [...new Set(refs(value).map((r) => r.target))].sort();

  // Who names whom in their properties, for deciding what a role or a function only serves.
  const referrers = new Map<string, Set<string>>();
  for (const id of ids) {
    for (const target of targets(resources[id].Properties)) {
      if (!referrers.has(target)) referrers.set(target, new Set());
      referrers.get(target)!.add(id);
    }
  }
  const referrersOf = (id: string) => [...(referrers.get(id) ?? [])];

  // The functions behind custom resources (named only as a ServiceToken) and their roles; the
  // custom resources themselves stay, except bucket notifications, which become edges.
  const omitted = new Set([...ids].filter((id) => OMITTED_TYPES.has(resources[id].Type)));
  for (const fn of ofType('AWS::Lambda::Function')) {
    const users = referrersOf(fn).filter((r) => resources[r].Type !== 'AWS::Lambda::Permission');
    const asServiceToken = (r: string) => refs(resources[r].Properties).some((x) => x.target === fn && x.path[0] === 'ServiceToken');
    if (users.length > 0 && users.every(asServiceToken)) omitted.add(fn);
  }
  for (const role of ofType('AWS::IAM::Role')) {
    const users = referrersOf(role).filter((r) => !['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy'].includes(resources[r].Type));
    if (users.length > 0 && users.every((r) => omitted.has(r) && resources[r].Type === 'AWS::Lambda::Function')) omitted.add(role);
  }

  // VPC plumbing, and roles that only plumbing uses (a flow log's), go to their VPC's node.
  const network = new Set([...ids].filter((id) => NETWORK_TYPES.has(resources[id].Type)));
  for (const role of ofType('AWS::IAM::Role')) {
    const users = referrersOf(role).filter((r) => !['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy'].includes(resources[r].Type));
    if (users.length > 0 && users.every((r) => network.has(r))) network.add(role);
  }
  const vpcs = ofType('AWS::EC2::VPC');
  const vpcOf = (id: string, seen = new Set<string>()): string | undefined => {
    if (resources[id].Type === 'AWS::EC2::VPC') return id;
    seen.add(id);
    for (const next of [...targets(resources[id].Properties), ...referrersOf(id)]) {
      if (!network.has(next) || seen.has(next)) continue;
      const found = vpcOf(next, seen);
      if (found) return found;
    }
    return undefined;
  };

  // What each left-out or collapsed resource is drawn as, if anything.
  const alias = new Map<string, string>();
  for (const id of network) alias.set(id, vpcs.length <= 1 ? vpcs[0] ?? NETWORK_NODE : vpcOf(id) ?? vpcs[0]);
  for (const group of ofType('AWS::AutoScaling::AutoScalingGroup')) {
    for (const launch of targets([prop(resources[group], 'LaunchTemplate'), prop(resources[group], 'LaunchConfigurationName')])) {
      if (['AWS::EC2::LaunchTemplate', 'AWS::AutoScaling::LaunchConfiguration'].includes(resources[launch].Type)) alias.set(launch, group);
    }
  }
  for (const profile of ofType('AWS::IAM::InstanceProfile')) {
    const roles = targets(prop(resources[profile], 'Roles'));
    if (roles.length === 1) alias.set(profile, roles[0]);
  }
  for (const listener of ofType('AWS::ElasticLoadBalancingV2::Listener')) {
    const [lb] = targets(prop(resources[listener], 'LoadBalancerArn'));
    if (lb) alias.set(listener, lb);
  }
  for (const policy of ofType('AWS::AutoScaling::ScalingPolicy')) {
    const [group] = targets(prop(resources[policy], 'AutoScalingGroupName'));
    if (group) alias.set(policy, group);
  }
  const nodeOf = (id: string): string | undefined => {
    const seen = new Set<string>();
    let current = id;
    while (alias.has(current) && !seen.has(current)) {
      seen.add(current);
      current = alias.get(current)!;
    }
    if (current === NETWORK_NODE) return current;
    return omitted.has(current) || !ids.has(current) ? undefined : current;
  };

  // Edges, merged per ordered pair of nodes.
  const edges = new Map<string, { from: string; to: string; kind: EdgeKind; labels: string[] }>();
  const KIND_ORDER: EdgeKind[] = ['trigger', 'traffic', 'permission', 'scaling', 'metric', 'reference', 'network'];
  const addEdge = (fromId: string, toId: string, kind: EdgeKind, label: string) => {
    const from = nodeOf(fromId);
    const to = nodeOf(toId);
    if (!from || !to || from === to) return;
    const key = `${from}\u0000${to}`;
    const edge = edges.get(key) ?? { from, to, kind, labels: [] };
    if (KIND_ORDER.indexOf(kind) < KIND_ORDER.indexOf(edge.kind)) edge.kind = kind;
    if (label && !edge.labels.includes(label)) edge.labels.push(label);
    edges.set(key, edge);
  };
  const details = new Map<string, string[]>();
  const addDetail = (id: string, line: string) => {
    const node = nodeOf(id);
    if (!node) return;
    const lines = details.get(node) ?? [];
    if (!lines.includes(line)) lines.push(line);
    details.set(node, lines);
  };

  // Queue (or stream) -> function: event source mappings.
  for (const id of ofType('AWS::Lambda::EventSourceMapping')) {
    const r = resources[id];
    const batch = prop(r, 'BatchSize');
    for (const source of targets(prop(r, 'EventSourceArn'))) {
      for (const fn of targets(prop(r, 'FunctionName'))) addEdge(source, fn, 'trigger', batch === undefined ? 'event source mapping' : `event source mapping, batch ${String(batch)}`);
    }
  }

  // Bucket -> queue, topic or function: notifications, native or through CDK's custom resource.
  const notify = (bucket: string, config: unknown) => {
    const groups: [string, string][] = [['QueueConfigurations', 'Queue'], ['QueueConfigurations', 'QueueArn'], ['TopicConfigurations', 'Topic'],
      ['TopicConfigurations', 'TopicArn'], ['LambdaConfigurations', 'Function'], ['LambdaFunctionConfigurations', 'LambdaFunctionArn']];
    for (const [list, field] of groups) {
      for (const entry of asArray((config as Record<string, unknown> | undefined)?.[list])) {
        const e = entry as Record<string, unknown>;
        const events = asArray(e.Events ?? e.Event).filter((x): x is string => typeof x === 'string');
        for (const target of targets(e[field])) addEdge(bucket, target, 'trigger', `notifies ${events.join(', ')}`.trim());
      }
    }
  };
  for (const id of ofType('AWS::S3::Bucket')) notify(id, prop(resources[id], 'NotificationConfiguration'));
  for (const id of ofType('Custom::S3BucketNotifications')) {
    for (const bucket of targets(prop(resources[id], 'BucketName'))) notify(bucket, prop(resources[id], 'NotificationConfiguration'));
  }

  // Balancer -> target group (through a listener) -> Auto Scaling group.
  for (const id of ofType('AWS::ElasticLoadBalancingV2::Listener')) {
    const r = resources[id];
    const label = ['listener', prop(r, 'Protocol'), prop(r, 'Port')].filter((x) => x !== undefined).join(' ');
    for (const lb of targets(prop(r, 'LoadBalancerArn'))) {
      for (const tg of targets(prop(r, 'DefaultActions'))) addEdge(lb, tg, 'traffic', label);
    }
  }
  for (const id of ofType('AWS::ElasticLoadBalancingV2::ListenerRule')) {
    for (const listener of targets(prop(resources[id], 'ListenerArn'))) {
      for (const tg of targets(prop(resources[id], 'Actions'))) addEdge(listener, tg, 'traffic', 'listener rule');
    }
  }
  for (const id of ofType('AWS::AutoScaling::AutoScalingGroup')) {
    for (const tg of targets(prop(resources[id], 'TargetGroupARNs'))) addEdge(tg, id, 'traffic', 'forwards to its instances');
  }

  // Role -> resource: the actions of every allowed statement of the role's policies that names it,
  // summarized once per pair. Statements that name no resource of the stack (`*`, the asset
  // bucket, the stack itself): their services, on the role's node.
  const granted = new Map<string, Set<string>>();
  const otherServices = new Set<string>();
  const permissions = (roles: readonly string[], document: unknown) => {
    for (const statement of asArray((document as { Statement?: unknown } | undefined)?.Statement)) {
      const s = statement as Record<string, unknown>;
      if (s.Effect !== 'Allow') continue;
      const actions = asArray(s.Action).filter((a): a is string => typeof a === 'string');
      const named = targets(s.Resource);
      for (const role of roles) {
        for (const target of named) {
          const key = `${role}\u0000${target}`;
          granted.set(key, new Set([...(granted.get(key) ?? []), ...actions]));
        }
        for (const action of named.length === 0 ? actions : []) otherServices.add(`${role}\u0000${action.split(':')[0]}`);
      }
    }
  };
  for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
    for (const id of ofType(type)) permissions(targets(prop(resources[id], 'Roles')), prop(resources[id], 'PolicyDocument'));
  }
  for (const role of ofType('AWS::IAM::Role')) {
    for (const policy of asArray(prop(resources[role], 'Policies'))) permissions([role], (policy as Record<string, unknown>).PolicyDocument);
  }
  for (const [key, actions] of [...granted].sort(([a], [b]) => compare(a, b))) {
    const [role, target] = key.split('\u0000');
    for (const line of summarizeActions([...actions])) addEdge(role, target, 'permission', line);
  }
  for (const role of ofType('AWS::IAM::Role')) {
    const services = [...otherServices].filter((k) => k.startsWith(`${role}\u0000`)).map((k) => k.split('\u0000')[1]).sort();
    if (services.length > 0) addDetail(role, `also calls ${wrap(services, 4)} elsewhere`);
    for (const arn of asArray(prop(resources[role], 'ManagedPolicyArns'))) {
      const name = /policy\/(?:service-role\/)?([\w+=,.@-]+)/.exec(JSON.stringify(arn))?.[1];
      if (name) addDetail(role, `managed policy ${name}`);
    }
  }

  // What a scaling policy measures -> its group; alarms watch what their metrics name.
  const metricNames = (value: unknown): string[] => {
    const found = new Set<string>();
    const walk = (v: unknown) => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v !== null && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if ((k === 'MetricName' || k === 'PredefinedMetricType') && typeof x === 'string') found.add(x);
          else walk(x);
        }
      }
    };
    walk(value);
    return [...found].sort();
  };
  for (const id of ofType('AWS::AutoScaling::ScalingPolicy')) {
    const r = resources[id];
    const [group] = targets(prop(r, 'AutoScalingGroupName'));
    if (!group) continue;
    const measured = { ...r.Properties, AutoScalingGroupName: undefined };
    const names = metricNames(measured);
    for (const source of targets(measured)) if (nodeOf(source) !== nodeOf(group)) addEdge(source, group, 'scaling', `scales on ${names.join(', ') || 'a metric'}`);
  }
  for (const id of ofType('AWS::CloudWatch::Alarm')) {
    const r = resources[id];
    const watched = { Dimensions: prop(r, 'Dimensions'), Metrics: prop(r, 'Metrics') };
    const names = metricNames({ MetricName: prop(r, 'MetricName'), ...watched });
    for (const source of targets(watched)) addEdge(source, id, 'metric', names.join(', '));
    for (const action of targets([prop(r, 'AlarmActions'), prop(r, 'OKActions'), prop(r, 'InsufficientDataActions')])) {
      addEdge(id, action, 'scaling', resources[action].Type === 'AWS::AutoScaling::ScalingPolicy' ? 'scales' : 'notifies');
    }
  }

  // Workload declarations: a queue whose jobs a fleet pulls, and the environment it runs with.
  for (const id of [...ids].sort()) {
    const declaration = resources[id].Metadata?.[WORKLOAD_METADATA_KEY] as Record<string, unknown> | undefined;
    if (!declaration || resources[id].Type === 'AWS::Lambda::EventSourceMapping') continue;
    // Only something that runs pulls jobs (a demo's results table declares its queue too, for the local cloud).
    if (ROLE_BY_TYPE[resources[id].Type] === 'compute') for (const queue of targets(declaration.queueUrl)) addEdge(queue, id, 'trigger', 'jobs pulled by the worker agent');
    for (const ref of refs(declaration.environment)) addEdge(id, ref.target, 'reference', `env ${ref.path[0]}`);
  }

  // Every other reference between drawn resources, labelled by where it was found.
  const HANDLED: Record<string, readonly string[]> = {
    'AWS::AutoScaling::AutoScalingGroup': ['TargetGroupARNs', 'LaunchTemplate', 'LaunchConfigurationName'],
    'AWS::EC2::LaunchTemplate': ['LaunchTemplateData.UserData', 'TagSpecifications'],
    'AWS::AutoScaling::LaunchConfiguration': ['UserData'],
    'AWS::IAM::Role': ['Policies', 'ManagedPolicyArns'],
    'AWS::CloudWatch::Alarm': ['Dimensions', 'Metrics', 'AlarmActions', 'OKActions', 'InsufficientDataActions', 'AlarmDescription'],
    'AWS::S3::Bucket': ['NotificationConfiguration'],
  };
  for (const id of [...ids].sort()) {
    const r = resources[id];
    if (omitted.has(id)) continue;
    const skip = HANDLED[r.Type] ?? [];
    for (const ref of refs(r.Properties)) {
      const at = ref.path.join('.');
      if (skip.some((p) => at === p || at.startsWith(`${p}.`))) continue;
      const toNetwork = network.has(ref.target) && !network.has(id);
      addEdge(id, ref.target, toNetwork ? 'network' : 'reference', toNetwork ? 'in' : referenceLabel(r, ref.path));
    }
  }

  // Nodes: every drawn resource, the VPC nodes with what they hold.
  const drawn = [...ids].filter((id) => nodeOf(id) === id).sort();
  const labels = shortLabels(drawn);
  const collapsed = new Map<string, Map<string, number>>();
  for (const id of [...network].sort()) {
    const node = nodeOf(id)!;
    if (node === id) continue;
    const counts = collapsed.get(node) ?? new Map<string, number>();
    const name = typeName(resources[id].Type);
    counts.set(name, (counts.get(name) ?? 0) + 1);
    collapsed.set(node, counts);
  }
  const nodes: ArchNode[] = drawn.map((id) => ({
    id,
    label: labels.get(id)!,
    type: resources[id].Type,
    role: ROLE_BY_TYPE[resources[id].Type] ?? 'other',
    details: [
      ...(collapsed.has(id) ? [`with ${counted(collapsed.get(id)!)}`] : []),
      ...(details.get(id) ?? []).sort(),
    ],
  }));
  if (collapsed.has(NETWORK_NODE)) {
    nodes.unshift({ id: NETWORK_NODE, label: NETWORK_NODE, type: 'VPC plumbing', role: 'network', details: [counted(collapsed.get(NETWORK_NODE)!)] });
  }
  return {
    nodes: nodes.sort((a, b) => compare(a.id, b.id)),
    edges: [...edges.values()]
      .map((e) => ({ from: e.from, to: e.to, kind: e.kind, labels: [...e.labels].sort() }))
      .sort((a, b) => compare(a.from, b.from) || compare(a.to, b.to)),
  };
}

/** `a, b, c,\nd` : `per` items a line. */
function wrap(items: readonly string[], per: number): string {
  const lines = [];
  for (let i = 0; i < items.length; i += per) lines.push(items.slice(i, i + per).join(', '));
  return lines.join(',\n');
}

/** `Subnet (2), InternetGateway, ...`, three a line. */
function counted(counts: ReadonlyMap<string, number>): string {
  return wrap([...counts].map(([name, n]) => (n === 1 ? name : `${name} (${n})`)), 3);
}

/** Code-point order, the same on every machine and locale. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
