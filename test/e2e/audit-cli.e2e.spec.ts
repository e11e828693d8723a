/**
 * The auditors' CLI (npm run audit -- …) on a running service's DATA_DIR: replay as NDJSON (all,
 * or one subject, to stdout or a file), verify (a corrupted row is reported, exit 1), rebuild a
 * projection from another process while the service runs; progress as plain lines off a terminal
 * and as a bar on one.
 */
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAuditCli } from '../../src/cli/audit';
import type { Actor } from '../../src/events/metadata';
import { EventLog } from '../../src/modules/event-store/event-log';
import type { StoredEvent } from '../../src/modules/event-store/event-store.port';
import { ProjectionRunner } from '../../src/projections/projection-runner';
import { compiledChild, PROJECT_ROOT } from '../projections/compiled-child';
import { bearer, registerSubject, STAFF, startTestApp, type TestApp } from '../support/test-app';

class Capture extends Writable {
  text = '';
  isTTY = false;
  columns = 100;
  constructor(tty = false) {
    super();
    this.isTTY = tty;
  }
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
}

describe('audit CLI (e2e)', () => {
  let t: TestApp;
  let subjectId: string;
  let cli: string;
  const env = () => ({ DATA_DIR: t.dataDir, LOG_LEVEL: 'silent' });
  const run = async (args: string[], tty = false) => {
    const stdout = new Capture();
    const stderr = new Capture(tty);
    const code = await runAuditCli(['node', 'audit', ...args], { stdout, stderr, env: env() });
    return { code, stdout: stdout.text, stderr: stderr.text };
  };
  const logEvents = async () => {
    const all: StoredEvent[] = [];
    for await (const e of t.store.readAll()) all.push(e);
    return all;
  };

  beforeAll(async () => {
    cli = compiledChild('src/cli/audit');
    t = await startTestApp();
    const a = await registerSubject(t);
    await registerSubject(t);
    subjectId = a.subjectId;
    const imageId = randomUUID();
    const actor: Actor = `subject:${subjectId}`;
    await t.app.get(EventLog).append(
      `image-${imageId}`,
      [
        {
          type: 'ImageUploaded',
          data: { imageId, subjectId, purpose: 'erase-pen', contentType: 'image/png', objectKey: `originals/${subjectId}/${imageId}`, size: 5, sha256: 'ef'.repeat(32), width: 2, height: 2, faceCount: 1, faces: [{ x: 0, y: 0, width: 1, height: 1 }] },
        },
        { type: 'ImageViewed', data: { imageId, subjectId, purpose: 'subject-view', dataPurpose: 'erase-pen' } },
      ],
      'any',
      { actor, correlationId: randomUUID(), causationId: null },
    );
    await t.settle();
  }, 240_000);

  afterAll(async () => {
    await t?.close();
  });

  it('replay writes the whole log as NDJSON to stdout, personal fields "[encrypted]"; plain progress lines off a terminal', async () => {
    const { code, stdout, stderr } = await run(['replay']);
    expect(code).toBe(0);
    const lines = stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { position: string; type: string; data: Record<string, unknown> });
    const all = await logEvents();
    expect(lines.map((l) => l.position)).toEqual(all.map((e) => `${e.position.commit}:${e.position.prepare}`));
    expect(lines.find((l) => l.type === 'ImageUploaded')?.data.faces).toBe('[encrypted]');
    expect(stdout).not.toContain('$pii');
    expect(stderr).not.toContain('\r');
    expect(stderr).toMatch(/^replay: 100\.0% \d+ events [\d,]+ events\/s elapsed \d+s\n$/m);
  });

  it('replay --subject --out writes one subject’s events to a file; on a terminal the progress is a bar with rate', async () => {
    const out = join(t.dataDir, `replay-${randomUUID()}.ndjson`);
    const { code, stdout, stderr } = await run(['replay', '--subject', subjectId, '--out', out], true);
    expect(code).toBe(0);
    expect(stdout).toBe('');
    const lines = readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { data: { subjectId?: string }; metadata: { subjectId?: string } });
    expect(lines.map((l) => l.data.subjectId ?? l.metadata.subjectId)).toEqual(Array(lines.length).fill(subjectId));
    expect(lines.length).toBe((await logEvents()).filter((e) => (e.data.subjectId ?? e.metadata.subjectId) === subjectId).length);
    expect(stderr).toContain('\r');
    expect(stderr).toMatch(/\[#{28}\] 100\.0% \d+ events [\d,]+ events\/s in \d+s, written to /);

    const refused = await run(['replay', '--out', out]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/EEXIST|exists/);
    const badSubject = await run(['replay', '--subject', 'nope']);
    expect(badSubject.code).toBe(2);
    expect(badSubject.stderr).toContain('must be a UUID');
  });

  it('verify: exit 0 and a clean report; a corrupted read-model row gives exit 1 with the row; each run is recorded unless --no-record', async () => {
    await t.settle();
    const before = (await logEvents()).length;
    const clean = await run(['verify']);
    expect(clean.code).toBe(0);
    const report = JSON.parse(clean.stdout) as { projectionsMatch: boolean; mismatches: unknown[]; eventsReplayed: number; recorded: boolean };
    expect(report).toMatchObject({ projectionsMatch: true, mismatches: [], recorded: true });
    expect(report.eventsReplayed).toBe(before);
    const recorded = (await logEvents()).slice(before);
    expect(recorded.map((e) => [e.type, e.metadata.actor, e.data.projectionsMatch])).toEqual([['VerificationCompleted', 'system:audit-cli', true]]);

    const raw = new Database(join(t.dataDir, 'readmodels.db'));
    try {
      raw.prepare("UPDATE access_log SET purpose = 'marketing' WHERE subject_id = ?").run(subjectId);
    } finally {
      raw.close();
    }
    const count = (await logEvents()).length;
    const bad = await run(['verify', '--no-record']);
    expect(bad.code).toBe(1);
    const badReport = JSON.parse(bad.stdout) as { projectionsMatch: boolean; mismatches: { projection: string; live: { purpose: string }; replayed: { purpose: string } }[] };
    expect(badReport.projectionsMatch).toBe(false);
    expect(badReport.mismatches).toHaveLength(1);
    expect(badReport.mismatches[0]).toMatchObject({ projection: 'access-log', table: 'access_log', live: { purpose: 'marketing' }, replayed: { purpose: 'subject-view' } });
    expect(bad.stderr).toContain('1 difference(s)');
    expect((await logEvents()).length).toBe(count);
  });

  it('rebuild-projections (compiled, in its own process, while the service runs) repairs the view; the service carries on without double application', async () => {
    const child = spawn(process.execPath, [cli, 'rebuild-projections', '--projection', 'access-log'], { cwd: PROJECT_ROOT, env: { ...process.env, ...env() }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(stderr).toMatch(/^rebuild access-log: .*elapsed/m);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^access-log: \d+ events applied, checkpoint \d+:\d+$/m);

    // The service keeps going: a new auditor read lands in the rebuilt view exactly once.
    const res = await t.http().get(`/v1/audit/subjects/${subjectId}/history`).set(bearer(STAFF.auditor));
    expect(res.status).toBe(200);
    await t.settle();
    const head = await t.store.headPosition();
    if (head) await t.app.get(ProjectionRunner).waitFor(head, 20_000);
    expect(t.app.get(ProjectionRunner).status().failed).toBeNull();
    const verify = await run(['verify', '--no-record']);
    expect(JSON.parse(verify.stdout).mismatches).toEqual([]);
    expect(verify.code).toBe(0);
  });

  it('answers usage errors with exit code 2', async () => {
    expect((await run(['no-such-command'])).code).toBe(2);
    expect((await run(['rebuild-projections', '--projection', 'nope'])).code).toBe(2);
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('replay');
    expect(help.stdout).toContain('rebuild-projections');
  });
});
