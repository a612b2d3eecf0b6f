/**
 * Roles whose grants land in a customer-managed policy instead of an inline one, for users whose
 * compliance rules forbid inline policies (cdk-nag's IAMNoInlinePolicy in the HIPAA, NIST and PCI
 * packs). Every `grant...()` on such a role, from the catalog or the user, goes to one managed
 * policy attached to it, so nothing needs an escape hatch.
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';

/** An iam.Role that keeps its principal policy in a customer-managed policy (`<role>/Policy`). */
class RoleWithManagedPolicy extends iam.Role {
  private managedPolicy?: iam.ManagedPolicy;

  public override addToPrincipalPolicy(statement: iam.PolicyStatement): iam.AddToPrincipalPolicyResult {
    this.managedPolicy ??= new iam.ManagedPolicy(this, 'Policy', {
      description: `Permissions of ${this.node.path}`,
      roles: [this],
    });
    this.managedPolicy.addStatements(statement);
    return { statementAdded: true, policyDependable: this.managedPolicy };
  }
}

/** A new role; with `customerManagedPolicies`, its grants go to a managed policy, not an inline one. */
export function newRole(scope: Construct, id: string, props: iam.RoleProps & { readonly customerManagedPolicies?: boolean }): iam.Role {
  const { customerManagedPolicies, ...roleProps } = props;
  return customerManagedPolicies ? new RoleWithManagedPolicy(scope, id, roleProps) : new iam.Role(scope, id, roleProps);
}

/** A policy attached to `role` for statements of their own: managed or inline, as asked. */
export function newAttachedPolicy(scope: Construct, id: string, role: iam.IRole, customerManagedPolicies: boolean): iam.Policy | iam.ManagedPolicy {
  return customerManagedPolicies
    ? new iam.ManagedPolicy(scope, id, { roles: [role] })
    : new iam.Policy(scope, id, { roles: [role] });
}
