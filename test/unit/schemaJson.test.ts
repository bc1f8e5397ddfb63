import type { StandardSchemaWithJSON } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { convertedOnce } from '../../src/tools/schemaJson.js';
import { unlockUserTool } from '../../src/tools/unlockUser.js';

const standardOf = (schema: z.ZodObject) => (schema as unknown as StandardSchemaWithJSON)['~standard'];
const DRAFT = { target: 'draft-2020-12' } as const;

describe('convertedOnce', () => {
  it('converts once per target and hands every later caller the same JSON Schema', () => {
    const schema = z.object({ outcome: z.enum(['found', 'not_found']), count: z.number().int() });
    const shared = convertedOnce(standardOf(schema));
    const first = shared.jsonSchema.output(DRAFT);
    expect(first).toMatchObject({ type: 'object', properties: { outcome: { enum: ['found', 'not_found'] } } });
    expect(shared.jsonSchema.output(DRAFT)).toBe(first);
    expect(shared.jsonSchema.input(DRAFT)).toBe(shared.jsonSchema.input(DRAFT));
    // Another target is another conversion, never the first one's result.
    expect(shared.jsonSchema.output({ target: 'draft-07' })).not.toBe(first);
    expect(shared.jsonSchema.output({ target: 'draft-07' })).toMatchObject({ $schema: expect.stringContaining('draft-07') });
  });

  it('never hands one schema the JSON of another', () => {
    const a = convertedOnce(standardOf(z.object({ text: z.string() })));
    const b = convertedOnce(standardOf(z.object({ count: z.number() })));
    expect(a.jsonSchema.input(DRAFT)).toMatchObject({ properties: { text: { type: 'string' } } });
    expect(b.jsonSchema.input(DRAFT)).toMatchObject({ properties: { count: { type: 'number' } } });
  });

  it('shares a frozen result: no consumer can change what the next request is shown', () => {
    const shared = convertedOnce(standardOf(z.object({ user: z.string().describe('who') })));
    const json = shared.jsonSchema.input(DRAFT) as { properties: { user: { description: string } } };
    expect(() => {
      json.properties.user.description = 'changed';
    }).toThrow(TypeError);
    expect((shared.jsonSchema.input(DRAFT) as typeof json).properties.user.description).toBe('who');
  });

  it('keeps the validation of the schema it wraps', () => {
    const shared = convertedOnce(standardOf(z.object({ n: z.number() })));
    expect(shared.validate({ n: 1 })).toEqual({ value: { n: 1 } });
    expect(shared.validate({ n: 'one' })).toMatchObject({ issues: [expect.objectContaining({ path: ['n'] })] });
  });
});

describe('tool registrations share their converted schemas across server instances', () => {
  it('two registrations of unlock_user give the same output JSON Schema object', async () => {
    const { McpServer } = await import('@modelcontextprotocol/server');
    const deps = {} as Parameters<typeof unlockUserTool.register>[1];
    const register = () => unlockUserTool.register(new McpServer({ name: 't', version: '1' }), deps);
    const first = register();
    const second = register();
    expect(first.outputSchemaJson).toMatchObject({ type: 'object', properties: { outcome: expect.any(Object) } });
    expect(second.outputSchemaJson).toBe(first.outputSchemaJson);
  });
});
