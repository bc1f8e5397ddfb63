import { McpServer, type StandardSchemaWithJSON } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import type { Guards } from '../../src/config.js';
import type { ToolDeps } from '../../src/tools/call.js';
import { ALL_TOOLS, TOOLS } from '../../src/tools/catalog.js';
import { listTools, offeredListings, SDK_JSON_SCHEMA_TARGET, TOOL_LISTINGS } from '../../src/tools/listing.js';
import { registerTool } from '../../src/tools/register.js';
import { TOOL_NAMES } from '../../src/toolNames.js';

const DRAFT = { target: SDK_JSON_SCHEMA_TARGET } as const;
const listingOf = (name: string) => TOOL_LISTINGS.find((tool) => tool.name === name)!;
/** Registration never touches deps; a call would, and none is made here. */
const NO_DEPS = {} as ToolDeps;

describe('the tool listing (unbundled: made from the tool modules at load)', () => {
  it('lists every tool of the catalog, in its order, as the build would', () => {
    expect(TOOL_LISTINGS.map((tool) => tool.name)).toEqual(TOOL_NAMES);
    expect(TOOL_LISTINGS).toEqual(listTools(ALL_TOOLS).map((tool) => ({ ...tool, access: TOOLS[tool.name].access })));
    const unlock = listingOf('unlock_user');
    expect(unlock).toMatchObject({ access: 'write', title: TOOLS.unlock_user.title, description: TOOLS.unlock_user.description });
    expect(unlock.input).toMatchObject({ type: 'object', additionalProperties: false, properties: { user: expect.objectContaining({ type: 'string' }) } });
    expect(unlock.output).toMatchObject({ type: 'object', properties: { outcome: expect.any(Object) } });
  });

  it('is frozen: no server can change what the next one shows', () => {
    const input = listingOf('find_user').input as { properties: { query: { description: string } } };
    const before = input.properties.query.description;
    expect(() => {
      input.properties.query.description = 'changed';
    }).toThrow(TypeError);
    expect(input.properties.query.description).toBe(before);
  });

  it('offers what the configuration allows: read-only mode drops the writes whatever the allow-list says', () => {
    const guards = (settings: Partial<Guards>) => ({ readOnly: false, tools: undefined, ...settings }) as Guards;
    expect(offeredListings(guards({})).map((tool) => tool.name)).toEqual(TOOL_NAMES);
    expect(offeredListings(guards({ readOnly: true })).map((tool) => tool.name)).toEqual(['find_user', 'list_user_devices']);
    expect(offeredListings(guards({ tools: new Set(['unlock_user', 'find_user']) })).map((tool) => tool.name)).toEqual(['find_user', 'unlock_user']);
    expect(offeredListings(guards({ readOnly: true, tools: new Set(['unlock_user']) }))).toEqual([]);
  });
});

describe('a tool registered from its listing', () => {
  const registered = () => registerTool(new McpServer({ name: 't', version: '1' }), NO_DEPS, listingOf('unlock_user'));
  const standard = (schema: StandardSchemaWithJSON | undefined) => schema!['~standard'];

  it('shows the listing, the same objects for every server', () => {
    const first = registered();
    const second = registered();
    expect(first.title).toBe(TOOLS.unlock_user.title);
    expect(first.description).toBe(TOOLS.unlock_user.description);
    expect(first.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false });
    expect(first.outputSchemaJson).toBe(listingOf('unlock_user').output);
    expect(second.outputSchemaJson).toBe(first.outputSchemaJson);
    expect(standard(second.inputSchema).jsonSchema.input(DRAFT)).toBe(listingOf('unlock_user').input);
  });

  it('leaves argument checks to the tool (a malformed call is recorded and answered like any failure)', () => {
    expect(standard(registered().inputSchema).validate({ userId: 42, extra: true })).toEqual({ value: { userId: 42, extra: true } });
  });

  it("checks a result against the tool's own zod output schema", async () => {
    const output = standard(registered().outputSchema);
    const zod = TOOLS.unlock_user.schemas.output['~standard'];
    const valid = { outcome: 'not_locked', summary: 'Nothing to do.', auditId: '5f0c3d0e-8a51-4d57-9a51-2f1e7d3c9b10', sandbox: false };
    expect(await output.validate(valid)).toEqual({ value: valid });
    const wrong = { ...valid, outcome: 'opened' };
    expect(await output.validate(wrong)).toEqual(await zod.validate(wrong));
    expect(await output.validate(wrong)).toMatchObject({ issues: [expect.objectContaining({ path: ['outcome'] })] });
  });

  it('refuses to answer a JSON Schema dialect it was not built for', () => {
    expect(() => standard(registered().inputSchema).jsonSchema.input({ target: 'draft-07' })).toThrow(/built for draft-2020-12, not draft-07/);
  });
});
