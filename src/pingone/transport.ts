import { Agent, request, type Dispatcher } from 'undici';

/**
 * undici, behind one small module so it can be loaded on the first request
 * rather than at start-up (a static import here keeps CommonJS interop right
 * when bundled).
 */
export interface Transport {
  request: typeof request;
  dispatcher: Dispatcher;
}

export function openTransport(dispatcher: Dispatcher | undefined, agent: Agent.Options | undefined): Transport {
  return { request, dispatcher: dispatcher ?? new Agent(agent) };
}
