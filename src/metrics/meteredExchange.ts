import { HttpExchange, type CallScope, type HttpAnswer, type HttpRequest, type HttpExchangeOptions } from '../pingone/http.js';
import type { Telemetry } from './telemetry.js';

/** The PingOne exchange, timing each logical request (retries included) by kind and final status. */
export class MeteredExchange extends HttpExchange {
  constructor(
    options: HttpExchangeOptions,
    private readonly telemetry: Telemetry,
  ) {
    super(options);
  }

  override async perform(req: HttpRequest, scope: CallScope): Promise<HttpAnswer> {
    const kind = req.url.endsWith('/as/token') ? 'token' : 'api';
    const started = performance.now();
    try {
      const answer = await super.perform(req, scope);
      this.telemetry.pingoneRequest(kind, answer.status, (performance.now() - started) / 1000);
      return answer;
    } catch (error) {
      this.telemetry.pingoneRequest(kind, 'error', (performance.now() - started) / 1000);
      throw error;
    }
  }
}
