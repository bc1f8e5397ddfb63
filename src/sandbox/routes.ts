/**
 * Maps a request line to one of the emulated PingOne operations. Matching is
 * exact on decoded path segments: no trailing-slash, case or `..` folding, so a
 * client that builds URLs wrongly (e.g. a doubled `/v1`) gets the 404 it would
 * get from PingOne.
 */

export type RouteName =
  | 'token'
  | 'users.search'
  | 'user.get'
  | 'user.action'
  | 'devices.list'
  | 'device.get'
  | 'device.action'
  | 'password.get'
  | 'password.action'
  | 'unknown';

export type RouteMatch = {
  route: RouteName;
  /** Set when the path is under /v1/environments/{envId}/ (needs a bearer token). */
  managementEnvId?: string;
  /** Set for the token endpoint: the environment that holds the client. */
  authEnvId?: string;
  userId?: string;
  deviceId?: string;
};

function decodeSegments(path: string): string[] | undefined {
  try {
    return path.split('/').map((segment) => decodeURIComponent(segment));
  } catch {
    // Malformed percent-encoding: treat as an unknown path, never throw.
    return undefined;
  }
}

export function classifyRoute(method: string, path: string): RouteMatch {
  const segments = decodeSegments(path);
  if (segments === undefined || segments[0] !== '') return { route: 'unknown' };
  const parts = segments.slice(1);

  if (parts.length === 3 && parts[1] === 'as' && parts[2] === 'token' && parts[0] !== undefined) {
    return method === 'POST' ? { route: 'token', authEnvId: parts[0] } : { route: 'unknown' };
  }

  const [v1, environments, envId, collection, userId, sub, deviceId, ...rest] = parts;
  if (v1 !== 'v1' || environments !== 'environments' || envId === undefined) return { route: 'unknown' };
  const base = { managementEnvId: envId };
  if (rest.length > 0) return { ...base, route: 'unknown' };

  if (collection !== 'users') return { ...base, route: 'unknown' };
  if (userId === undefined) return { ...base, route: method === 'GET' ? 'users.search' : 'unknown' };
  if (sub === undefined) {
    if (method === 'GET') return { ...base, route: 'user.get', userId };
    if (method === 'POST') return { ...base, route: 'user.action', userId };
    return { ...base, route: 'unknown' };
  }
  if (sub === 'password' && deviceId === undefined) {
    if (method === 'GET') return { ...base, route: 'password.get', userId };
    if (method === 'POST') return { ...base, route: 'password.action', userId };
    return { ...base, route: 'unknown' };
  }
  if (sub !== 'devices') return { ...base, route: 'unknown' };
  if (deviceId === undefined) return { ...base, route: method === 'GET' ? 'devices.list' : 'unknown', userId };
  if (method === 'GET') return { ...base, route: 'device.get', userId, deviceId };
  if (method === 'POST') return { ...base, route: 'device.action', userId, deviceId };
  return { ...base, route: 'unknown' };
}
