/**
 * A small client of the EC2 instance metadata service, IMDSv2 only (the token flow: PUT a
 * session token, then GET with it), which is what BootstrappedImage requires of its instances.
 * The agent reads its instance id, its Auto Scaling target lifecycle state and (on a FleetWorker)
 * its group's name from it. The endpoint is injectable (the SDK's standard
 * AWS_EC2_METADATA_SERVICE_ENDPOINT), so tests run a fake IMDSv2 server on 127.0.0.1.
 */
import { InstanceMetadataError } from './errors';

/** The SDK's standard variable for the metadata endpoint. */
export const METADATA_ENDPOINT_ENV = 'AWS_EC2_METADATA_SERVICE_ENDPOINT';
const DEFAULT_ENDPOINT = 'http://169.254.169.254';
/** Where instance metadata lists the instance's tags (when the launch template allows it). */
const INSTANCE_TAGS_PATH = '/latest/meta-data/tags/instance';

/** Options of an {@link InstanceMetadataClient}. */
export interface InstanceMetadataOptions {
  /** @default - AWS_EC2_METADATA_SERVICE_ENDPOINT, else http://169.254.169.254 */
  readonly endpoint?: string;
  /** Lifetime of a session token, in seconds. @default 21600 (six hours, IMDS's maximum) */
  readonly tokenTtlSeconds?: number;
  /** Time limit of one request, in ms (IMDS answers in microseconds when it answers at all). @default 2000 */
  readonly timeoutMs?: number;
}

/** Reads instance metadata with IMDSv2 session tokens. */
export class InstanceMetadataClient {
  public readonly endpoint: string;
  private readonly ttlSeconds: number;
  private readonly timeoutMs: number;
  private token: { readonly value: string; readonly renewAt: number } | undefined;

  constructor(options: InstanceMetadataOptions = {}) {
    this.endpoint = (options.endpoint ?? process.env[METADATA_ENDPOINT_ENV] ?? DEFAULT_ENDPOINT).replace(/\/+$/, '');
    this.ttlSeconds = options.tokenTtlSeconds ?? 21_600;
    this.timeoutMs = options.timeoutMs ?? 2000;
  }

  /** The instance's id (`i-...`). */
  public async instanceId(): Promise<string> {
    const id = await this.get('/latest/meta-data/instance-id');
    if (!id) throw new InstanceMetadataError('the metadata service has no instance-id: is this an EC2 instance?', '/latest/meta-data/instance-id', 404);
    return id.trim();
  }

  /**
   * The lifecycle state Auto Scaling moves the instance to (`InService`, `Terminated`, ...), or
   * undefined when the instance is not in an Auto Scaling group.
   */
  public async targetLifecycleState(): Promise<string | undefined> {
    return (await this.get('/latest/meta-data/autoscaling/target-lifecycle-state'))?.trim();
  }

  /**
   * The name of the instance's Auto Scaling group, from its `aws:autoscaling:groupName` tag.
   * Instance metadata shows tags only when the launch template allows it (BootstrappedImage's
   * `instanceMetadataTags: true`); throws when the tag is not there.
   */
  public async autoScalingGroupName(): Promise<string> {
    const path = `${INSTANCE_TAGS_PATH}/aws:autoscaling:groupName`;
    const name = (await this.get(path))?.trim();
    if (!name) {
      throw new InstanceMetadataError(
        'the instance metadata has no aws:autoscaling:groupName tag: the instance must be launched by an Auto Scaling group ' +
          'from a launch template that allows tags in instance metadata, or the group must be named in CLOUD_PATTERNS_AUTO_SCALING_GROUP',
        path,
        404,
      );
    }
    return name;
  }

  /** The value at `path`, or undefined when there is none (404). */
  public async get(path: string): Promise<string | undefined> {
    for (let attempt = 1; ; attempt++) {
      const token = await this.sessionToken();
      const res = await this.request('GET', path, { 'x-aws-ec2-metadata-token': token });
      if (res.status === 200) return res.body;
      if (res.status === 404) return undefined;
      // An expired or revoked token: get a new one, once.
      if (res.status === 401 && attempt === 1) {
        this.token = undefined;
        continue;
      }
      throw new InstanceMetadataError(`the metadata service answered ${path} with HTTP ${res.status}`, path, res.status);
    }
  }

  private async sessionToken(): Promise<string> {
    if (this.token && Date.now() < this.token.renewAt) return this.token.value;
    const path = '/latest/api/token';
    const res = await this.request('PUT', path, { 'x-aws-ec2-metadata-token-ttl-seconds': String(this.ttlSeconds) });
    if (res.status !== 200 || !res.body) {
      throw new InstanceMetadataError(`the metadata service refused an IMDSv2 session token (HTTP ${res.status})`, path, res.status);
    }
    // Renew a minute early, so that no request carries a token that expires on the way.
    this.token = { value: res.body, renewAt: Date.now() + Math.max(this.ttlSeconds - 60, 1) * 1000 };
    return res.body;
  }

  private async request(method: 'GET' | 'PUT', path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
    try {
      const res = await fetch(`${this.endpoint}${path}`, { method, headers, signal: AbortSignal.timeout(this.timeoutMs) });
      return { status: res.status, body: await res.text() };
    } catch (error) {
      throw new InstanceMetadataError(`the metadata service at ${this.endpoint} did not answer ${method} ${path}: ${(error as Error).message}`, path);
    }
  }
}
