/**
 * Template-test support: a fresh App and Stack per test, with CDK's built-in CloudFormation
 * validation off (it halves synth time; test/lib/stacks/catalog-app.test.ts keeps it on once).
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';

export function newStack(id = 'TestStack'): { app: App; stack: Stack } {
  process.env.CDK_VALIDATION = 'false';
  const app = new App();
  const stack = new Stack(app, id);
  return { app, stack };
}

/** The template of a stack, for fine-grained assertions. */
export function templateOf(stack: Stack): Template {
  return Template.fromStack(stack);
}
