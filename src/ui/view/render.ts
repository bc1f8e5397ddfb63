import type { Card, CardDevice, CardUser } from './read.js';

/**
 * Builds the card's DOM. Every piece of data goes in through `textContent`
 * (never innerHTML), so a nickname like `<img onerror=…>` is shown, not run.
 */

export interface Proposals {
  /** False when the host takes no `ui/message`: then no button is shown. */
  enabled: boolean;
  propose(text: string): Promise<boolean>;
}

type Tone = 'danger' | 'warning' | 'success' | 'muted';

export function renderCard(root: HTMLElement, card: Card, proposals: Proposals): void {
  const parts: HTMLElement[] = [];
  if (card.sandbox) parts.push(el('p', 'sandbox', 'Sandbox: fictional demo data, not a real tenant'));
  if (card.failed || card.users.length !== 1) {
    parts.push(el('p', card.failed ? 'summary failed' : 'summary', card.summary ?? 'No result.'));
  }
  const single = card.users.length === 1 ? card.users[0] : undefined;
  if (single) parts.push(userSection(single, card.devices === undefined, proposals));
  else for (const user of card.users) parts.push(userRow(user));
  if (card.more) parts.push(el('p', 'muted', 'More users match: refine the lookup.'));
  if (card.devices) parts.push(deviceSection(card.devices, single?.id, proposals));
  if (card.auditId) parts.push(el('p', 'audit', `Audit record ${card.auditId}`));
  root.replaceChildren(...parts);
}

export function renderMessage(root: HTMLElement, text: string): void {
  root.replaceChildren(el('p', 'summary', text));
}

function userSection(user: CardUser, withNextStep: boolean, proposals: Proposals): HTMLElement {
  const section = el('section', 'user');
  section.dataset.testid = 'user';
  const title = el('div', 'title');
  title.append(el('h1', 'name', user.name ?? user.username ?? user.id ?? 'Unknown user'), accountBadge(user));
  section.append(title);
  const facts = document.createElement('dl');
  fact(facts, 'username', 'Username', user.username ?? '—');
  if (user.email) fact(facts, 'email', 'Email', user.email);
  fact(facts, 'population', 'Population', user.populationId ?? 'unknown');
  fact(facts, 'account', 'Account', accountText(user));
  fact(facts, 'password', 'Password', passwordText(user));
  section.append(facts);
  if (withNextStep && user.nextStep) section.append(nextStep(user.nextStep));
  if (user.account.status === 'LOCKED' && user.id) {
    section.append(proposalButton(proposals, 'Ask the assistant to unlock this account', `Please unlock the PingOne account with user ID ${user.id} using unlock_user. Do a dry run first and tell me what it would do.`));
  }
  return section;
}

/** One line per user when a lookup matched several. */
function userRow(user: CardUser): HTMLElement {
  const row = el('div', 'user-row');
  row.dataset.testid = 'user-row';
  row.append(el('span', 'name', user.name ?? user.username ?? 'Unknown user'), el('span', 'muted', user.username ?? ''), accountBadge(user));
  if (user.nextStep) row.append(nextStep(user.nextStep));
  return row;
}

function deviceSection(devices: CardDevice[], userId: string | undefined, proposals: Proposals): HTMLElement {
  const section = el('section', 'devices');
  section.append(el('h2', '', devices.length === 0 ? 'No MFA devices' : `MFA devices (${devices.length})`));
  const list = document.createElement('ul');
  for (const device of devices) list.append(deviceItem(device, userId, proposals));
  section.append(list);
  return section;
}

