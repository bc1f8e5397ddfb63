import type { Plugin } from 'esbuild';

/** The esbuild plugin that resolves the SDK's own imports of its Node shims to src/sdkShims.ts. */
export function deferSdkValidator(): Plugin;
