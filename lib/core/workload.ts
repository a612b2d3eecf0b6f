/**
 * Writes a workload declaration (contracts/workload.ts) on a construct's primary resource, as
 * CloudFormation resource Metadata. Tokens in the fields (a queue's URL, a table's name)
 * render as references (`Ref`, `Fn::GetAtt`), which a reader resolves against the deployed
 * stack. Metadata costs nothing in AWS and changes nothing that runs there; it is how tools
 * such as the local cloud learn what to run, instead of output names or tags.
 */
import { Stack, type CfnResource } from 'aws-cdk-lib/core';
import { WORKLOAD_METADATA_KEY, isWorkloadDeclaration, type WorkloadDeclaration } from '../../contracts/workload';

/**
 * Declares `declaration` on `resource` (build it with the kind's `declare(fields)` from
 * contracts/<pattern>.ts). One declaration per resource: a second one throws, as it would
 * silently replace the first.
 */
export function declareWorkload<D extends WorkloadDeclaration>(resource: CfnResource, declaration: D): void {
  if (!isWorkloadDeclaration(declaration)) {
    throw new Error(`a workload declaration needs a string kind and a numeric version, received ${JSON.stringify(declaration)}`);
  }
  const existing = resource.getMetadata(WORKLOAD_METADATA_KEY) as WorkloadDeclaration | undefined;
  if (existing !== undefined) {
    throw new Error(
      `${resource.node.path} already declares a workload (${existing.kind} v${existing.version}); ` +
        `declare ${declaration.kind} on another resource (the primary resource of its own construct).`,
    );
  }
  resource.addMetadata(WORKLOAD_METADATA_KEY, declaration);
  // CloudFormation counts a reference in Metadata as a dependency: one to the resource itself is
  // a circular dependency that fails the deployment. A reader gets that resource's id anyway.
  resource.node.addValidation({
    validate: () => {
      const logicalId = Stack.of(resource).resolve(resource.logicalId) as string;
      return refersTo(Stack.of(resource).resolve(declaration), logicalId)
        ? [`its workload declaration ${declaration.kind} refers to the resource itself (${logicalId}), which CloudFormation rejects as a circular dependency: ` +
            'leave that field out (a reader gets the resource\'s own id as the declaration\'s physicalId) or declare on another resource.']
        : [];
    },
  });
}

function refersTo(value: unknown, logicalId: string): boolean {
  if (Array.isArray(value)) return value.some((v) => refersTo(v, logicalId));
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  if (v.Ref === logicalId) return true;
  const att = v['Fn::GetAtt'];
  if (Array.isArray(att) ? att[0] === logicalId : typeof att === 'string' && att.startsWith(`${logicalId}.`)) return true;
  if (typeof v['Fn::Sub'] === 'string' || Array.isArray(v['Fn::Sub'])) {
    const template = Array.isArray(v['Fn::Sub']) ? v['Fn::Sub'][0] : v['Fn::Sub'];
    if (typeof template === 'string' && new RegExp(`\\$\\{${logicalId}[.}]`).test(template)) return true;
  }
  return Object.values(v).some((x) => refersTo(x, logicalId));
}

/** The workload declared on `resource`, if any. */
export function declaredWorkload(resource: CfnResource): WorkloadDeclaration | undefined {
  const value: unknown = resource.getMetadata(WORKLOAD_METADATA_KEY);
  return isWorkloadDeclaration(value) ? value : undefined;
}
