/**
 * --disable-source-dest-check (default true, as kube-router's): on AWS, EC2 drops packets whose
 * source or destination is not the instance's own address, which is all of routed pod traffic.
 * As kube-router, every agent turns the check off for each node of the cluster whose
 * spec.providerID names an EC2 instance ("aws:///ZONE/i-..."), with EC2's
 * ModifyInstanceAttribute, through the node's own credentials (the AWS SDK's default chain:
 * environment, web identity, instance role) in the region the instance metadata names (or
 * AWS_REGION). Each instance once per run, a second apart (EC2 throttles); a refusal for lack of
 * permission is said once and not retried, other failures are thrown for the task to retry.
 * The SDK is loaded only when a node is on AWS.
 */
import http from 'node:http';
import type { Logger } from '../../bgp';

/** The EC2 instance of a node's spec.providerID ("aws:///us-west-2a/i-0abc..."), as kube-router reads it. */
export function awsInstanceId(providerId: string | undefined): string | undefined {
  return /^aws:\/\/\/?[^/]*\/(i-[0-9a-z]+)\/?$/.exec(providerId ?? '')?.[1];
}

const IMDS = 'http://169.254.169.254';
const IMDS_TIMEOUT_MS = 2000;

function imdsRequest(base: string, method: string, path: string, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(path, base), { method, headers, timeout: IMDS_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode === 200) resolve(body);
        else reject(new Error(`instance metadata ${path}: HTTP ${res.statusCode}`));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`instance metadata ${path}: no answer within ${IMDS_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** The region: AWS_REGION, else the instance metadata's (IMDSv2: a session token first). */
export async function awsRegion(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (env.AWS_REGION) return env.AWS_REGION;
  const base = env.AWS_EC2_METADATA_SERVICE_ENDPOINT || IMDS;
  const token = await imdsRequest(base, 'PUT', '/latest/api/token', { 'x-aws-ec2-metadata-token-ttl-seconds': '60' });
  return (await imdsRequest(base, 'GET', '/latest/meta-data/placement/region', { 'x-aws-ec2-metadata-token': token })).trim();
}

interface NodeLike {
  metadata?: { name?: string };
  spec?: { providerID?: string };
}

type Ec2 = { send(command: unknown): Promise<unknown> };

export class SourceDestCheck {
  private readonly done = new Set<string>();
  private denied = false;
  private client: { ec2: Ec2; command: (id: string) => unknown } | undefined;

  constructor(
    private readonly log: Logger,
    /** Between two calls (kube-router: 1 s, against EC2's throttling). */
    private readonly pauseMs = 1000,
  ) {}

  /** Instances of `nodes` whose check this agent has turned off. */
  get disabled(): string[] {
    return [...this.done];
  }

  async reconcile(nodes: readonly NodeLike[]): Promise<void> {
    if (this.denied) return;
    const todo = nodes
      .map((n) => ({ node: n.metadata?.name ?? '', id: awsInstanceId(n.spec?.providerID) }))
      .filter((x): x is { node: string; id: string } => !!x.id && !this.done.has(x.id));
    let first = true;
    for (const { node, id } of todo) {
      if (!first) await new Promise((r) => setTimeout(r, this.pauseMs));
      first = false;
      const c = await this.ec2();
      try {
        await c.ec2.send(c.command(id));
      } catch (e) {
        const err = e as Error;
        if (err.name === 'UnauthorizedOperation') {
          this.denied = true;
          this.log.warn(
            { node, instance: id, err: err.message },
            "not permitted to change EC2 instance attributes (the node's IAM role lacks ec2:ModifyInstanceAttribute): source/destination checks left as they are",
          );
          return;
        }
        throw new Error(`disabling the source/destination check of ${id} (node ${node}): ${err.name}: ${err.message}`);
      }
      this.done.add(id);
      this.log.info({ node, instance: id }, 'disabled the source/destination check of the EC2 instance');
    }
  }

  private async ec2(): Promise<NonNullable<SourceDestCheck['client']>> {
    if (this.client) return this.client;
    const region = await awsRegion();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const sdk = require('@aws-sdk/client-ec2') as typeof import('@aws-sdk/client-ec2');
    this.client = {
      ec2: new sdk.EC2Client({ region, maxAttempts: 5 }),
      command: (id) => new sdk.ModifyInstanceAttributeCommand({ InstanceId: id, SourceDestCheck: { Value: false } }),
    };
    return this.client;
  }
}
