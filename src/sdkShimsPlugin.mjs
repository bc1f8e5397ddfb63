// The esbuild plugin that gives the SDK's own imports of its Node shims
// (`@modelcontextprotocol/server/_shims`) src/sdkShims.ts instead. Build-time code, not bundled:
// build.mjs uses it for the server, and scripts/bench.ts for its minimal server built with our
// start-up steps.
//
// The SDK's shims evaluate Ajv (about 210 KB of code) when the SDK loads, for the one check
// McpServer makes with it: a form question's answer asked with `ctx.elicitInput`, which this
// server does not use (confirm.ts checks its answers with zod). src/sdkShims.ts's validator
// require()s the SDK's, bundled on its own (build.mjs: dist/chunks/ajv.cjs), when it is first
// asked for one.
import { fileURLToPath } from 'node:url';

const SDK_SHIMS_STAND_IN = fileURLToPath(new URL('./sdkShims.ts', import.meta.url));

export function deferSdkValidator() {
  return {
    name: 'defer-sdk-validator',
    setup(plugin) {
      plugin.onResolve({ filter: /^@modelcontextprotocol\/server\/_shims$/ }, (args) =>
        /[\\/]@modelcontextprotocol[\\/]server[\\/]/.test(args.importer) ? { path: SDK_SHIMS_STAND_IN } : undefined,
      );
    },
  };
}
