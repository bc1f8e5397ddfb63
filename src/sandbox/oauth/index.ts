import type { OAuthConfig } from '../../config.js';
import type { TokenVerifierSettings } from '../../auth/verifier.js';
import { startSandboxAuthorizationServer, type SandboxAuthorizationServer } from './authorizationServer.js';

export { startSandboxAuthorizationServer, type SandboxAuthorizationServer, type SandboxAuthorizationServerOptions } from './authorizationServer.js';
export { SANDBOX_OPERATORS, DEFAULT_SANDBOX_OPERATOR, type SandboxOperator } from './operators.js';

/**
 * The sandbox's OAuth in one step, for `--sandbox --http`: starts the
 * authorization server for the resource the listener serves
 * (PINGONE_MCP_RESOURCE when set, else `listenerResource`) and returns the
 * verifier settings that accept exactly its tokens — so the two can never
 * disagree about the audience or the issuer.
 */
export async function startSandboxOAuth(
  oauth: Extract<OAuthConfig, { kind: 'sandbox' }>,
  listenerResource: string,
): Promise<{ authorizationServer: SandboxAuthorizationServer; settings: TokenVerifierSettings }> {
  const resource = oauth.resource ?? listenerResource;
  const authorizationServer = await startSandboxAuthorizationServer({
    resource,
    scopes: oauth.policy.scopes,
    ...(oauth.sandboxOperator === undefined ? {} : { defaultOperator: oauth.sandboxOperator }),
  });
  return { authorizationServer, settings: { issuer: authorizationServer.issuer, resource, policy: oauth.policy } };
}
