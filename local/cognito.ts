/**
 * Cognito user pools and their app clients, which moto's CloudFormation accepts without creating
 * (it has no model of AWS::Cognito::UserPool or AWS::Cognito::UserPoolClient), completed through
 * moto's Cognito API after the deployment: each pool of a deployed template that the embedded AWS
 * did not create is created with the template's settings (password policy, MFA, username and
 * recovery settings, feature plan), then each of its clients (auth flows, token validities,
 * secret or not). moto's Cognito then signs users up, answers InitiateAuth with JWTs signed by its
 * key, and serves the pool's JWKS at `<endpoint>/<pool id>/.well-known/jwks.json`.
 *
 * What it created is returned as deployed resources (logical id, type, physical id: the pool's id,
 * the client's id), so that a workload's declaration that refers to them (`Ref`) resolves as it
 * would in AWS. Properties that hold a reference to another resource (an SMS role, a Lambda
 * trigger) are left out and named in the note; nothing runs for triggers locally.
 */
import { CreateUserPoolClientCommand, CreateUserPoolCommand, type CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { GetTemplateCommand, ListStackResourcesCommand, type CloudFormationClient } from '@aws-sdk/client-cloudformation';

/** A resource the local cloud created through a service's API, for a template resource moto did not create. */
export interface CompletedResource {
  readonly stackName: string;
  readonly logicalId: string;
  readonly type: string;
  /** What `Ref` gives in AWS: the pool's id, the client's id. */
  readonly physicalId: string;
  /** Settings of the template left out (they refer to other resources). */
  readonly skipped: readonly string[];
}

const USER_POOL = 'AWS::Cognito::UserPool';
const USER_POOL_CLIENT = 'AWS::Cognito::UserPoolClient';

/** CreateUserPool's parameters that CloudFormation's properties carry under the same name. */
const POOL_PROPERTIES = [
  'Policies', 'DeletionProtection', 'AutoVerifiedAttributes', 'AliasAttributes', 'UsernameAttributes', 'MfaConfiguration', 'DeviceConfiguration',
  'UserPoolTags', 'AdminCreateUserConfig', 'Schema', 'UserPoolAddOns', 'UsernameConfiguration', 'AccountRecoverySetting', 'UserPoolTier',
  'VerificationMessageTemplate', 'UserAttributeUpdateSettings', 'EmailVerificationMessage', 'EmailVerificationSubject', 'SmsVerificationMessage',
  'SmsAuthenticationMessage', 'EmailConfiguration', 'SmsConfiguration', 'LambdaConfig', 'UserPoolTags',
] as const;

/** CreateUserPoolClient's parameters that CloudFormation's properties carry under the same name. */
const CLIENT_PROPERTIES = [
  'ClientName', 'GenerateSecret', 'RefreshTokenValidity', 'AccessTokenValidity', 'IdTokenValidity', 'TokenValidityUnits', 'ReadAttributes',
  'WriteAttributes', 'ExplicitAuthFlows', 'SupportedIdentityProviders', 'CallbackURLs', 'LogoutURLs', 'DefaultRedirectURI', 'AllowedOAuthFlows',
  'AllowedOAuthScopes', 'AllowedOAuthFlowsUserPoolClient', 'PreventUserExistenceErrors', 'EnableTokenRevocation',
  'EnablePropagateAdditionalUserContextData', 'AuthSessionValidity',
] as const;

interface TemplateResource {
  readonly Type?: string;
  readonly Properties?: Record<string, unknown>;
}

/** True when `value` holds a CloudFormation intrinsic (Ref, Fn::...) anywhere. */
function holdsReference(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(holdsReference);
  if (typeof value !== 'object' || value === null) return false;
  return Object.entries(value).some(([k, v]) => k === 'Ref' || k.startsWith('Fn::') || holdsReference(v));
}

/** The template's settings under `names`, without those that refer to other resources (named in `skipped`). */
function settings(properties: Record<string, unknown>, names: readonly string[], skipped: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of names) {
    const value = properties[name];
    if (value === undefined) continue;
    if (holdsReference(value)) skipped.push(name);
    else out[name] = value;
  }
  for (const name of Object.keys(properties)) {
    if (!names.includes(name) && name !== 'UserPoolName' && name !== 'UserPoolId') skipped.push(name);
  }
  return out;
}

