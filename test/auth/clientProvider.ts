import type { OAuthClientMetadata, OAuthClientProvider, OAuthDiscoveryState, StoredOAuthClientInformation, StoredOAuthTokens } from '@modelcontextprotocol/client';

/** Never visited: the provider reads the authorization server's Location header instead. */
export const REDIRECT = 'http://127.0.0.1:9/callback';

/** What an MCP client app does, with the browser step done by fetch: the server consents on its own. */
export class TestClientProvider implements OAuthClientProvider {
  #client: StoredOAuthClientInformation | undefined;
  #tokens: StoredOAuthTokens | undefined;
  #verifier = '';
  #discovery: OAuthDiscoveryState | undefined;
  callback: URL | undefined;
  constructor(private readonly loginHint?: string) {}
  get redirectUrl(): string {
    return REDIRECT;
  }
  get clientMetadata(): OAuthClientMetadata {
    return { client_name: 'sandbox flow test', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] };
  }
  clientInformation() {
    return this.#client;
  }
  saveClientInformation(info: StoredOAuthClientInformation) {
    this.#client = info;
  }
  tokens() {
    return this.#tokens;
  }
  saveTokens(tokens: StoredOAuthTokens) {
    this.#tokens = tokens;
  }
  async redirectToAuthorization(url: URL) {
    if (this.loginHint !== undefined) url.searchParams.set('login_hint', this.loginHint);
    const response = await fetch(url, { redirect: 'manual' });
    if (response.status !== 302) throw new Error(`authorize answered ${response.status}`);
    this.callback = new URL(response.headers.get('location') ?? '');
  }
  saveCodeVerifier(verifier: string) {
    this.#verifier = verifier;
  }
  codeVerifier() {
    return this.#verifier;
  }
  // Kept beside the code verifier, as a client app does, so the callback is checked against the same authorization server.
  saveDiscoveryState(state: OAuthDiscoveryState) {
    this.#discovery = state;
  }
  discoveryState() {
    return this.#discovery;
  }
}

