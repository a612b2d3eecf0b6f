/**
 * The workload contract between the constructs (lib/) and the tools that run what they
 * deploy elsewhere (local/, the local cloud). A construct whose resources something must run
 * (a worker agent, a web server, a poller) declares it as CloudFormation resource Metadata on
 * its primary resource, under {@link WORKLOAD_METADATA_KEY}: a kind, a version and typed
 * fields whose values may be references (`Ref`, `Fn::GetAtt`, `Fn::Sub`...) to the stack's
 * resources. A reader resolves them against the deployed stack, so it runs what was deployed,
 * not what the props said.
 *
 * A pattern declares its kind once in `contracts/<pattern>.ts` with {@link defineWorkloadKind};
 * lib/ writes declarations of it (lib/core/workload.ts: `declareWorkload`), local/ reads them
 * (`inventory.declarations(kind)`). Plain TypeScript: no aws-cdk-lib, no SDK.
 */

/** The resource Metadata key that holds a workload declaration. */
export const WORKLOAD_METADATA_KEY = 'cdk-cloud-patterns:workload';

/** A value of a declaration field: plain JSON, where strings may be deploy-time references. */
export type WorkloadField = string | number | boolean | null | readonly WorkloadField[] | { readonly [key: string]: WorkloadField };

/**
 * A declared workload: which kind, which version of that kind's fields, and the fields.
 * A kind's version goes up when a field changes meaning or a required field is added; a reader
 * runs only the versions it knows and says so for the others.
 */
export interface WorkloadDeclaration<K extends string = string, V extends number = number> {
  readonly kind: K;
  readonly version: V;
}

/** The fields of a declaration, without its kind and version. */
export type WorkloadFields<D extends WorkloadDeclaration> = Omit<D, 'kind' | 'version'>;

/**
 * A kind of workload, as both sides name it: the writer declares with it, the reader selects
 * with it. Create one per kind with {@link defineWorkloadKind}.
 */
export interface WorkloadKindContract<D extends WorkloadDeclaration = WorkloadDeclaration> {
  readonly kind: D['kind'];
  /** The version this code writes and reads. */
  readonly version: D['version'];
  /** A complete declaration from its fields. */
  declare(fields: WorkloadFields<D>): D;
}

/**
 * Names a workload kind and its current version, typed by its declaration interface.
 *
 * @example
 * export interface QueuePollerWorkload extends WorkloadDeclaration<'my-pattern/poller', 1> {
 *   readonly queueUrl: string;
 * }
 * // Annotated: the runtime and the local cloud emit their declarations file by file
 * // (isolatedDeclarations, scripts/build.ts).
 * export const QUEUE_POLLER_WORKLOAD: WorkloadKindContract<QueuePollerWorkload> = defineWorkloadKind<QueuePollerWorkload>('my-pattern/poller', 1);
 */
export function defineWorkloadKind<D extends WorkloadDeclaration>(kind: D['kind'], version: D['version']): WorkloadKindContract<D> {
  if (!/^[a-z0-9-]+\/[a-z0-9-]+$/.test(kind)) {
    throw new Error(`a workload kind is "<pattern>/<workload>" in lower-case letters, digits and "-", received ${JSON.stringify(kind)}`);
  }
  if (!Number.isInteger(version) || version < 1) throw new Error(`a workload kind's version is a whole number from 1, received ${version}`);
  return {
    kind,
    version,
    declare: (fields) => ({ ...fields, kind, version }) as unknown as D,
  };
}

/** True when `value` has the shape of a declaration (a kind and a version); its fields are the kind's to check. */
export function isWorkloadDeclaration(value: unknown): value is WorkloadDeclaration {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { kind?: unknown; version?: unknown };
  return typeof v.kind === 'string' && typeof v.version === 'number';
}
