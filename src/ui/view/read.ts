/**
 * What the card shows, read defensively from a tool result: the result is data
 * from the server, and its names and nicknames were typed by end users. Every
 * field is type-checked and length-capped here; the renderer never sees the
 * raw object. Fields read from structuredContent:
 *   outcome, summary, sandbox, auditId, more,
 *   users[] / user: id, name, username, email, populationId, enabled,
 *     account.{status, lockedAt, unlockAt}, password.{status, secondsUntilUnlock}, nextStep
 *   devices[]: id, type, status, nickname, phone, email, block.status,
 *     lock.{status, expiresAt}, nextStep
 */

const MAX_TEXT = 200;
const MAX_ITEMS = 20;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface CardUser {
  id: string | undefined;
  name: string | undefined;
  username: string | undefined;
  email: string | undefined;
  populationId: string | undefined;
  enabled: boolean | undefined;
  account: { status: string | undefined; lockedAt: string | undefined; unlockAt: string | undefined };
  /** Absent when the server does not report it (yet): shown as unknown. */
  password: { status: string | undefined; secondsUntilUnlock: number | undefined };
  nextStep: string | undefined;
}

export interface CardDevice {
  id: string | undefined;
  type: string;
  nickname: string | undefined;
  /** The masked phone or email, as the result gives it. */
  contact: string | undefined;
  blocked: boolean;
  locked: boolean;
  lockExpiresAt: string | undefined;
  notActivated: boolean;
  nextStep: string | undefined;
}

export interface Card {
  failed: boolean;
  outcome: string | undefined;
  summary: string | undefined;
  sandbox: boolean;
  auditId: string | undefined;
  users: CardUser[];
  more: boolean;
  /** Present for a device listing (possibly empty), absent for a user lookup. */
  devices: CardDevice[] | undefined;
}

export function readCard(result: unknown): Card {
  const root = isObject(result) ? result : {};
  const data = isObject(root.structuredContent) ? root.structuredContent : {};
  const listed = Array.isArray(data.users) ? data.users.slice(0, MAX_ITEMS).map(readUser) : [];
  const single = isObject(data.user) ? [readUser(data.user)] : [];
  return {
    failed: root.isError === true,
    outcome: text(data.outcome),
    summary: text(data.summary, 600) ?? firstText(root.content),
    sandbox: data.sandbox === true,
    auditId: text(data.auditId),
    users: listed.length > 0 ? listed : single,
    more: data.more === true,
    devices: Array.isArray(data.devices) ? data.devices.slice(0, MAX_ITEMS).map(readDevice) : undefined,
  };
}

function readUser(value: unknown): CardUser {
  const user = isObject(value) ? value : {};
  const account = isObject(user.account) ? user.account : {};
  const password = isObject(user.password) ? user.password : {};
  return {
    id: uuid(user.id),
    name: text(user.name),
    username: text(user.username),
    email: text(user.email),
    populationId: text(user.populationId),
    enabled: typeof user.enabled === 'boolean' ? user.enabled : undefined,
    account: { status: text(account.status), lockedAt: text(account.lockedAt), unlockAt: text(account.unlockAt) },
    password: {
      status: text(password.status),
      secondsUntilUnlock: typeof password.secondsUntilUnlock === 'number' && Number.isFinite(password.secondsUntilUnlock) ? password.secondsUntilUnlock : undefined,
    },
    nextStep: text(user.nextStep, 400),
  };
}

function readDevice(value: unknown): CardDevice {
  const device = isObject(value) ? value : {};
  const block = isObject(device.block) ? device.block : {};
  const lock = isObject(device.lock) ? device.lock : {};
  return {
    id: uuid(device.id),
    type: text(device.type) ?? 'device',
    nickname: text(device.nickname),
    contact: text(device.phone) ?? text(device.email),
    blocked: block.status === 'BLOCKED',
    locked: lock.status === 'LOCKED',
    lockExpiresAt: text(lock.expiresAt),
    notActivated: device.status === 'ACTIVATION_REQUIRED',
    nextStep: text(device.nextStep, 400),
  };
}

/** A string, stripped of what could hide or reorder text on screen, and capped. */
function text(value: unknown, max = MAX_TEXT): string | undefined {
  if (typeof value !== 'string') return undefined;
  const visible = value.replace(/[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/gu, '').trim();
  if (visible === '') return undefined;
  return visible.length > max ? `${visible.slice(0, max - 1)}…` : visible;
}

function firstText(content: unknown): string | undefined {
  if (!Array.isArray(content)) return undefined;
  const block = content.find((item: unknown) => isObject(item) && item.type === 'text');
  return isObject(block) ? text(block.text, 600) : undefined;
}

/** IDs go into proposals the assistant acts on: only a well-formed UUID is kept. */
function uuid(value: unknown): string | undefined {
  return typeof value === 'string' && UUID.test(value) ? value.toLowerCase() : undefined;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
