import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';

function capture(): { stream: PassThrough; lines: () => Array<Record<string, unknown>> } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return { stream, lines: () => text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('the operational log (pino, loaded on first use)', () => {
  it('writes a warning at once, as pino JSON with secrets redacted', async () => {
    const { stream, lines } = capture();
    const logger = createLogger('info', stream);
    logger.warn({ clientSecret: 's3cr3t-value', user: 'jdoe' }, 'careful');
    await sleep(0);
    expect(lines()).toHaveLength(1);
    expect(lines()[0]).toMatchObject({ level: 40, name: 'pingone-helpdesk-mcp', msg: 'careful', user: 'jdoe', clientSecret: '[redacted]' });
    expect(JSON.stringify(lines())).not.toContain('s3cr3t-value');
  });

  it('holds an info line logged during start-up and writes it later with the time it was logged', async () => {
    const { stream, lines } = capture();
    const logger = createLogger('info', stream);
    const before = Date.now();
    logger.info({ step: 1 }, 'starting');
    const after = Date.now();
    await sleep(0);
    expect(lines()).toHaveLength(0);
    await sleep(600);
    expect(lines()).toHaveLength(1);
    const [line] = lines();
    expect(line).toMatchObject({ level: 30, msg: 'starting', step: 1 });
    expect(line!.time).toBeGreaterThanOrEqual(before);
    expect(line!.time).toBeLessThanOrEqual(after);
  });

  it('keeps the order of held lines when a warning loads pino early', async () => {
    const { stream, lines } = capture();
    const logger = createLogger('debug', stream);
    logger.info('first');
    logger.debug({ n: 2 }, 'second');
    logger.error('third');
    await sleep(0);
    expect(lines().map((l) => l.msg)).toEqual(['first', 'second', 'third']);
    logger.info('fourth');
    await sleep(0);
    expect(lines().map((l) => l.msg)).toEqual(['first', 'second', 'third', 'fourth']);
  });

  it('drops lines below its level without loading anything', async () => {
    const { stream, lines } = capture();
    const logger = createLogger('warn', stream);
    logger.info('not shown');
    logger.debug('not shown either');
    await sleep(600);
    expect(lines()).toHaveLength(0);
    logger.warn('shown');
    await sleep(0);
    expect(lines().map((l) => l.msg)).toEqual(['shown']);
  });
});
