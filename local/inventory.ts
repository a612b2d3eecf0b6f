/**
 * What was deployed, read back from the embedded AWS itself: the stacks' outputs and
 * resources, then each resource from its own service (function configuration and
 * environment, event source mappings, queue attributes). The local cloud runs what this
 * says, never what the construct props said, so a wrong name, environment variable or
 * setting in a template shows up locally as it would in AWS.
 */
import { AutoScalingClient, DescribeAutoScalingGroupsCommand, DescribePoliciesCommand } from '@aws-sdk/client-auto-scaling';
import {
  CloudFormationClient, DescribeStacksCommand, GetTemplateCommand, ListExportsCommand, ListStackResourcesCommand,
} from '@aws-sdk/client-cloudformation';
import { GetEventSourceMappingCommand, GetFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { WorkloadDeclaration, WorkloadKindContract } from '../contracts/workload';
import { stackDeclarations, type DeclarationProblem, type DeployedDeclaration, type DeployedTemplate } from './declarations';

/** A deployed stack. */
export interface DeployedStack {
  readonly name: string;
  /** Its id (an ARN with the account and region it was deployed in). */
  readonly id: string;
  readonly status: string;
  /** Parameter -> the value it was deployed with. */
  readonly parameters: Readonly<Record<string, string>>;
  /** Output key -> value. */
  readonly outputs: Readonly<Record<string, string>>;
  /** Logical id -> { type, physical id } of the resources the embedded AWS created. */
  readonly resources: readonly { readonly logicalId: string; readonly type: string; readonly physicalId: string }[];
}

/** A deployed Lambda function, as GetFunction describes it. */
export interface DeployedFunction {
  readonly stackName: string;
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  readonly runtime: string;
  /** `file.export`, relative to the code root. */
  readonly handler: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  readonly environment: Readonly<Record<string, string>>;
  /** Base64 SHA-256 of the deployed package. */
  readonly codeSha256: string;
  /** Where GetFunction says the package is. */
  readonly codeLocation: string;
}

/** A deployed SQS queue, as GetQueueAttributes describes it. */
export interface DeployedQueue {
  readonly stackName: string;
  readonly logicalId: string;
  readonly url: string;
  readonly arn: string;
  readonly visibilityTimeoutSeconds: number;
  /** The dead-letter queue's ARN and the receives before a message moves there. */
  readonly redrive?: { readonly deadLetterTargetArn: string; readonly maxReceiveCount: number };
}

/** A deployed Lambda event source mapping on an SQS queue. */
export interface DeployedSqsMapping {
  readonly stackName: string;
  readonly logicalId: string;
  readonly uuid: string;
  readonly functionArn: string;
  readonly queueArn: string;
  readonly enabled: boolean;
  readonly batchSize: number;
  readonly maxBatchingWindowSeconds: number;
  /** ScalingConfig.MaximumConcurrency; undefined when the mapping sets none. */
  readonly maxConcurrency?: number;
  readonly reportBatchItemFailures: boolean;
}

/** A deployed Auto Scaling group with its scaling policies, as the Auto Scaling API describes them. */
export interface DeployedAutoScalingGroup {
  readonly stackName: string;
  readonly logicalId: string;
  readonly name: string;
  readonly minSize: number;
  readonly maxSize: number;
  readonly desiredCapacity: number;
  readonly launchTemplate?: { readonly id?: string; readonly name?: string; readonly version?: string };
  /** Instances the group runs now (moto launches them as EC2 instances). */
  readonly instanceIds: readonly string[];
  /** The group's tags (key -> value), which may describe what its instances run. */
  readonly tags: Readonly<Record<string, string>>;
  readonly policies: readonly {
    readonly name: string;
    readonly type: string;
    /** Target tracking: the metric value to hold per instance (e.g. backlog per instance). */
    readonly targetValue?: number;
  }[];
}

/** Everything the local cloud reads about the deployed stacks. */
export interface Inventory {
  readonly endpoint: string;
  readonly stacks: readonly DeployedStack[];
  readonly functions: readonly DeployedFunction[];
  readonly queues: readonly DeployedQueue[];
  readonly sqsMappings: readonly DeployedSqsMapping[];
  readonly autoScalingGroups: readonly DeployedAutoScalingGroup[];
  /** Every workload declaration on the deployed resources, resolved (contracts/workload.ts). */
  readonly declared: readonly DeployedDeclaration[];
  /** Declarations that could not be resolved, with why. */
  readonly declarationProblems: readonly DeclarationProblem[];
  /** The declarations of `kind` at the version this code knows (`declared` holds the others too). */
  declarations<D extends WorkloadDeclaration>(kind: WorkloadKindContract<D>): DeployedDeclaration<D>[];
}

/** The SDK clients the inventory reads with. */
export interface InventoryClients {
  readonly cloudformation: CloudFormationClient;
  readonly lambda: LambdaClient;
  readonly sqs: SQSClient;
  /** Needed only when a stack has an Auto Scaling group. */
  readonly autoscaling?: AutoScalingClient;
}

/**
 * Reads the deployed state of `stackNames` from the embedded AWS at `endpoint`. `completed` are
 * resources the local cloud created through a service's API for template resources moto's
 * CloudFormation did not create (local/cognito.ts): they count as deployed.
 */
export async function readInventory(
  endpoint: string,
  clients: InventoryClients,
  stackNames: readonly string[],
  completed: readonly { readonly stackName: string; readonly logicalId: string; readonly type: string; readonly physicalId: string }[] = [],
): Promise<Inventory> {
  const stacks = (await Promise.all(stackNames.map((name) => readStack(clients.cloudformation, name)))).map((s) => ({
    ...s,
    resources: [...s.resources, ...completed.filter((c) => c.stackName === s.name).map(({ logicalId, type, physicalId }) => ({ logicalId, type, physicalId }))],
  }));
  const of = (type: string) => stacks.flatMap((s) => s.resources.filter((r) => r.type === type).map((r) => ({ stack: s.name, ...r })));

  // Each service is read side by side (moto answers requests in parallel).
  const functionsRead = Promise.all(of('AWS::Lambda::Function').map(async (r): Promise<DeployedFunction> => {
    const out = await clients.lambda.send(new GetFunctionCommand({ FunctionName: r.physicalId }));
    const c = out.Configuration ?? {};
    return {
      stackName: r.stack,
      logicalId: r.logicalId,
      name: c.FunctionName ?? r.physicalId,
      arn: c.FunctionArn ?? '',
      runtime: c.Runtime ?? '',
      handler: c.Handler ?? '',
      timeoutSeconds: c.Timeout ?? 3,
      memoryMb: c.MemorySize ?? 128,
      environment: c.Environment?.Variables ?? {},
      codeSha256: c.CodeSha256 ?? '',
      codeLocation: out.Code?.Location ?? '',
    };
  }));

  const queuesRead = Promise.all(of('AWS::SQS::Queue').map(async (r): Promise<DeployedQueue> => {
    const a = (await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: r.physicalId, AttributeNames: ['All'] }))).Attributes ?? {};
    const redrive = a.RedrivePolicy ? (JSON.parse(a.RedrivePolicy) as { deadLetterTargetArn: string; maxReceiveCount: number | string }) : undefined;
    return {
      stackName: r.stack,
      logicalId: r.logicalId,
      url: r.physicalId,
      arn: a.QueueArn ?? '',
      visibilityTimeoutSeconds: Number(a.VisibilityTimeout ?? 30),
      ...(redrive ? { redrive: { deadLetterTargetArn: redrive.deadLetterTargetArn, maxReceiveCount: Number(redrive.maxReceiveCount) } } : {}),
    };
  }));

  const mappingsRead = Promise.all(of('AWS::Lambda::EventSourceMapping').map(async (r) => {
    const m = await clients.lambda.send(new GetEventSourceMappingCommand({ UUID: r.physicalId }));
    return { r, m };
  }));
  const groups = of('AWS::AutoScaling::AutoScalingGroup');
  const [functions, queues, mappings, autoScalingGroups, { declared, declarationProblems }] = await Promise.all([
    functionsRead,
    queuesRead,
    mappingsRead,
    clients.autoscaling && groups.length > 0 ? readGroups(clients.autoscaling, groups) : [],
    readDeclarations(clients.cloudformation, stacks),
  ]);
  const sqsMappings: DeployedSqsMapping[] = mappings
    .filter(({ m }) => m.EventSourceArn?.startsWith('arn:aws:sqs:'))
    .map(({ r, m }) => ({
      stackName: r.stack,
      logicalId: r.logicalId,
      uuid: m.UUID ?? r.physicalId,
      functionArn: m.FunctionArn ?? '',
      queueArn: m.EventSourceArn ?? '',
      // moto reports "Enabled"/"Disabled"; AWS also has transitional states that end enabled.
      enabled: m.State === undefined || /^(Enabled|Enabling|Creating|Updating)$/.test(m.State),
      batchSize: m.BatchSize ?? 10,
      maxBatchingWindowSeconds: m.MaximumBatchingWindowInSeconds ?? 0,
      ...(m.ScalingConfig?.MaximumConcurrency !== undefined ? { maxConcurrency: m.ScalingConfig.MaximumConcurrency } : {}),
      reportBatchItemFailures: (m.FunctionResponseTypes ?? []).includes('ReportBatchItemFailures'),
    }));

  return {
    endpoint,
    stacks,
    functions,
    queues,
    sqsMappings,
    autoScalingGroups,
    declared,
    declarationProblems,
    declarations: <D extends WorkloadDeclaration>(kind: WorkloadKindContract<D>) => declarationsOf(declared, kind),
  };
}

