/**
 * --disable-source-dest-check against loopback doubles of EC2's instance metadata (IMDSv2) and
 * EC2's query API, reached through the AWS SDK's own endpoint settings
 * (AWS_EC2_METADATA_SERVICE_ENDPOINT, AWS_ENDPOINT_URL_EC2): the region from the metadata, one
 * signed ModifyInstanceAttribute per EC2 node, none for other nodes, a refusal for lack of
 * permission said once and not retried.
 */
import http from 'node:http';
import type net from 'node:net';
import { awsInstanceId, SourceDestCheck } from '../../src/agent/aws-src-dst';
import { captureLogger } from '../helpers/capture-logger';

interface Call {
  path: string;
  auth: string;
  form: Record<string, string>;
}

async function listen(handler: http.RequestListener): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}` };
}

const body = (req: http.IncomingMessage): Promise<string> =>
  new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });

describe('--disable-source-dest-check (EC2)', () => {
  const saved = { ...process.env };
  let imds: { server: http.Server; url: string };
  let ec2: { server: http.Server; url: string };
  const calls: Call[] = [];
  let deny = false;
  const { log, lines: logs } = captureLogger();

  beforeAll(async () => {
    imds = await listen((req, res) => {
      if (req.method === 'PUT' && req.url === '/latest/api/token') return res.end('TOKEN');
      if (req.url === '/latest/meta-data/placement/region' && req.headers['x-aws-ec2-metadata-token'] === 'TOKEN')
        return res.end('eu-west-3');
      res.writeHead(401).end();
    });
    ec2 = await listen(async (req, res) => {
      const form = Object.fromEntries(new URLSearchParams(await body(req)));
      calls.push({ path: req.url ?? '', auth: String(req.headers.authorization ?? ''), form });
      res.setHeader('content-type', 'text/xml;charset=UTF-8');
      if (deny) {
        res.writeHead(403);
        return res.end(
          '<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>r2</RequestID></Response>',
        );
      }
      res.end(
        '<?xml version="1.0" encoding="UTF-8"?><ModifyInstanceAttributeResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r1</requestId><return>true</return></ModifyInstanceAttributeResponse>',
      );
    });
    Object.assign(process.env, {
      AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url,
      AWS_ENDPOINT_URL_EC2: ec2.url,
      AWS_ACCESS_KEY_ID: 'AKIDTEST',
      AWS_SECRET_ACCESS_KEY: 'secret',
    });
    delete process.env.AWS_REGION;
    delete process.env.AWS_PROFILE;
  });

  afterAll(async () => {
    process.env = saved;
    await new Promise((r) => imds.server.close(r));
    await new Promise((r) => ec2.server.close(r));
  });

  it("reads the instance from spec.providerID as kube-router does; anything else is not EC2's", () => {
    expect(awsInstanceId('aws:///us-west-2a/i-0123456789abcdef0')).toBe('i-0123456789abcdef0');
    expect(awsInstanceId('aws://us-west-2a/i-0abc')).toBe('i-0abc');
    expect(awsInstanceId('gce://project/zone/name')).toBeUndefined();
    expect(awsInstanceId('aws:///us-west-2a/')).toBeUndefined();
    expect(awsInstanceId(undefined)).toBeUndefined();
  });

  it('turns the check off once per EC2 node, signed for the region the metadata names', async () => {
    const check = new SourceDestCheck(log, 10);
    const nodes = [
      { metadata: { name: 'a' }, spec: { providerID: 'aws:///eu-west-3a/i-0aaa' } },
      { metadata: { name: 'b' }, spec: { providerID: 'kind://docker/kind/b' } },
      { metadata: { name: 'c' }, spec: { providerID: 'aws:///eu-west-3b/i-0ccc' } },
      { metadata: { name: 'd' } },
    ];
    await check.reconcile(nodes);
    expect(calls.map((c) => c.form)).toEqual([
      { Action: 'ModifyInstanceAttribute', Version: '2016-11-15', InstanceId: 'i-0aaa', 'SourceDestCheck.Value': 'false' },
      { Action: 'ModifyInstanceAttribute', Version: '2016-11-15', InstanceId: 'i-0ccc', 'SourceDestCheck.Value': 'false' },
    ]);
    for (const c of calls)
      expect(c.auth).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/eu-west-3\/ec2\/aws4_request, SignedHeaders=.*, Signature=[0-9a-f]{64}$/,
      );
    expect(check.disabled).toEqual(['i-0aaa', 'i-0ccc']);
    expect(logs.filter((l) => l.level === 'info').map((l) => l.obj.instance)).toEqual(['i-0aaa', 'i-0ccc']);
    // Done instances are not asked again; a new node is.
    await check.reconcile([...nodes, { metadata: { name: 'e' }, spec: { providerID: 'aws:///eu-west-3a/i-0eee' } }]);
    expect(calls.map((c) => c.form.InstanceId)).toEqual(['i-0aaa', 'i-0ccc', 'i-0eee']);
  });

  it('a role without the permission: said once, nothing retried', async () => {
    calls.length = 0;
    logs.length = 0;
    deny = true;
    const check = new SourceDestCheck(log, 10);
    const nodes = [
      { metadata: { name: 'a' }, spec: { providerID: 'aws:///eu-west-3a/i-0aaa' } },
      { metadata: { name: 'c' }, spec: { providerID: 'aws:///eu-west-3b/i-0ccc' } },
    ];
    await check.reconcile(nodes);
    await check.reconcile(nodes);
    expect(calls).toHaveLength(1);
    expect(logs).toEqual([
      expect.objectContaining({ level: 'warn', msg: expect.stringContaining('lacks ec2:ModifyInstanceAttribute') as string }),
    ]);
    expect(check.disabled).toEqual([]);
  });
});
