/**
 * The catalogue covers the API: every route of the OpenAPI document (/docs-json) has at least one
 * hostile case, every case names a real route, and there are at least 60 cases. A new endpoint
 * without a hostile case fails here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app';
import { CATALOGUE } from './catalogue';
import { UNDOCUMENTED_ENDPOINTS } from './transport.cases';

describe('hostile-input catalogue coverage', () => {
  let t: TestApp;
  let documented: string[];
  let doc: { info: Record<string, unknown>; paths: Record<string, Record<string, { responses?: Record<string, { description?: string }> }>> };

  beforeAll(async () => {
    t = await startTestApp();
    const res = await t.http().get('/docs-json');
    expect(res.status).toBe(200);
    doc = res.body;
    documented = Object.entries(res.body.paths as Record<string, Record<string, unknown>>).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    );
  });
  afterAll(async () => {
    await t?.close();
  });

  it('has at least 60 cases, each with a 4xx status and an upper-snake code', () => {
    expect(CATALOGUE.length).toBeGreaterThanOrEqual(60);
    for (const c of CATALOGUE) {
      expect(c.status, c.input).toBeGreaterThanOrEqual(400);
      expect(c.status, c.input).toBeLessThan(500);
      expect(c.code, c.input).toMatch(/^[A-Z][A-Z0-9_]*$/);
    }
  });

  it('names only routes that exist', () => {
    const known = new Set<string>([...documented, ...UNDOCUMENTED_ENDPOINTS]);
    expect(CATALOGUE.map((c) => c.endpoint).filter((e) => !known.has(e))).toEqual([]);
  });

  it('has a case for every route of the OpenAPI document', () => {
    const covered = new Set(CATALOGUE.map((c) => c.endpoint));
    expect(documented.length).toBeGreaterThan(30);
    expect(documented.filter((route) => !covered.has(route))).toEqual([]);
  });

  it('expects, for every case, a status and code the OpenAPI document names (for the route, or for every request)', () => {
    const everywhere = (doc.info['x-problems'] ?? []) as Array<{ status: number; code: string }>;
    const undocumented = CATALOGUE.filter((c) => {
      // The static Swagger UI assets are not API routes: nothing to document there.
      if (c.endpoint === 'GET /docs/{asset}') return false;
      if (everywhere.some((p) => p.status === c.status && p.code === c.code)) return false;
      const [method, path] = c.endpoint.split(' ');
      const description = doc.paths[path]?.[method.toLowerCase()]?.responses?.[String(c.status)]?.description ?? '';
      return !new RegExp(`\\b${c.code}\\b`).test(description);
    });
    expect(undocumented.map((c) => `${c.endpoint} ${c.status} ${c.code} (${c.input})`)).toEqual([]);
  });

  it('has no two cases with the same endpoint and input', () => {
    const names = CATALOGUE.map((c) => `${c.endpoint} — ${c.input}`);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });
});
