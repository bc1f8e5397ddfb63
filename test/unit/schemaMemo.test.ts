import { McpServer } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { shareOutputSchemaJson } from '../../src/schemaMemo.js';

const output = z.object({ outcome: z.enum(['found', 'not_found']), count: z.number().int() });
const other = z.object({ text: z.string() });

function register(schema: z.ZodObject) {
  const server = new McpServer({ name: 't', version: '1' });
  return shareOutputSchemaJson(server.registerTool('look', { description: 'Looks.', outputSchema: schema }, async () => ({ content: [] })));
}

describe('shareOutputSchemaJson', () => {
  it('converts a tool output schema once for every server instance built with it', () => {
    const first = register(output);
    const second = register(output);
    const third = register(output);
    expect(second.outputSchemaJson).toMatchObject({ type: 'object', properties: { outcome: { enum: ['found', 'not_found'] } } });
    expect(third.outputSchemaJson).toBe(second.outputSchemaJson);
    expect(first.outputSchemaJson).toBe(second.outputSchemaJson);
  });

  it('never hands one schema the JSON of another', () => {
    register(output);
    const a = register(output);
    register(other);
    const b = register(other);
    expect(b.outputSchemaJson).toMatchObject({ properties: { text: { type: 'string' } } });
    expect(b.outputSchemaJson).not.toEqual(a.outputSchemaJson);
  });
});
