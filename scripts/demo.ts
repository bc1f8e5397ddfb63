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

const steps: Array<{ say: string; tool: string; args: Record<string, unknown> }> = [
  { say: 'Ticket INC-1001: "Jane Doe says she is locked out." Look her up first', tool: 'find_user', args: { query: 'Jane Doe' } },
  { say: 'Her account is locked: unlock it, with the ticket as the reason', tool: 'unlock_user', args: { user: 'jdoe', reason: 'INC-1001: locked out' } },
  { say: 'She still cannot pass MFA: list her devices', tool: 'list_user_devices', args: { user: 'jdoe' } },
  { say: 'Her SMS device was blocked by an admin: a dry run first', tool: 'unblock_device', args: { user: 'jdoe', deviceId: DEMO_USERS.jdoe.blockedSmsDeviceId, reason: 'INC-1001: SMS blocked', dryRun: true } },
  { say: 'Then for real', tool: 'unblock_device', args: { user: 'jdoe', deviceId: DEMO_USERS.jdoe.blockedSmsDeviceId, reason: 'INC-1001: SMS blocked' } },
  { say: 'Her EMAIL device is only locked after failed codes: unblocking would not help, unlocking does', tool: 'unlock_device', args: { user: 'jdoe', deviceId: DEMO_USERS.jdoe.lockedEmailDeviceId, reason: 'INC-1001: email codes' } },
  { say: 'The agent tries again: nothing left to do, nothing is written', tool: 'unlock_user', args: { user: 'jdoe', reason: 'INC-1001' } },
  { say: 'Ticket INC-1002: "Maria (mlopez) cannot sign in either"', tool: 'unlock_user', args: { user: 'mlopez', reason: 'INC-1002' } },
  { say: 'Ticket INC-1004: "Kim Wong typed her password wrong too often." Look her up: the password is locked out', tool: 'find_user', args: { query: 'kwong' } },
  { say: 'Clear the password lockout (which was the account lock\'s only reason)', tool: 'unlock_user', args: { user: 'kwong', reason: 'INC-1004: password locked out' } },
  { say: 'Ticket INC-1003 names a shared mailbox that matches two users', tool: 'unlock_user', args: { user: 'shared.mailbox@example.com', reason: 'INC-1003' } },
];

const transport = new StdioClientTransport({
  command: process.execPath,
  args: [bin, '--sandbox', '--audit-log', auditLog],
  // The demo's own lines show every outcome; the server's warn line for the expected ambiguous lookup would
  // only interleave JSON with them. Errors still reach the terminal.
  env: { ...(process.env as Record<string, string>), PINGONE_MCP_LOG_LEVEL: 'error' },
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
