/**
 * Workload declarations (contracts/workload.ts), read back from the deployed stacks: each
 * resource's Metadata under WORKLOAD_METADATA_KEY in the deployed template (GetTemplate), with
 * its references resolved to what the embedded AWS deployed (a queue's URL and ARN, a table's
 * name, an asset bucket's name). The resolver follows CloudFormation's own rules for the
 * intrinsic functions CDK writes (Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split,
 * Fn::ImportValue, Fn::FindInMap, Fn::Base64, pseudo parameters). A reference it cannot resolve
 * makes the declaration a problem the local cloud reports, never a wrong value.
 */
import { WORKLOAD_METADATA_KEY, isWorkloadDeclaration, type WorkloadDeclaration } from '../contracts/workload';

/** A declaration found on a deployed resource, its fields resolved. */
export interface DeployedDeclaration<D extends WorkloadDeclaration = WorkloadDeclaration> {
  readonly stackName: string;
  /** The resource that carries it (the construct's primary resource). */
  readonly logicalId: string;
  readonly type: string;
  /** Its physical id in the embedded AWS (what Ref gives). */
  readonly physicalId: string;
  readonly declaration: D;
}

/** A declaration that could not be read: which resource, and why. */
export interface DeclarationProblem {
  readonly stackName: string;
  readonly logicalId: string;
  readonly kind?: string;
  readonly version?: number;
  readonly problem: string;
}

/** What a stack's references resolve against. */
export interface ResolutionContext {
  readonly stackName: string;
  readonly stackId: string;
  readonly account: string;
  readonly region: string;
  /** Logical id -> type and physical id, of the resources the embedded AWS created. */
  readonly resources: ReadonlyMap<string, { readonly type: string; readonly physicalId: string }>;
  /** Parameter -> value the stack was deployed with (the resolved value of an SSM parameter type). */
  readonly parameters: Readonly<Record<string, string>>;
  /** Export name -> value, of every stack (Fn::ImportValue). */
  readonly exports: Readonly<Record<string, string>>;
  /** The template's Mappings (Fn::FindInMap). */
  readonly mappings: Readonly<Record<string, Record<string, Record<string, unknown>>>>;
}

/** Thrown by {@link resolveReferences} for a reference it cannot resolve; the message names it. */
export class UnresolvableReferenceError extends Error {
  override readonly name = 'UnresolvableReferenceError';
}

/**
 * Attributes that follow from a resource's physical id, as the embedded AWS builds them.
 * A pattern whose declaration uses another Fn::GetAtt adds a row here (or declares a Ref).
 */
const ATTRIBUTES: Readonly<Record<string, Readonly<Record<string, (id: string, c: ResolutionContext) => string>>>> = {
  'AWS::SQS::Queue': {
    Arn: (url, c) => `arn:aws:sqs:${c.region}:${c.account}:${url.split('/').pop()}`,
    QueueName: (url) => url.split('/').pop()!,
    QueueUrl: (url) => url,
  },
  'AWS::DynamoDB::Table': { Arn: (name, c) => `arn:aws:dynamodb:${c.region}:${c.account}:table/${name}` },
  'AWS::S3::Bucket': {
    Arn: (name) => `arn:aws:s3:::${name}`,
    DomainName: (name) => `${name}.s3.amazonaws.com`,
    RegionalDomainName: (name, c) => `${name}.s3.${c.region}.amazonaws.com`,
  },
  'AWS::Lambda::Function': { Arn: (name, c) => `arn:aws:lambda:${c.region}:${c.account}:function:${name}` },
  'AWS::IAM::Role': { Arn: (name, c) => `arn:aws:iam::${c.account}:role/${name}` },
  'AWS::SNS::Topic': { TopicArn: (arn) => arn, TopicName: (arn) => arn.split(':').pop()! },
  'AWS::Logs::LogGroup': { Arn: (name, c) => `arn:aws:logs:${c.region}:${c.account}:log-group:${name}:*` },
  'AWS::SecretsManager::Secret': { Id: (arn) => arn },
  'AWS::SSM::Parameter': { Value: () => { throw new UnresolvableReferenceError('Fn::GetAtt of an SSM parameter\'s Value: declare its name (Ref) and read it'); } },
};

/** Resolves every reference in `value` against the deployed stack. */
export function resolveReferences(value: unknown, c: ResolutionContext): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveReferences(v, c));
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 1) {
    const [fn, arg] = entries[0]!;
    if (fn === 'Ref' || fn.startsWith('Fn::')) return intrinsic(fn, arg, c);
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, resolveReferences(v, c)]));
}

function pseudo(name: string, c: ResolutionContext): string | undefined {
  switch (name) {
    case 'AWS::AccountId': return c.account;
    case 'AWS::Region': return c.region;
    case 'AWS::Partition': return 'aws';
    case 'AWS::URLSuffix': return 'amazonaws.com';
    case 'AWS::StackName': return c.stackName;
    case 'AWS::StackId': return c.stackId;
    default: return undefined;
  }
}

function ref(name: string, c: ResolutionContext): string {
  const value = pseudo(name, c) ?? c.parameters[name] ?? c.resources.get(name)?.physicalId;
  if (value === undefined) throw new UnresolvableReferenceError(`Ref ${name}: no such parameter, or the embedded AWS did not create that resource`);
  return value;
}

