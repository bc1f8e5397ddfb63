import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The stdio start-up logger holds the start-up line without loading pino. A
 * process that ends before anything else was logged must still write it, as
 * pino would have (same JSON record, secrets redacted), and in order.
 */

const FIXTURE = resolve(import.meta.dirname, 'fixtures/startup-logger.ts');

function run(end: 'exit' | 'fatal' | 'throw', level = 'info'): { status: number | null; stdout: string; lines: Array<Record<string, unknown>> } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', FIXTURE], { env: { PATH: process.env.PATH ?? '', END: end, LEVEL: level }, encoding: 'utf8', timeout: 20_000 });
  const lines = result.stderr
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { status: result.status, stdout: result.stdout, lines };
}

describe('the start-up logger', () => {
  it('writes the held line through pino when the process exits before anything else was logged', () => {
    const { status, stdout, lines } = run('exit');
    expect(status).toBe(3);
    expect(JSON.parse(stdout)).toEqual({ pinoLoadedBeforeEnd: false });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 30, name: 'pingone-helpdesk-mcp', msg: 'serving MCP on stdio', environmentId: 'env-1', clientSecret: '[redacted]', nested: { token: '[redacted]' } });
    expect(JSON.stringify(lines)).not.toContain('do-not-print-me');
    expect(JSON.stringify(lines)).not.toContain('nor-me');
  });

  it('writes the held line before a fatal one, not after it', () => {
    for (const end of ['fatal', 'throw'] as const) {
      const { status, lines } = run(end);
      expect(status).toBe(1);
      expect(lines.map((line) => [line.level, line.msg])).toEqual([
        [30, 'serving MCP on stdio'],
        [60, 'uncaught exception'],
      ]);
      expect(lines[1]).toMatchObject({ err: { type: 'Error', message: end === 'fatal' ? 'boom' : 'thrown later' } });
      expect(lines[0]!.time as number).toBeLessThanOrEqual(lines[1]!.time as number);
    }
  });

  it('holds nothing below its level', () => {
    const { status, lines } = run('exit', 'warn');
    expect(status).toBe(3);
    expect(lines).toEqual([]);
  });
});
