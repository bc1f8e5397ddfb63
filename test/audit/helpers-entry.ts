// Test data without a vitest import, so child processes can use it too.
import type { AuditEntry } from '../../src/audit/record.js';

export const ENVIRONMENT_ID = '6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0';

/** A realistic entry; `i` varies the user and alternates intent/outcome. */
export function sampleEntry(i: number, overrides: Partial<AuditEntry> = {}): AuditEntry {
  const intent = i % 2 === 0;
  return {
    auditId: `a${Math.floor(i / 2)}-0000-4000-8000-000000000000`,
    phase: intent ? 'intent' : 'outcome',
    tool: i % 4 < 2 ? 'unlock_user' : 'unblock_mfa_device',
    target: {
      environmentId: ENVIRONMENT_ID,
      userId: `${String(i).padStart(8, '0')}-1111-4222-8333-444455556666`,
      username: `user${i}@example.test`,
      ...(i % 4 < 2 ? {} : { deviceId: `d${String(i).padStart(7, '0')}-aaaa-4bbb-8ccc-dddddddddddd`, deviceType: 'SMS' }),
    },
    reason: `INC-${1000 + i}: locked out after password change`,
    actor: { osUser: 'helpdesk', host: 'desk-01', client: 'claude-ai/0.1.0', operator: 'Dana Operator' },
    ...(intent ? {} : { outcome: 'unlocked' as const, pingone: { status: 200, correlationId: `c${String(i).padStart(7, '0')}-1111-4222-8333-444455556666` }, durationMs: 120 + i }),
    ...overrides,
  };
}
