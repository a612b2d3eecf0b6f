/**
 * Helpers for template tests of BootstrappedImage: a stack with a small VPC, and the user data
 * or component document of a template as text, with references shown as `<Ref Name>`.
 */
import type { App, Stack } from 'aws-cdk-lib/core';
import { Template } from 'aws-cdk-lib/assertions';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import { BootstrappedImage, type BootstrappedImageProps } from '../../../../lib/image-bootstrap/bootstrapped-image';
import { newStack as newTestStack, newVpc } from '../../../support/stacks';

/** A stack with a two-AZ VPC of public subnets, for an image or anything else. */
export function newVpcStack(id = 'TestStack'): { app: App; stack: Stack; vpc: ec2.Vpc } {
  const { app, stack } = newTestStack(id);
  return { app, stack, vpc: newVpc(stack) };
}

/** A stack with a BootstrappedImage `Image` made from `props`. */
export function newStack(props: Partial<BootstrappedImageProps> = {}) {
  const { app, stack, vpc } = newVpcStack();
  const image = new BootstrappedImage(stack, 'Image', { vpc, ...props });
  return { app, stack, vpc, image, template: () => Template.fromStack(stack) };
}

/** CloudFormation text (a string, `Fn::Join`, `Fn::Base64`, `Ref`, `Fn::GetAtt`) as a readable string. */
export function cfnText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(cfnText).join('');
  const obj = value as Record<string, unknown>;
  if ('Fn::Base64' in obj) return cfnText(obj['Fn::Base64']);
  if ('Fn::Join' in obj) {
    const [sep, parts] = obj['Fn::Join'] as [string, unknown[]];
    return parts.map(cfnText).join(sep);
  }
  if ('Ref' in obj) return `<Ref ${obj.Ref as string}>`;
  if ('Fn::GetAtt' in obj) return `<GetAtt ${(obj['Fn::GetAtt'] as string[]).join('.')}>`;
  return `<${JSON.stringify(obj)}>`;
}

/** The only resource of `type` in the template. */
export function onlyResource(template: Template, type: string): { Properties: Record<string, unknown>; DependsOn?: string[]; [k: string]: unknown } {
  const all = Object.values(template.findResources(type));
  if (all.length !== 1) throw new Error(`expected one ${type}, found ${all.length}`);
  return all[0] as { Properties: Record<string, unknown> };
}

/** The user data of the only launch template, as text. */
export function userData(template: Template): string {
  const lt = onlyResource(template, 'AWS::EC2::LaunchTemplate');
  return cfnText((lt.Properties.LaunchTemplateData as Record<string, unknown>).UserData);
}

/** All statements of all IAM policies attached to the role whose logical id is `roleId`. */
export function statementsOfRole(template: Template, roleId: string): { Action: string | string[]; Resource: unknown; Sid?: string }[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(`"${roleId}"`))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}
