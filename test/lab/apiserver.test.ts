/**
 * The embedded API server speaks the real protocol: REST semantics, watch streams that resume
 * from a resourceVersion, 410 after compaction, bookmarks, selector transitions; and our
 * Informer (client-node's KubeConfig for credentials, its own list and watch) rides through dropped watches, 410s and the
 * server going away, without losing or duplicating state.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import https from 'node:https';
import { KubeConfig, V1Node } from '@kubernetes/client-node';
import { ApiServer } from '../../lab/apiserver/server';
import { RESOURCES } from '../../lab/apiserver/resources';
import { makeApiCredentials, renderKubeconfig } from '../../lab/apiserver/tls';
import { Informer } from '../../controllers/informer';
import { until } from '../../lab/wait';

jest.setTimeout(60000);

const quiet = { info: () => undefined, warn: () => undefined };
const nodesResource = () => RESOURCES.find((r) => r.plural === 'nodes')!;

describe('embedded API server', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'krt-api-'));
  let server: ApiServer;
  let ca: Buffer;
  let token: string;
  let kc: KubeConfig;

  beforeAll(async () => {
    const creds = await makeApiCredentials(dir, ['127.0.0.1']);
    token = fs.readFileSync(creds.tokenFile, 'utf8');
    ca = fs.readFileSync(creds.caCert);
    server = new ApiServer({ token, bookmarkIntervalMs: 200 });
    await server.listenTls('127.0.0.1', 0, fs.readFileSync(creds.serverCert), fs.readFileSync(creds.serverKey));
    const file = path.join(dir, 'kubeconfig');
    fs.writeFileSync(file, renderKubeconfig(`https://127.0.0.1:${server.port}`, creds.caCert, token));
    kc = new KubeConfig();
    kc.loadFromFile(file);
  });
  afterAll(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function request(
    method: string,
    p: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; json: any }> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        // No keep-alive: a pooled socket the server cut (down()) would fail the next request.
        {
          host: '127.0.0.1',
          port: server.port,
          path: p,
          method,
          ca,
          agent: false,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
        },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode!, json: text ? JSON.parse(text) : undefined }));
        },
      );
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  /** Opens a watch and collects its events until `stop` is called. */
  function watch(p: string): { events: any[]; closed: Promise<void>; stop: () => void } {
    const events: any[] = [];
    let req!: ReturnType<typeof https.request>;
    const closed = new Promise<void>((resolve) => {
      req = https.request({ host: '127.0.0.1', port: server.port, path: p, ca, headers: { authorization: `Bearer ${token}` } }, (res) => {
        let buf = '';
        res.on('data', (c) => {
          buf += c;
          for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
            events.push(JSON.parse(buf.slice(0, i)));
            buf = buf.slice(i + 1);
          }
        });
        res.on('end', () => resolve());
        res.on('close', () => resolve());
      });
      req.on('error', () => resolve());
      req.end();
    });
    return { events, closed, stop: () => req.destroy() };
  }

  const node = (name: string, extra: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name, ...extra } });

  it('refuses requests without the bearer token', async () => {
    const r = await new Promise<number>((resolve) =>
      https.get({ host: '127.0.0.1', port: server.port, path: '/api/v1/nodes', ca }, (res) => resolve(res.statusCode!)),
    );
    expect(r).toBe(401);
  });

  it('creates, reads, lists, replaces with optimistic concurrency, patches and deletes', async () => {
    const created = await request('POST', '/api/v1/nodes', node('n1', { labels: { a: 'b' } }));
    expect(created.status).toBe(201);
    expect(created.json.metadata).toMatchObject({ name: 'n1', resourceVersion: expect.stringMatching(/^\d+$/), uid: expect.any(String) });
    expect((await request('POST', '/api/v1/nodes', node('n1'))).json).toMatchObject({ kind: 'Status', code: 409, reason: 'AlreadyExists' });
    const list = await request('GET', '/api/v1/nodes');
    expect(list.json).toMatchObject({ kind: 'NodeList', metadata: { resourceVersion: created.json.metadata.resourceVersion } });
    const stale = { ...created.json, spec: { podCIDR: '10.0.0.0/24' }, metadata: { ...created.json.metadata, resourceVersion: '1' } };
    expect((await request('PUT', '/api/v1/nodes/n1', stale)).json).toMatchObject({ code: 409, reason: 'Conflict' });
    const patched = await request(
      'PATCH',
      '/api/v1/nodes/n1',
      { metadata: { annotations: { 'kube-router.io/node.asn': '65000' } } },
      { 'content-type': 'application/merge-patch+json' },
    );
    expect(patched.json.metadata.annotations).toEqual({ 'kube-router.io/node.asn': '65000' });
    expect(Number(patched.json.metadata.resourceVersion)).toBeGreaterThan(Number(created.json.metadata.resourceVersion));
    expect((await request('DELETE', '/api/v1/nodes/n1')).status).toBe(200);
    expect((await request('GET', '/api/v1/nodes/n1')).json).toMatchObject({ code: 404, reason: 'NotFound' });
  });

  it('keeps status behind the status subresource, as the real API server does for pods', async () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p1' },
      spec: { nodeName: 'n9' },
      status: { phase: 'Running', podIP: '10.1.1.1' },
    };
    const created = await request('POST', '/api/v1/namespaces/default/pods', pod);
    expect(created.json.status).toEqual({ phase: 'Pending' });
    const viaMain = await request(
      'PATCH',
      '/api/v1/namespaces/default/pods/p1',
      { spec: { nodeName: 'n9' }, status: { phase: 'Failed' } },
      { 'content-type': 'application/merge-patch+json' },
    );
    expect(viaMain.json.status).toEqual({ phase: 'Pending' });
    const viaStatus = await request(
      'PATCH',
      '/api/v1/namespaces/default/pods/p1/status',
      { spec: { nodeName: 'other' }, status: { phase: 'Running', podIP: '10.1.1.1' } },
      { 'content-type': 'application/merge-patch+json' },
    );
    expect(viaStatus.status).toBe(200);
    expect(viaStatus.json).toMatchObject({ spec: { nodeName: 'n9' }, status: { phase: 'Running', podIP: '10.1.1.1' } });
    expect(viaStatus.json.metadata.generation).toBe(created.json.metadata.generation + 1);
    expect((await request('GET', '/api/v1/namespaces/default/pods/p1/logs')).status).toBe(404);
    expect((await request('DELETE', '/api/v1/namespaces/default/pods/p1')).status).toBe(200);
  });

  it('serves namespaced resources, selectors and the discovery group', async () => {
    await request('POST', '/api/v1/namespaces/default/pods', { metadata: { name: 'p1', labels: { app: 'web' } }, spec: { nodeName: 'a' } });
    await request('POST', '/api/v1/namespaces/default/pods', { metadata: { name: 'p2', labels: { app: 'db' } }, spec: { nodeName: 'b' } });
    await request('POST', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', {
      metadata: { name: 's1', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      endpoints: [],
    });
    expect((await request('GET', '/api/v1/pods?fieldSelector=spec.nodeName%3Da')).json.items.map((p: any) => p.metadata.name)).toEqual([
      'p1',
    ]);
    expect(
      (await request('GET', '/api/v1/namespaces/default/pods?labelSelector=app!%3Dweb')).json.items.map((p: any) => p.metadata.name),
    ).toEqual(['p2']);
    expect(
      (await request('GET', '/apis/discovery.k8s.io/v1/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dweb')).json.items,
    ).toHaveLength(1);
  });

  it('watches from a resourceVersion, in order, with bookmarks when asked', async () => {
    const rv = (await request('GET', '/api/v1/nodes')).json.metadata.resourceVersion;
    const w = watch(`/api/v1/nodes?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`);
    await request('POST', '/api/v1/nodes', node('w1'));
    await request('PATCH', '/api/v1/nodes/w1', { metadata: { labels: { x: 'y' } } }, { 'content-type': 'application/merge-patch+json' });
    await request('DELETE', '/api/v1/nodes/w1');
    await until(() => w.events.filter((e) => e.type !== 'BOOKMARK').length >= 3 && w.events.some((e) => e.type === 'BOOKMARK'), 5000);
    w.stop();
    expect(w.events.filter((e) => e.type !== 'BOOKMARK').map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual([
      'ADDED w1',
      'MODIFIED w1',
      'DELETED w1',
    ]);
    const bookmark = w.events.find((e) => e.type === 'BOOKMARK');
    expect(bookmark.object).toMatchObject({ kind: 'Node', metadata: { resourceVersion: expect.any(String) } });
    // Resuming from the version of the first event replays what followed.
    const first = w.events[0].object.metadata.resourceVersion;
    const again = watch(`/api/v1/nodes?watch=true&resourceVersion=${first}`);
    await until(() => again.events.length >= 2, 5000);
    again.stop();
    expect(again.events.map((e) => e.type)).toEqual(['MODIFIED', 'DELETED']);
  });

  it('reports objects leaving a label selector as DELETED', async () => {
    const rv = (await request('POST', '/api/v1/nodes', node('sel', { labels: { role: 'edge' } }))).json.metadata.resourceVersion;
    const w = watch(`/api/v1/nodes?watch=true&resourceVersion=${Number(rv) - 1}&labelSelector=role%3Dedge`);
    await request(
      'PATCH',
      '/api/v1/nodes/sel',
      { metadata: { labels: { role: 'core' } } },
      { 'content-type': 'application/merge-patch+json' },
    );
    await until(() => w.events.length >= 2, 5000);
    w.stop();
    expect(w.events.map((e) => e.type)).toEqual(['ADDED', 'DELETED']);
    await request('DELETE', '/api/v1/nodes/sel');
  });

  it('answers a watch from a compacted version with 410 Expired and closes it', async () => {
    const rv = (await request('GET', '/api/v1/nodes')).json.metadata.resourceVersion;
    await request('POST', '/api/v1/nodes', node('c1'));
    server.store.compact();
    const w = watch(`/api/v1/nodes?watch=true&resourceVersion=${rv}`);
    await w.closed;
    expect(w.events).toEqual([{ type: 'ERROR', object: expect.objectContaining({ kind: 'Status', code: 410, reason: 'Expired' }) }]);
    await request('DELETE', '/api/v1/nodes/c1');
  });

  describe('Informer (list and watch, credentials from client-node)', () => {
    let informer: Informer<V1Node>;
    const names = () =>
      informer
        .list()
        .map((n) => n.metadata!.name)
        .sort();

    beforeAll(async () => {
      for (const n of ['i1', 'i2', 'i3']) await request('POST', '/api/v1/nodes', node(n));
      informer = new Informer<V1Node>(kc, {
        name: 'nodes',
        path: '/api/v1/nodes',
        backoff: () => 200,
        log: quiet,
      });
      await informer.start();
    });
    afterAll(() => informer.stop());

    it('lists, then follows changes with a coalesced signal', async () => {
      expect(informer.synced).toBe(true);
      expect(names()).toEqual(['i1', 'i2', 'i3']);
      let signals = 0;
      informer.on('changed', () => signals++);
      for (const n of ['i4', 'i5', 'i6']) await request('POST', '/api/v1/nodes', node(n));
      await until(() => names().length === 6, 5000);
      expect(signals).toBeGreaterThanOrEqual(1);
      expect(informer.lists).toBe(1);
    });

    it('resumes a dropped watch from its resourceVersion without listing again', async () => {
      server.dropWatches();
      await request('DELETE', '/api/v1/nodes/i6');
      await until(() => !names().includes('i6'), 5000);
      expect(informer.lists).toBe(1);
    });

    it('after 410 it lists again: nothing lost, nothing duplicated', async () => {
      // Changes the informer misses while the server is away, then compacted out of the history:
      // its resourceVersion is too old when it comes back.
      server.down();
      server.store.delete(nodesResource(), undefined, 'i5');
      server.store.create(nodesResource(), undefined, node('i7'));
      server.store.compact();
      await server.up();
      await until(() => informer.lists === 2 && names().includes('i7') && !names().includes('i5'), 15000);
      expect(server.stats.expired).toBeGreaterThanOrEqual(1);
      expect(names()).toEqual(['i1', 'i2', 'i3', 'i4', 'i7']);
      expect(informer.list()).toHaveLength(5);
    });

    it('a restart that throws (credentials unreadable, say) is retried, never left as an unhandled rejection', async () => {
      // The agent treats an unhandled rejection as fatal; client-node rejects start() when it
      // cannot prepare the watch request (a token file missing while it is rotated, say).
      const unhandled: unknown[] = [];
      const track = (e: unknown): void => void unhandled.push(e);
      process.on('unhandledRejection', track);
      const [fetchOptions, httpsOptions] = [kc.applyToFetchOptions.bind(kc), kc.applyToHTTPSOptions.bind(kc)];
      const before = informer.restarts;
      kc.applyToFetchOptions = kc.applyToHTTPSOptions = async () => {
        throw new Error('ENOENT: token file missing');
      };
      try {
        // Dropped at every poll: a watch the informer was still opening when the credentials
        // were swapped (after the previous test's list) would otherwise stay open and never fail.
        await until(
          () => {
            server.dropWatches();
            return informer.restarts >= before + 3;
          },
          10000,
          'three failed restarts',
        );
        await new Promise((r) => setImmediate(r));
      } finally {
        kc.applyToFetchOptions = fetchOptions;
        kc.applyToHTTPSOptions = httpsOptions;
        process.off('unhandledRejection', track);
      }
      expect(unhandled).toEqual([]);
      await request('POST', '/api/v1/nodes', node('i9'));
      await until(() => names().includes('i9'), 15000);
      await request('DELETE', '/api/v1/nodes/i9');
      await until(() => !names().includes('i9'), 15000);
    });

    it('a server that accepts and never answers: lists and watches time out, the informer retries and recovers', async () => {
      // Short deadlines so the test does not wait a minute: the same code with the defaults.
      const timed = new Informer<V1Node>(kc, {
        name: 'nodes',
        path: '/api/v1/nodes',
        listTimeoutMs: 500,
        backoff: () => 100,
        watchTimeouts: { idleMs: 500, serverSeconds: [1, 1], graceMs: 500 },
        log: quiet,
      });
      server.hang();
      try {
        const t0 = Date.now();
        await timed.start();
        expect(Date.now() - t0).toBeLessThan(3000);
        expect(timed.synced).toBe(false);
        await until(() => timed.restarts >= 2, 5000, 'failed list attempts');
        expect(timed.lastError).toMatch(/abort|timeout|time/i);
        server.hang(false);
        await until(() => timed.synced, 10000, 'a list once the server answers');
        const rv = (await request('GET', '/api/v1/nodes')).json.metadata.resourceVersion;
        // Now the watch: the server stops answering mid-stream; the stream is given up and a
        // new one made once it answers again, so a change made meanwhile still arrives.
        const before = timed.restarts;
        server.hang();
        server.store.create(nodesResource(), undefined, node('hang1'));
        await until(() => timed.restarts > before, 8000, 'the silent watch to be given up');
        server.hang(false);
        await until(() => timed.list().some((n) => n.metadata?.name === 'hang1'), 10000, 'the change made while the server hung');
        expect(Number(rv)).toBeGreaterThan(0);
      } finally {
        server.hang(false);
        await timed.stop();
        if (timed.list().some((n) => n.metadata?.name === 'hang1')) server.store.delete(nodesResource(), undefined, 'hang1');
      }
    });

    it('caches what its label selector matches, without managedFields or what its transform drops', async () => {
      const managedFields = [{ manager: 'kubectl', operation: 'Apply', fieldsV1: { 'f:metadata': {} } }];
      await request('POST', '/api/v1/nodes', node('sel1', { labels: { role: 'edge' }, managedFields }));
      await request('POST', '/api/v1/nodes', node('sel2', { labels: { role: 'core' }, managedFields }));
      const edge = new Informer<V1Node>(kc, {
        name: 'nodes',
        path: '/api/v1/nodes',
        labelSelector: 'role=edge',
        transform: (n) => ({ ...n, status: undefined }),
        backoff: () => 200,
        log: quiet,
      });
      try {
        await edge.start();
        expect(edge.list().map((n) => n.metadata!.name)).toEqual(['sel1']);
        expect(edge.get('sel1')!.metadata!.managedFields).toBeUndefined();
        // Watched changes go through the same trimming; one leaving the selector is deleted.
        await request(
          'PATCH',
          '/api/v1/nodes/sel2',
          { metadata: { labels: { role: 'edge' } } },
          { 'content-type': 'application/merge-patch+json' },
        );
        await until(() => edge.get('sel2') !== undefined, 5000);
        expect(edge.get('sel2')!.metadata!.managedFields).toBeUndefined();
        await request(
          'PATCH',
          '/api/v1/nodes/sel1',
          { metadata: { labels: { role: 'core' } } },
          { 'content-type': 'application/merge-patch+json' },
        );
        await until(() => edge.get('sel1') === undefined, 5000);
        expect(edge.lists).toBe(1);
      } finally {
        await edge.stop();
        await request('DELETE', '/api/v1/nodes/sel1');
        await request('DELETE', '/api/v1/nodes/sel2');
      }
    });

    it('rides out the API server going away and coming back', async () => {
      server.down();
      await until(() => informer.restarts > 0, 10000);
      await server.up();
      await request('POST', '/api/v1/nodes', node('i8'));
      await until(() => names().includes('i8'), 15000);
      expect(names()).toEqual(['i1', 'i2', 'i3', 'i4', 'i7', 'i8']);
    });
  });
});