/** The declarations of `kind` at its version. */
export function declarationsOf<D extends WorkloadDeclaration>(declared: readonly DeployedDeclaration[], kind: WorkloadKindContract<D>): DeployedDeclaration<D>[] {
  return declared.filter((d) => d.declaration.kind === kind.kind && d.declaration.version === kind.version) as DeployedDeclaration<D>[];
}

/** The workload declarations of the deployed stacks, from their deployed templates. */
async function readDeclarations(cfn: CloudFormationClient, stacks: readonly DeployedStack[]) {
  const exports: Record<string, string> = {};
  let token: string | undefined;
  do {
    const page = await cfn.send(new ListExportsCommand({ NextToken: token }));
    for (const e of page.Exports ?? []) if (e.Name && e.Value !== undefined) exports[e.Name] = e.Value;
    token = page.NextToken;
  } while (token);
  const declared: DeployedDeclaration[] = [];
  const declarationProblems: DeclarationProblem[] = [];
  const templates = await Promise.all(stacks.map(async (stack) => (await cfn.send(new GetTemplateCommand({ StackName: stack.name }))).TemplateBody ?? '{}'));
  stacks.forEach((stack, i) => {
    let template: DeployedTemplate;
    try {
      template = JSON.parse(templates[i]!) as DeployedTemplate;
    } catch {
      return; // A YAML template (not CDK's): it holds no declarations the catalog wrote.
    }
    // arn:aws:cloudformation:<region>:<account>:stack/<name>/<uuid>
    const [, , , region = '', account = ''] = stack.id.split(':');
    const found = stackDeclarations(template, {
      stackName: stack.name,
      stackId: stack.id,
      account,
      region,
      resources: new Map(stack.resources.map((r) => [r.logicalId, { type: r.type, physicalId: r.physicalId }])),
      parameters: stack.parameters,
      exports,
    });
    declared.push(...found.declarations);
    declarationProblems.push(...found.problems);
  });
  return { declared, declarationProblems };
}

