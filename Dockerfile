# pingone-helpdesk-mcp as a service: MCP over Streamable HTTP (see "Team deployment" in the README).
#
#   docker build -t pingone-helpdesk-mcp .
#   docker run ... -p 8080:8080 -v helpdesk-audit:/var/lib/pingone-helpdesk-mcp \
#     -e PINGONE_MCP_RESOURCE=https://helpdesk-mcp.example.com/mcp pingone-helpdesk-mcp
#
# A container listens on every address (0.0.0.0), so the image serves OAuth-verified operators only:
# PINGONE_MCP_RESOURCE (the endpoint's public https:// URL, the tokens' audience) is required, and
# tokens come from PINGONE_MCP_OAUTH_ISSUER (default: the worker app's PingOne environment). Without
# PINGONE_MCP_RESOURCE the server refuses to start (one line naming it, exit 2).

# ---- build: type-check and bundle (dev dependencies stay in this stage) ----
FROM node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json build.mjs ./
COPY src ./src
RUN npm run build

# ---- runtime: the bundle only (no node_modules: it has no runtime dependencies), non-root ----
FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PINGONE_MCP_HTTP=true \
    PINGONE_MCP_HTTP_HOST=0.0.0.0 \
    PINGONE_MCP_HTTP_PORT=8080 \
    PINGONE_MCP_AUDIT_LOG=/var/lib/pingone-helpdesk-mcp/audit.jsonl \
    PINGONE_MCP_LOG_LEVEL=info \
    NODE_OPTIONS=--enable-source-maps
WORKDIR /app
COPY --from=build /src/dist ./dist
COPY --from=build /src/package.json ./package.json
COPY docker/healthcheck.mjs ./healthcheck.mjs
RUN mkdir -p /var/lib/pingone-helpdesk-mcp && chown 1000:1000 /var/lib/pingone-helpdesk-mcp
USER 1000:1000
VOLUME /var/lib/pingone-helpdesk-mcp
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 CMD ["node", "healthcheck.mjs"]
CMD ["node", "dist/index.js", "--http"]
