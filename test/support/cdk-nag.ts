/**
 * cdk-nag's packs for the tests, typed here: cdk-nag's own declarations import the root of
 * aws-cdk-lib, which would put every module's declarations (a million lines) into the program of
 * `tsc --noEmit`, as lib/testing/checks.ts explains for jsii's. Only what the tests construct.
 */
import type { IPolicyValidationPlugin } from 'aws-cdk-lib/core';
import type { IConstruct } from 'constructs';

/** A pack: a validation plugin of the app it is made for. */
type NagPack = new (scope: IConstruct) => IPolicyValidationPlugin;

/** The packs cdk-nag ships. */
export interface NagPacks {
  readonly AwsSolutionsChecks: NagPack;
  readonly ServerlessChecks: NagPack;
  readonly HIPAASecurityChecks: NagPack;
  readonly NIST80053R4Checks: NagPack;
  readonly NIST80053R5Checks: NagPack;
  readonly PCIDSS321Checks: NagPack;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const nag = require('cdk-nag') as NagPacks;
