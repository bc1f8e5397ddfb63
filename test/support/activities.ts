import type { Emulator, Exchange } from '../../src/sandbox/emulator.js';
import { filterFromQuery } from '../../src/sandbox/api.js';
import { compareText, evaluateFilter, type FilterDialect, type FilterExpr } from '../../src/sandbox/filter.js';
import { halReply } from '../../src/sandbox/reply.js';
import type { SandboxActivity } from '../../src/sandbox/store.js';

/**
 * PingOne's audit activities endpoint (`GET …/activities`, filterable by
 * correlation id, time, action and resource), for tests that find PingOne's side
 * of an action the way an auditor would. Plugged in through the intercept seam.
 */

const ACTIVITIES_PATH = /^\/v1\/environments\/[^/]+\/activities$/;

const ACTIVITY_FILTER_DIALECT: FilterDialect = {
  attributes: ['correlationid', 'recordedat', 'action.type', 'resources.id'],
  operators: ['eq', 'sw', 'gt', 'ge', 'lt', 'le'],
};

/** Answers the exchange when it asks for activities; false for any other request. */
export function serveActivities(x: Exchange, emulator: Emulator): boolean {
  if (x.request.method !== 'GET' || !ACTIVITIES_PATH.test(x.request.path)) return false;
  const refused = x.refusal();
  if (refused !== undefined) {
    x.send(refused);
    return true;
  }
  const parsed = filterFromQuery(x.request.query, ACTIVITY_FILTER_DIALECT);
  if ('status' in parsed) {
    x.send(parsed);
    return true;
  }
  const { filter } = parsed;
  const selected = emulator.activities.filter((a) => filter === undefined || activityMatches(filter, a));
  x.send(
    halReply({
      _links: { self: { href: `${emulator.apiUrl}/environments/${emulator.environmentId}/activities` } },
      _embedded: { activities: selected.map(activityView) },
      count: selected.length,
      size: selected.length,
    }),
  );
  return true;
}

function activityMatches(expr: FilterExpr, activity: SandboxActivity): boolean {
  return evaluateFilter(expr, (c) => {
    switch (c.attribute) {
      case 'recordedat': {
        // Compared as instants: "…00Z" and "…00.000Z" are the same time.
        const actual = Date.parse(activity.recordedAt);
        const expected = Date.parse(c.value);
        if (Number.isNaN(expected)) return false;
        return compareText(String(actual).padStart(16, '0'), c.operator, String(expected).padStart(16, '0'), false);
      }
      case 'correlationid':
        return compareText(activity.correlationId, c.operator, c.value, true);
      case 'action.type':
        return compareText(activity.action, c.operator, c.value, true);
      case 'resources.id':
        return [activity.userId, activity.resourceId].some((id) => compareText(id, c.operator, c.value, true));
      default:
        return false;
    }
  });
}

/** The audit record in the shape PingOne's activities API uses (simplified). */
function activityView(activity: SandboxActivity): Record<string, unknown> {
  const resources: Array<{ type: string; id: string }> = [{ type: 'USER', id: activity.userId }];
  if (activity.resourceId !== activity.userId) resources.push({ type: 'DEVICE', id: activity.resourceId });
  return {
    id: activity.id,
    recordedAt: activity.recordedAt,
    correlationId: activity.correlationId,
    action: { type: activity.action },
    resources,
    result: { status: 'SUCCESS' },
    externalCorrelation: activity.externalCorrelation,
  };
}
