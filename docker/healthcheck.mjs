// The container's HEALTHCHECK: liveness of the server in this container, on loopback.
// Exit 0 when /healthz answers 200 within 4 s, 1 otherwise. With native TLS the certificate is
// not checked: this probe talks to its own process, and a name check against 127.0.0.1 would fail.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

const tls = Boolean(process.env.PINGONE_MCP_TLS_CERT);
const port = Number(process.env.PINGONE_MCP_HTTP_PORT || 8080);
const request = tls ? httpsRequest : httpRequest;
const req = request({ host: '127.0.0.1', port, path: '/healthz', timeout: 4000, rejectUnauthorized: false }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', () => process.exit(1));
req.end();
