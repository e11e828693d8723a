import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { adminUrlsFromConnectionString, credentialsFromConnectionString, EsdbAdminHttpError, startScavenge } from './esdb-admin-client';

describe('admin URLs and credentials from a connection string', () => {
  it('derives one http(s) URL per host, defaulting the port to 2113 and TLS to on', () => {
    expect(adminUrlsFromConnectionString('esdb://localhost:2113?tls=false')).toEqual(['http://localhost:2113']);
    expect(adminUrlsFromConnectionString('esdb://127.0.0.1:40111?tls=false&keepAliveTimeout=10000')).toEqual(['http://127.0.0.1:40111']);
    expect(adminUrlsFromConnectionString('esdb://admin:changeit@a:2113,b:2114,c?nodePreference=leader')).toEqual([
      'https://a:2113',
      'https://b:2114',
      'https://c:2113',
    ]);
    expect(adminUrlsFromConnectionString('esdb+discover://cluster.example:2113/?tls=false')).toEqual(['http://cluster.example:2113']);
    expect(() => adminUrlsFromConnectionString('http://nope')).toThrow();
  });

  it('reads user:password@ of the connection string', () => {
    expect(credentialsFromConnectionString('esdb://admin:chan%40geit@a:2113')).toEqual({ username: 'admin', password: 'chan@geit' });
    expect(credentialsFromConnectionString('esdb://a:2113?tls=false')).toBeUndefined();
  });
});

describe('startScavenge', () => {
  let server: Server | null = null;
  const answer = async (status: number, body: string): Promise<string> => {
    server = createServer((req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  afterEach(async () => {
    if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = null;
  });

  it('reads the scavenge id of a started scavenge', async () => {
    const url = await answer(200, '{"scavengeId":"abc","result":"Started"}');
    expect(await startScavenge(url, { timeoutMs: 2_000 })).toEqual({ scavengeId: 'abc', result: 'Started' });
  });

  it('reports a scavenge already in progress (400 with its id)', async () => {
    const url = await answer(400, '{"scavengeId":"running"}');
    expect(await startScavenge(url, { timeoutMs: 2_000 })).toEqual({ scavengeId: 'running', result: 'InProgress' });
  });

  it('classifies 401 as final and 5xx as transient', async () => {
    const denied = await answer(401, 'Unauthorized');
    const error = await startScavenge(denied, { timeoutMs: 2_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EsdbAdminHttpError);
    expect((error as EsdbAdminHttpError).transient).toBe(false);
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    const broken = await answer(503, '');
    const unavailable = await startScavenge(broken, { timeoutMs: 2_000 }).catch((e: unknown) => e);
    expect((unavailable as EsdbAdminHttpError).transient).toBe(true);
    expect((unavailable as EsdbAdminHttpError).status).toBe(503);
  });

  it('treats a refused connection as transient', async () => {
    const url = await answer(200, '{}');
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = null;
    const error = await startScavenge(url, { timeoutMs: 2_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EsdbAdminHttpError);
    expect((error as EsdbAdminHttpError).transient).toBe(true);
  });
});