async function readGroups(
  autoscaling: AutoScalingClient,
  groups: readonly { stack: string; logicalId: string; physicalId: string }[],
): Promise<DeployedAutoScalingGroup[]> {
  return Promise.all(groups.map(async (r): Promise<DeployedAutoScalingGroup> => {
    const g = (await autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [r.physicalId] }))).AutoScalingGroups?.[0];
    const policies = (await autoscaling.send(new DescribePoliciesCommand({ AutoScalingGroupName: r.physicalId }))).ScalingPolicies ?? [];
    const lt = g?.LaunchTemplate ?? g?.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification;
    return {
      stackName: r.stack,
      logicalId: r.logicalId,
      name: g?.AutoScalingGroupName ?? r.physicalId,
      minSize: g?.MinSize ?? 0,
      maxSize: g?.MaxSize ?? 0,
      desiredCapacity: g?.DesiredCapacity ?? 0,
      ...(lt ? { launchTemplate: { id: lt.LaunchTemplateId, name: lt.LaunchTemplateName, version: lt.Version } } : {}),
      instanceIds: (g?.Instances ?? []).map((i) => i.InstanceId!).filter(Boolean),
      tags: Object.fromEntries((g?.Tags ?? []).filter((t) => t.Key).map((t) => [t.Key!, t.Value ?? ''])),
      policies: policies.map((p) => ({
        name: p.PolicyName ?? '',
        type: p.PolicyType ?? '',
        ...(p.TargetTrackingConfiguration?.TargetValue !== undefined ? { targetValue: p.TargetTrackingConfiguration.TargetValue } : {}),
      })),
    };
  }));
}

async function readStack(cfn: CloudFormationClient, name: string): Promise<DeployedStack> {
  const stack = (await cfn.send(new DescribeStacksCommand({ StackName: name }))).Stacks?.[0];
  const outputs: Record<string, string> = {};
  for (const o of stack?.Outputs ?? []) if (o.OutputKey && o.OutputValue !== undefined) outputs[o.OutputKey] = o.OutputValue;
  const parameters: Record<string, string> = {};
  for (const p of stack?.Parameters ?? []) if (p.ParameterKey) parameters[p.ParameterKey] = p.ResolvedValue ?? p.ParameterValue ?? '';
  const resources: { logicalId: string; type: string; physicalId: string }[] = [];
  let token: string | undefined;
  do {
    const page = await cfn.send(new ListStackResourcesCommand({ StackName: name, NextToken: token }));
    for (const r of page.StackResourceSummaries ?? []) {
      // moto lists the resource types it does not model with empty ids: nothing to read there.
      if (r.LogicalResourceId && r.ResourceType && r.PhysicalResourceId) {
        resources.push({ logicalId: r.LogicalResourceId, type: r.ResourceType, physicalId: r.PhysicalResourceId });
      }
    }
    token = page.NextToken;
  } while (token);
  return { name, id: stack?.StackId ?? '', status: stack?.StackStatus ?? 'UNKNOWN', parameters, outputs, resources };
}

/** The queue with this ARN, if it was deployed. */
export function queueByArn(inventory: Inventory, arn: string): DeployedQueue | undefined {
  return inventory.queues.find((q) => q.arn === arn);
}

/** The function with this ARN or name, if it was deployed. */
export function functionByArn(inventory: Inventory, arnOrName: string): DeployedFunction | undefined {
  return inventory.functions.find((f) => f.arn === arnOrName || f.name === arnOrName);
}