async function templateResources(cfn: CloudFormationClient, stackName: string): Promise<Record<string, TemplateResource>> {
  const body = (await cfn.send(new GetTemplateCommand({ StackName: stackName }))).TemplateBody ?? '{}';
  try {
    return (JSON.parse(body) as { Resources?: Record<string, TemplateResource> }).Resources ?? {};
  } catch {
    return {}; // a YAML template: not one CDK wrote
  }
}

async function createdLogicalIds(cfn: CloudFormationClient, stackName: string): Promise<Set<string>> {
  const created = new Set<string>();
  let token: string | undefined;
  do {
    const page = await cfn.send(new ListStackResourcesCommand({ StackName: stackName, NextToken: token }));
    for (const r of page.StackResourceSummaries ?? []) if (r.LogicalResourceId && r.PhysicalResourceId) created.add(r.LogicalResourceId);
    token = page.NextToken;
  } while (token);
  return created;
}

/**
 * Creates, in the embedded AWS, the user pools and app clients of `stackNames` that its
 * CloudFormation did not; returns them (none when every stack has none, or moto created them).
 */
export async function completeCognitoUserPools(
  clients: { readonly cloudformation: CloudFormationClient; readonly cognito: CognitoIdentityProviderClient },
  stackNames: readonly string[],
): Promise<CompletedResource[]> {
  const completed: CompletedResource[] = [];
  for (const stackName of stackNames) {
    const resources = await templateResources(clients.cloudformation, stackName);
    const wanted = Object.entries(resources).filter(([, r]) => r.Type === USER_POOL || r.Type === USER_POOL_CLIENT);
    if (wanted.length === 0) continue;
    const created = await createdLogicalIds(clients.cloudformation, stackName);
    const poolIds = new Map<string, string>();

    for (const [logicalId, r] of wanted.filter(([id, x]) => x.Type === USER_POOL && !created.has(id))) {
      const skipped: string[] = [];
      const properties = r.Properties ?? {};
      const name = typeof properties.UserPoolName === 'string' ? properties.UserPoolName : `${stackName}-${logicalId}`;
      const out = await clients.cognito.send(new CreateUserPoolCommand({ PoolName: name, ...settings(properties, POOL_PROPERTIES, skipped) }));
      const id = out.UserPool?.Id;
      if (!id) throw new Error(`${stackName}/${logicalId}: the embedded AWS created a user pool without an id`);
      poolIds.set(logicalId, id);
      completed.push({ stackName, logicalId, type: USER_POOL, physicalId: id, skipped });
    }

    for (const [logicalId, r] of wanted.filter(([id, x]) => x.Type === USER_POOL_CLIENT && !created.has(id))) {
      const skipped: string[] = [];
      const properties = r.Properties ?? {};
      const pool = properties.UserPoolId;
      const poolRef = typeof pool === 'object' && pool !== null ? (pool as { Ref?: unknown }).Ref : undefined;
      const userPoolId = typeof pool === 'string' ? pool : typeof poolRef === 'string' ? poolIds.get(poolRef) : undefined;
      if (!userPoolId) {
        throw new Error(`${stackName}/${logicalId}: its UserPoolId ${JSON.stringify(pool)} names no user pool the local cloud knows (a Ref to a pool of the same stack, or a pool id)`);
      }
      const out = await clients.cognito.send(new CreateUserPoolClientCommand({
        UserPoolId: userPoolId,
        ClientName: logicalId,
        ...settings(properties, CLIENT_PROPERTIES, skipped),
      }));
      const id = out.UserPoolClient?.ClientId;
      if (!id) throw new Error(`${stackName}/${logicalId}: the embedded AWS created an app client without an id`);
      completed.push({ stackName, logicalId, type: USER_POOL_CLIENT, physicalId: id, skipped });
    }
  }
  return completed;
}
