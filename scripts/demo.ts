/**
 * The sandbox demo: spawns the built server with --sandbox over stdio, drives
 * it with the official MCP client the way an assistant would, and prints each
 * answer and the audit trail it left. No PingOne tenant is involved.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { DEMO_USERS } from '../src/sandbox/seed.js';

const bin = resolve(import.meta.dirname, '../dist/index.js');
const auditLog = join(mkdtempSync(join(tmpdir(), 'pingone-helpdesk-demo-')), 'audit.jsonl');

const steps: Array<{ say: string; tool: string; args: Record<string, string> }> = [
  { say: 'Jane (jdoe) is locked out after too many password attempts', tool: 'unlock_user', args: { user: 'jdoe', reason: 'INC-1001: locked out' } },
  { say: 'The agent asks again: nothing left to do', tool: 'unlock_user', args: { user: 'jdoe', reason: 'INC-1001: locked out' } },
  { say: "Her SMS device was blocked by an admin", tool: 'unblock_device', args: { user: 'jane.doe@example.com', deviceId: DEMO_USERS.jdoe.blockedSmsDeviceId, reason: 'INC-1001: SMS blocked' } },
  { say: 'Her EMAIL device is only locked, not blocked', tool: 'unblock_device', args: { user: 'jdoe', deviceId: DEMO_USERS.jdoe.lockedEmailDeviceId, reason: 'INC-1001' } },
  { say: "Maria (mlopez) can't sign in either", tool: 'unlock_user', args: { user: 'mlopez', reason: 'INC-1002' } },
  { say: 'A shared mailbox address matches two users', tool: 'unlock_user', args: { user: 'shared.mailbox@example.com', reason: 'INC-1003' } },
];

const transport = new StdioClientTransport({
  command: process.execPath,
  args: [bin, '--sandbox', '--audit-log', auditLog],
  env: { ...(process.env as Record<string, string>), PINGONE_MCP_LOG_LEVEL: 'warn' },
  stderr: 'inherit',
});
const client = new Client({ name: 'pingone-helpdesk-demo', version: '1.0.0' });
await client.connect(transport);
const { tools } = await client.listTools();
const server = client.getServerVersion();
console.log(`Connected to ${server?.name} ${server?.version} in sandbox mode; tools: ${tools.map((t) => t.name).join(', ')}\n`);

for (const [index, step] of steps.entries()) {
  console.log(`${index + 1}. ${step.say}`);
  console.log(`   → ${step.tool} ${JSON.stringify(step.args)}`);
  const result = await client.callTool({ name: step.tool, arguments: step.args });
  const outcome = (result.structuredContent as { outcome?: string } | undefined)?.outcome ?? '?';
  const text = (result.content as Array<{ type: string; text?: string }>).find((c) => c.type === 'text')?.text ?? '';
  console.log(`   ← ${outcome}${result.isError ? ' (error)' : ''}: ${text}\n`);
}
await client.close();

console.log(`Audit trail (${auditLog}):`);
console.log(execFileSync(process.execPath, [bin, 'audit', 'show', auditLog], { encoding: 'utf8' }));
console.log(execFileSync(process.execPath, [bin, 'audit', 'verify', auditLog], { encoding: 'utf8' }).trim());
