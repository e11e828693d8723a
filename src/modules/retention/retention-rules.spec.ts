import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, POLICY_LIMITS } from '../config/app-config';
import {
  LIFECYCLE_BACKSTOP_RULES,
  onTimeToleranceMs,
  oplogMaxAgeSeconds,
  RETENTION_RULE_NAMES,
  RETENTION_RULES,
  retentionDurations,
  ruleOf,
} from './retention-rules';

const base = { DATA_DIR: '/tmp/unused' };

function refusal(env: Record<string, string>): string {
  try {
    loadConfig({ ...base, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('expected the configuration to be refused');
}

describe('retention rules table', () => {
  it('has one row per rule of the policy, with the clock-starting and closing events and the deadline variable', () => {
    expect(RETENTION_RULES.map((r) => r.rule)).toEqual([...RETENTION_RULE_NAMES]);
    expect(ruleOf('original-after-processing')).toMatchObject({ clockStartsAt: ['ImageUploaded', expect.stringContaining('JobCompleted')], closedBy: ['ImageDeleted'], deadlineVariable: 'RETENTION_ORIGINAL_MAX' });
    expect(ruleOf('temp-files')).toMatchObject({ clockStartsAt: ['JobCompleted', 'JobFailed', 'JobCancelled'], closedBy: ['TempFileDeleted'], deadlineVariable: 'RETENTION_TEMP_MAX' });
    expect(ruleOf('operation-logs')).toMatchObject({ closedBy: ['OperationLogsPurged'], deadlineVariable: 'RETENTION_OPLOG_MAX' });
    expect(ruleOf('artworks')).toMatchObject({ deadlineVariable: null });
    expect(() => ruleOf('nope' as never)).toThrow(/Unknown retention rule/);
  });

  it('defaults to the policy: originals PT24H, operation logs P7D, temp-file backstop PT1M, sweep PT30S', () => {
    const config = loadConfig(base);
    expect(retentionDurations(config)).toEqual({ originalMs: 24 * 3_600_000, tempFilesMs: 60_000, oplogMs: 7 * 86_400_000, toleranceMs: 35_000 });
    expect(config.retention.sweepIntervalMs).toBe(30_000);
    expect(ruleOf('artworks').durationMs(config)).toBeNull();
    expect(oplogMaxAgeSeconds(config)).toBe(604_800);
  });

  it('durations may be set shorter', () => {
    const config = loadConfig({ ...base, RETENTION_ORIGINAL_MAX: 'PT5S', RETENTION_SWEEP_INTERVAL: 'PT1S', RETENTION_OPLOG_MAX: 'PT1.5S', RETENTION_TEMP_MAX: 'PT0S' });
    expect(retentionDurations(config)).toEqual({ originalMs: 5000, tempFilesMs: 0, oplogMs: 1000, toleranceMs: 6000 });
    // $maxAge is whole seconds, rounded down: never longer than configured.
    expect(oplogMaxAgeSeconds(config)).toBe(1);
    expect(onTimeToleranceMs(config)).toBe(6000);
  });

  it.each([
    ['RETENTION_ORIGINAL_MAX', 'PT24H0.001S'],
    ['RETENTION_ORIGINAL_MAX', 'P2D'],
    ['RETENTION_OPLOG_MAX', 'P8D'],
    ['RETENTION_TEMP_MAX', 'PT6M'],
  ])('a longer %s=%s is refused at boot with a message naming the variable and the policy', (name, value) => {
    const message = refusal({ [name]: value });
    expect(message).toContain(`${name}=${value} is longer than the published privacy policy allows`);
    expect(message).toContain('never longer');
  });

  it('the policy limits themselves are accepted', () => {
    expect(() => loadConfig({ ...base, RETENTION_ORIGINAL_MAX: 'PT24H', RETENTION_OPLOG_MAX: 'P7D', RETENTION_TEMP_MAX: 'PT5M' })).not.toThrow();
    expect(POLICY_LIMITS).toEqual({ originalMaxMs: 86_400_000, oplogMaxMs: 604_800_000, tempFileMaxMs: 300_000 });
  });

  it('malformed durations are refused naming the variable', () => {
    expect(refusal({ RETENTION_SWEEP_INTERVAL: '30 seconds' })).toContain('RETENTION_SWEEP_INTERVAL');
    expect(refusal({ RETENTION_ORIGINAL_MAX: 'P1M' })).toContain('RETENTION_ORIGINAL_MAX');
  });

  it('the OSS lifecycle backstop expires originals/ and tmp/ after 2 days', () => {
    expect(LIFECYCLE_BACKSTOP_RULES.map((r) => [r.prefix, r.days])).toEqual([
      ['originals/', 2],
      ['tmp/', 2],
    ]);
  });
});
