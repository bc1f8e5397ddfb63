import nodeProcess from 'node:process';
import { describe, expect, it } from 'vitest';
import { DefaultJsonSchemaValidator, process } from '../../src/sdkShims.js';

// Unbundled, the stand-in delegates to the SDK's own shim; test/e2e/sdk-validator.test.ts checks the bundle's.
describe("the stand-in for the SDK's shims", () => {
  it("checks with the SDK's validator (Ajv, JSON Schema 2020-12)", () => {
    const validator = new DefaultJsonSchemaValidator();
    const check = validator.getValidator<{ ticket: string }>({ type: 'object', properties: { ticket: { type: 'string', minLength: 3 } }, required: ['ticket'] });
    expect(check({ ticket: 'INC1' })).toEqual({ valid: true, data: { ticket: 'INC1' }, errorMessage: undefined });
    const refused = check({ ticket: 'x' });
    expect(refused.valid).toBe(false);
    expect(refused.errorMessage).toMatch(/ticket must NOT have fewer than 3 characters/);
    expect(validator.getValidator({ type: 'integer' })('7').valid).toBe(false);
  });

  it("hands the SDK Node's own process", () => {
    expect(process).toBe(nodeProcess);
  });
});
