import { createRequire } from 'node:module';

const pkg = createRequire(import.meta.url)('../package.json') as { name: string; version: string };

export const SERVER_NAME: string = pkg.name;
export const SERVER_VERSION: string = pkg.version;
/** Sent to PingOne with every request, as Ping's own MCP server does. */
export const USER_AGENT = `${SERVER_NAME}/${SERVER_VERSION}`;
