import { afterEach, describe, expect, it } from 'vitest';
import { ERAS, startHarness, type Harness } from '../support/harness.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe.each(ERAS)('tools/list over a %s-era connection', (era) => {
  it('offers the two write tools, titled and annotated as restorative, idempotent writes', async () => {
    harness = await startHarness({ era });
    expect(harness.client.getNegotiatedProtocolVersion()).toBe(era === 'modern' ? '2026-07-28' : '2025-11-25');
    const { tools } = await harness.client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['unblock_device', 'unlock_user']);
    for (const tool of tools) {
      expect(tool.title).toBeTruthy();
      expect(tool.annotations).toEqual({ readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true });
      expect(tool.inputSchema.additionalProperties).toBe(false);
      expect(tool.outputSchema?.required).toEqual(expect.arrayContaining(['outcome', 'auditId', 'summary']));
    }
  });
});
