import { createRequire } from 'node:module';
import process from 'node:process';
import type { JsonSchemaType, JsonSchemaValidator, jsonSchemaValidator } from '@modelcontextprotocol/server';

/**
 * The SDK's Node shims (`@modelcontextprotocol/server/_shims`) as the bundle carries them: build.mjs
 * resolves the SDK's own imports of that module to this one.
 *
 * The SDK's shim evaluates Ajv when the SDK loads (about 210 KB of code, some 25 ms of CPU at every
 * start on the 2-core machine) for the one thing McpServer uses it for: checking the answer to a
 * form question asked with `ctx.elicitInput` against the question's JSON Schema. This server asks
 * its questions through `inputRequired` and checks the answers with its own zod schema (confirm.ts),
 * so nothing before the first `tools/list` needs Ajv and perhaps nothing ever does. This validator
 * is the SDK's own (bundled on its own into dist/chunks/ajv.cjs), loaded when first asked for a check.
 */

// Set by the bundler (build.mjs) to the file Ajv is bundled into; unbundled, the SDK's own shim.
declare const __AJV_CHUNK__: string | undefined;

type ValidatorClass = new () => jsonSchemaValidator;

let sdkValidator: ValidatorClass | undefined;

function loadSdkValidator(): ValidatorClass {
  const shims = createRequire(import.meta.url)(typeof __AJV_CHUNK__ === 'string' ? __AJV_CHUNK__ : '@modelcontextprotocol/server/_shims') as { DefaultJsonSchemaValidator: ValidatorClass };
  return shims.DefaultJsonSchemaValidator;
}

/** The SDK's default validator (Ajv, JSON Schema 2020-12 by default), made at its first use. */
export class DefaultJsonSchemaValidator implements jsonSchemaValidator {
  #validator: jsonSchemaValidator | undefined;

  getValidator<T>(schema: JsonSchemaType): JsonSchemaValidator<T> {
    this.#validator ??= new (sdkValidator ??= loadSdkValidator())();
    return this.#validator.getValidator<T>(schema);
  }
}

export { process };