function deviceItem(device: CardDevice, userId: string | undefined, proposals: Proposals): HTMLElement {
  const item = el('li', 'device');
  item.dataset.testid = 'device';
  const row = el('div', 'row');
  row.append(el('span', 'type', device.type));
  if (device.nickname) row.append(el('span', 'nickname', device.nickname));
  if (device.contact) row.append(el('span', 'contact', device.contact));
  if (device.blocked) row.append(badge('Blocked', 'danger'));
  if (device.locked) row.append(badge(device.lockExpiresAt ? `Locked until ${when(device.lockExpiresAt)}` : 'Locked', 'warning'));
  if (device.notActivated) row.append(badge('Not activated', 'muted'));
  if (!device.blocked && !device.locked && !device.notActivated) row.append(badge('Usable', 'success'));
  item.append(row);
  if (device.nextStep) item.append(nextStep(device.nextStep));
  // The proposal names the tool and IDs only: a nickname is end-user text and must not become the person's words.
  const type = /^[A-Z0-9_]{1,20}$/.test(device.type) ? `${device.type} ` : '';
  if (userId && device.id && device.blocked) {
    item.append(proposalButton(proposals, 'Ask the assistant to unblock', `Please unblock the ${type}MFA device ${device.id} of the PingOne user ${userId} using unblock_device. Do a dry run first and tell me what it would do.`));
  } else if (userId && device.id && device.locked) {
    item.append(proposalButton(proposals, 'Ask the assistant to unlock', `Please unlock the ${type}MFA device ${device.id} of the PingOne user ${userId} using unlock_device. Do a dry run first and tell me what it would do.`));
  }
  return item;
}

/**
 * A button that only proposes: it puts a request in the conversation. The
 * assistant decides, the server's guards apply, and the person confirms there;
 * a click relayed by a host proves no person, so it must never be the write.
 */
function proposalButton(proposals: Proposals, label: string, message: string): HTMLElement {
  const wrap = el('div', 'proposal');
  if (!proposals.enabled) return wrap;
  const button = el('button', '', label) as HTMLButtonElement;
  button.type = 'button';
  const status = el('span', 'proposal-status');
  status.setAttribute('role', 'status');
  button.addEventListener('click', () => {
    button.disabled = true;
    proposals.propose(message).then(
      (accepted) => {
        status.textContent = accepted ? 'Proposed in the conversation; the server asks you to confirm before any change.' : 'The host did not take the proposal.';
        if (!accepted) button.disabled = false;
      },
      () => {
        status.textContent = 'The host did not take the proposal.';
        button.disabled = false;
      },
    );
  });
  wrap.append(button, status);
  return wrap;
}

function accountBadge(user: CardUser): HTMLElement {
  if (user.account.status === 'LOCKED') return badge('Locked', 'danger');
  if (user.enabled === false) return badge('Disabled', 'warning');
  if (user.account.status === 'OK') return badge('OK', 'success');
  return badge('Unknown', 'muted');
}

function accountText(user: CardUser): string {
  const parts: string[] = [];
  if (user.account.status === 'LOCKED') {
    parts.push(user.account.lockedAt ? `locked since ${when(user.account.lockedAt)}` : 'locked');
    if (user.account.unlockAt) parts.push(`unlocks by itself at ${when(user.account.unlockAt)}`);
  } else if (user.account.status === 'OK') {
    parts.push('not locked');
  } else {
    parts.push(user.account.status ? user.account.status.toLowerCase() : 'unknown');
  }
  if (user.enabled === false) parts.push('disabled');
  return capitalize(parts.join(' · '));
}

const PASSWORD_WORDS: Record<string, string> = {
  OK: 'OK',
  PASSWORD_LOCKED_OUT: 'Locked out',
  PASSWORD_EXPIRED: 'Expired',
  MUST_CHANGE_PASSWORD: 'Must change at next sign-in',
  NO_PASSWORD: 'No password set',
  EXTERNAL: 'Managed by an external identity provider',
};

function passwordText(user: CardUser): string {
  const { status, secondsUntilUnlock } = user.password;
  if (status === undefined) return 'Unknown';
  const words = PASSWORD_WORDS[status] ?? status;
  return secondsUntilUnlock !== undefined && status === 'PASSWORD_LOCKED_OUT' ? `${words} · unlocks by itself in ${Math.ceil(secondsUntilUnlock / 60)} min` : words;
}

function nextStep(text: string): HTMLElement {
  const p = el('p', 'next');
  p.append(el('span', 'label', 'Next step: '), document.createTextNode(text));
  return p;
}

function fact(list: HTMLElement, field: string, label: string, value: string): void {
  const dd = el('dd', '', value);
  dd.dataset.field = field;
  list.append(el('dt', '', label), dd);
}

function badge(text: string, tone: Tone): HTMLElement {
  return el('span', `badge ${tone}`, text);
}

/** `2026-11-29T03:41:07.000Z` → `2026-11-29 03:41 UTC`; anything else as given. */
function when(iso: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso);
  return match && iso.endsWith('Z') ? `${match[1]} ${match[2]} UTC` : iso;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function el(tag: string, className: string, text?: string): HTMLElement {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
