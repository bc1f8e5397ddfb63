import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, spawnServer, stoppedAfterEach, tempAuditPath, tenantEnv, type JsonRpc, type Spawned } from './support/spawned.js';

/**
 * Three servers append to one trail while `audit rotate` runs again and again and one server is
 * killed -9 mid-load. The files, in order, must verify end to end, with times never going back.
 */
const { emulator: startEmulator, spawn } = stoppedAfterEach();

describe('three servers, one trail, rotations and a kill -9 under load', () => {
  it('leaves a chain that verifies end to end, gap-free, with times in order', async () => {
    const emulator = await startEmulator();
    const auditPath = tempAuditPath();
    const servers: Spawned[] = [];
    for (let i = 0; i < 3; i++) {
      const server = spawn({ env: tenantEnv(emulator, auditPath, { PINGONE_MCP_MAX_WRITES_PER_MINUTE: '100000' }) });
      await server.initialize(`stress-${i}`);
      servers.push(server);
    }
    const CALLS = 60;
    const answers: Promise<JsonRpc>[] = [];
    let rotations = 0;
    const rotating = (async () => {
      for (let r = 0; r < 4; r++) {
        await new Promise((resolve) => setTimeout(resolve, 1_100));
        const run = spawnSync(process.execPath, [BIN, 'audit', 'rotate', auditPath], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
        if (run.status === 0) rotations += 1;
      }
    })();
    for (let n = 0; n < CALLS; n++) {
      servers.forEach((server, s) => {
        const id = n * 10 + s;
        if (n % 3 === 0) server.callTool(id, 'unlock_user', { user: 'jdoe', reason: `INC-${id}` });
        else server.callTool(id, 'find_user', { query: 'jdoe' });
        if (s !== 2) answers.push(server.response(id, 60_000));
      });
      if (n === CALLS / 2) servers[2]?.kill('SIGKILL');
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
    const settled = await Promise.all(answers);
    await rotating;
    for (const server of servers.slice(0, 2)) server.endInput();
    await Promise.all(servers.map((server) => server.exited));

    const dir = dirname(auditPath);
    const kept = readdirSync(dir).filter((name) => name.startsWith('audit.') && name !== basename(auditPath) && name.endsWith('.jsonl')).sort();
    const files = [...kept.map((name) => join(dir, name)), auditPath];
    const verify = spawnSync(process.execPath, [BIN, 'audit', 'verify', ...files], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
    expect(rotations).toBeGreaterThan(0);

    const records = files.flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { seq: number; time: string; phase: string; auditId?: string }),
    );
    expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i + 1));
    const backwards = records.filter((r, i) => i > 0 && Date.parse(r.time) < Date.parse(records[i - 1]?.time ?? ''));
    expect(backwards).toEqual([]);
    // Every answered call of the two surviving servers has its outcome on disk.
    const failed = settled.filter((answer) => answer.error !== undefined || answer.result?.isError === true);
    expect(failed).toEqual([]);
    expect(records.filter((r) => r.phase === 'outcome').length).toBeGreaterThanOrEqual(settled.length);
  }, 180_000);
});
