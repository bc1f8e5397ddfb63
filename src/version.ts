import { createRequire } from 'node:module';

// Set by the bundler (build.mjs) from package.json; absent when src/ runs unbundled (tests, tsx).
declare const __PACKAGE_NAME__: string | undefined;
declare const __PACKAGE_VERSION__: string | undefined;

function fromPackageJson(): { name: string; version: string } {
  return createRequire(import.meta.url)('../package.json') as { name: string; version: string };
}

const pkg =
  typeof __PACKAGE_NAME__ === 'string' && typeof __PACKAGE_VERSION__ === 'string'
    ? { name: __PACKAGE_NAME__, version: __PACKAGE_VERSION__ }
    : fromPackageJson();

export const SERVER_NAME: string = pkg.name;
export const SERVER_VERSION: string = pkg.version;
/** Sent to PingOne with every request, as Ping's own MCP server does. */
export const USER_AGENT = `${SERVER_NAME}/${SERVER_VERSION}`;