function getAtt(logicalId: string, attribute: string, c: ResolutionContext): string {
  const resource = c.resources.get(logicalId);
  if (!resource) throw new UnresolvableReferenceError(`Fn::GetAtt ${logicalId}.${attribute}: the embedded AWS did not create ${logicalId}`);
  const build = ATTRIBUTES[resource.type]?.[attribute];
  if (!build) throw new UnresolvableReferenceError(`Fn::GetAtt ${logicalId}.${attribute}: the local cloud does not know ${resource.type}'s ${attribute} (add it in local/declarations.ts, or declare a Ref)`);
  return build(resource.physicalId, c);
}

function text(value: unknown, what: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new UnresolvableReferenceError(`${what} resolved to ${JSON.stringify(value)}, not a string`);
}

function intrinsic(fn: string, arg: unknown, c: ResolutionContext): unknown {
  switch (fn) {
    case 'Ref':
      return ref(text(arg, 'Ref'), c);
    case 'Fn::GetAtt': {
      const [logicalId, ...attribute] = Array.isArray(arg) ? arg.map((a) => text(resolveReferences(a, c), 'Fn::GetAtt')) : text(arg, 'Fn::GetAtt').split('.');
      return getAtt(logicalId!, attribute.join('.'), c);
    }
    case 'Fn::Join': {
      const [sep, list] = arg as [string, unknown[]];
      const items = resolveReferences(list, c);
      if (!Array.isArray(items)) throw new UnresolvableReferenceError('Fn::Join needs a list');
      return items.map((i) => text(i, 'Fn::Join')).join(sep);
    }
    case 'Fn::Sub': {
      const [template, vars] = Array.isArray(arg) ? [arg[0] as string, resolveReferences(arg[1], c) as Record<string, unknown>] : [arg as string, {}];
      return template.replace(/\$\{([^}]+)\}/g, (whole, name: string) => {
        if (name.startsWith('!')) return whole.replace('!', '');
        if (name in vars) return text(vars[name], `Fn::Sub \${${name}}`);
        const dot = name.indexOf('.');
        return dot > 0 && !name.startsWith('AWS::') ? getAtt(name.slice(0, dot), name.slice(dot + 1), c) : ref(name, c);
      });
    }
    case 'Fn::Select': {
      const [index, list] = arg as [unknown, unknown];
      const items = resolveReferences(list, c);
      const i = Number(resolveReferences(index, c));
      if (!Array.isArray(items) || !(i >= 0 && i < items.length)) throw new UnresolvableReferenceError(`Fn::Select index ${i} out of range`);
      return items[i];
    }
    case 'Fn::Split': {
      const [sep, source] = arg as [string, unknown];
      return text(resolveReferences(source, c), 'Fn::Split').split(sep);
    }
    case 'Fn::ImportValue': {
      const name = text(resolveReferences(arg, c), 'Fn::ImportValue');
      const value = c.exports[name];
      if (value === undefined) throw new UnresolvableReferenceError(`Fn::ImportValue ${name}: no stack exports it`);
      return value;
    }
    case 'Fn::FindInMap': {
      const [map, top, second] = (arg as unknown[]).map((a) => text(resolveReferences(a, c), 'Fn::FindInMap'));
      const value = c.mappings[map!]?.[top!]?.[second!];
      if (value === undefined) throw new UnresolvableReferenceError(`Fn::FindInMap ${map}.${top}.${second}: not in the template's Mappings`);
      return value;
    }
    case 'Fn::Base64':
      return Buffer.from(text(resolveReferences(arg, c), 'Fn::Base64')).toString('base64');
    default:
      throw new UnresolvableReferenceError(`${fn} is not resolved in a workload declaration (conditions are not evaluated): declare plain references`);
  }
}

/** A deployed template's resources, as far as declarations need them. */
export interface DeployedTemplate {
  readonly Resources?: Record<string, { readonly Type?: string; readonly Metadata?: Record<string, unknown> }>;
  readonly Mappings?: Record<string, Record<string, Record<string, unknown>>>;
}

/** The declarations of one deployed stack, resolved, and the ones that could not be. */
export function stackDeclarations(template: DeployedTemplate, c: Omit<ResolutionContext, 'mappings'>): {
  declarations: DeployedDeclaration[];
  problems: DeclarationProblem[];
} {
  const context: ResolutionContext = { ...c, mappings: template.Mappings ?? {} };
  const declarations: DeployedDeclaration[] = [];
  const problems: DeclarationProblem[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    const raw = resource.Metadata?.[WORKLOAD_METADATA_KEY];
    if (raw === undefined) continue;
    const where = { stackName: c.stackName, logicalId };
    if (!isWorkloadDeclaration(raw)) {
      problems.push({ ...where, problem: `its ${WORKLOAD_METADATA_KEY} metadata has no kind and version: ${JSON.stringify(raw).slice(0, 200)}` });
      continue;
    }
    const deployed = c.resources.get(logicalId);
    if (!deployed) {
      problems.push({ ...where, kind: raw.kind, version: raw.version, problem: 'the embedded AWS did not create the resource that declares it' });
      continue;
    }
    try {
      const declaration = resolveReferences(raw, context) as WorkloadDeclaration;
      declarations.push({ ...where, type: deployed.type, physicalId: deployed.physicalId, declaration });
    } catch (e) {
      if (!(e instanceof UnresolvableReferenceError)) throw e;
      problems.push({ ...where, kind: raw.kind, version: raw.version, problem: e.message });
    }
  }
  return { declarations, problems };
}
