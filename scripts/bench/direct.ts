import { randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';
import { ActionContentType } from '../../src/pingone/model.js';
import { usernameOrEmailFilter } from '../../src/pingone/filter.js';

export interface DirectTarget {
  apiUrl: string;
  authUrl: string;
  environmentId: string;
  clientId: string;
  clientSecret: string;
}

/**
 * The same PingOne requests the server sends for unlock_user (search by
 * username, the password state, then the unlock action when locked), sent straight from this process with
 * undici on a keep-alive connection: the baseline the MCP path is compared to.
 * Like the server it parses every JSON body; unlike it, nothing is validated,
 * audited or framed.
 */
export class DirectPingOne {
  private readonly dispatcher = new Agent({ connectTimeout: 5_000, headersTimeout: 15_000, bodyTimeout: 15_000 });
  private token: string | undefined;

  constructor(private readonly target: DirectTarget) {}

  async fetchToken(): Promise<void> {
    const basic = Buffer.from(`${encodeURIComponent(this.target.clientId)}:${encodeURIComponent(this.target.clientSecret)}`).toString('base64');
    const response = await request(`${this.target.authUrl}/${this.target.environmentId}/as/token`, {
      method: 'POST',
      dispatcher: this.dispatcher,
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'bench-direct' },
      body: 'grant_type=client_credentials',
    });
    const body = (await response.body.json()) as { access_token?: string };
    if (response.statusCode !== 200 || typeof body.access_token !== 'string') throw new Error(`direct token request failed: ${response.statusCode}`);
    this.token = body.access_token;
  }

  /** Search by username; returns the single match's id and account status. */
  async findUser(username: string): Promise<{ id: string; status: string | undefined }> {
    const query = new URLSearchParams({ filter: usernameOrEmailFilter(username), limit: '11' });
    const json = (await this.send('GET', `${this.base()}/users?${query}`)) as {
      _embedded?: { users?: Array<{ id: string; account?: { status?: string } }> };
    };
    const user = json._embedded?.users?.[0];
    if (user === undefined) throw new Error(`direct search found no ${username}`);
    return { id: user.id, status: user.account?.status };
  }

  /** The password state, which unlock_user reads on both paths (a password lockout is unlocked differently). */
  async passwordState(userId: string): Promise<void> {
    await this.send('GET', `${this.base()}/users/${encodeURIComponent(userId)}/password`);
  }

  async unlock(userId: string): Promise<void> {
    await this.send('POST', `${this.base()}/users/${encodeURIComponent(userId)}`, ActionContentType.unlockUser);
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }

  private base(): string {
    return `${this.target.apiUrl}/environments/${this.target.environmentId}`;
  }

  private async send(method: 'GET' | 'POST', url: string, contentType?: string): Promise<unknown> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.token ?? ''}`,
      'user-agent': 'bench-direct',
      'x-ping-external-transaction-id': randomUUID(),
    };
    if (contentType !== undefined) headers['content-type'] = contentType;
    const response = await request(url, { method, headers, dispatcher: this.dispatcher });
    const json = await response.body.json();
    if (response.statusCode < 200 || response.statusCode > 299) throw new Error(`direct ${method} ${url} answered ${response.statusCode}`);
    return json;
  }
}
