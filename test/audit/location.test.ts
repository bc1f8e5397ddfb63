import * as os from 'node:os';
import { describe, expect, it } from 'vitest';
import { localActor } from '../../src/audit/actor.js';
import * as path from 'node:path';
import { auditPathProblem, defaultAuditLogPath } from '../../src/audit/location.js';

describe('defaultAuditLogPath', () => {
  it('Linux: $XDG_STATE_HOME when set and absolute', () => {
    expect(defaultAuditLogPath({ platform: 'linux', home: '/home/dana', env: { XDG_STATE_HOME: '/var/state/dana' } })).toBe(
      '/var/state/dana/pingone-helpdesk-mcp/audit.jsonl',
    );
  });

  it('Linux: ~/.local/state otherwise (unset, empty or relative XDG_STATE_HOME)', () => {
    for (const env of [{}, { XDG_STATE_HOME: '' }, { XDG_STATE_HOME: 'relative/state' }]) {
      expect(defaultAuditLogPath({ platform: 'linux', home: '/home/dana', env })).toBe(
        '/home/dana/.local/state/pingone-helpdesk-mcp/audit.jsonl',
      );
    }
  });

  it('other Unix platforms follow the Linux rule', () => {
    expect(defaultAuditLogPath({ platform: 'freebsd', home: '/usr/home/dana', env: {} })).toBe(
      '/usr/home/dana/.local/state/pingone-helpdesk-mcp/audit.jsonl',
    );
  });

  it('macOS: ~/Library/Logs', () => {
    expect(defaultAuditLogPath({ platform: 'darwin', home: '/Users/dana', env: { XDG_STATE_HOME: '/ignored' } })).toBe(
      '/Users/dana/Library/Logs/pingone-helpdesk-mcp/audit.jsonl',
    );
  });

  it('Windows: %LOCALAPPDATA%, else home\\AppData\\Local', () => {
    expect(defaultAuditLogPath({ platform: 'win32', home: 'C:\\Users\\dana', env: { LOCALAPPDATA: 'D:\\Local' } })).toBe(
      'D:\\Local\\pingone-helpdesk-mcp\\audit.jsonl',
    );
    expect(defaultAuditLogPath({ platform: 'win32', home: 'C:\\Users\\dana', env: {} })).toBe(
      'C:\\Users\\dana\\AppData\\Local\\pingone-helpdesk-mcp\\audit.jsonl',
    );
  });

  it('sandbox runs get their own file', () => {
    expect(defaultAuditLogPath({ platform: 'linux', home: '/home/dana', env: {}, sandbox: true })).toBe(
      '/home/dana/.local/state/pingone-helpdesk-mcp/sandbox-audit.jsonl',
    );
    expect(defaultAuditLogPath({ platform: 'win32', home: 'C:\\Users\\dana', env: {}, sandbox: true })).toMatch(/\\sandbox-audit\.jsonl$/);
  });

  it('defaults to this process platform, environment and home', () => {
    expect(defaultAuditLogPath()).toContain('pingone-helpdesk-mcp');
  });
});

describe('localActor', () => {
  it('records the OS user and host, plus operator and client when given', () => {
    const actor = localActor({ operator: 'Dana', client: 'claude-ai/0.1.0' });
    expect(actor).toEqual({ client: 'claude-ai/0.1.0', osUser: expect.any(String), host: os.hostname(), operator: 'Dana' });
    expect(actor.osUser).not.toBe('');
  });

  it('omits operator and client when not given', () => {
    expect(Object.keys(localActor({})).sort()).toEqual(['host', 'osUser']);
  });
});

describe('auditPathProblem (start-up check)', () => {
  it.skipIf(process.platform !== 'linux')('refuses /proc and /sys, naming the fix', () => {
    for (const file of ['/proc/self/audit.jsonl', '/proc/nonexistent/dir/audit.jsonl', '/sys/kernel/audit.jsonl']) {
      const problem = auditPathProblem(file);
      expect(problem).toMatch(/virtual file system, which cannot hold files: set PINGONE_MCP_AUDIT_LOG \(or --audit-log\)/);
    }
  });

  it('accepts an ordinary path, existing or not', () => {
    expect(auditPathProblem(path.join(os.tmpdir(), 'no', 'such', 'dir', 'audit.jsonl'))).toBeUndefined();
  });

  it('Linux without a usable home but with an absolute XDG_STATE_HOME needs no home', () => {
    expect(defaultAuditLogPath({ platform: 'linux', env: { XDG_STATE_HOME: '/state' } })).toBe('/state/pingone-helpdesk-mcp/audit.jsonl');
  });
});
