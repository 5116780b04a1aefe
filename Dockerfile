# syntax=docker/dockerfile:1
# statuspage: build with the dev dependencies, run with the production ones only.

FROM node:24-slim AS build
WORKDIR /app
# better-sqlite3 compiles from source when no prebuilt binary fits.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-fund --no-audit
COPY tsconfig.json ./
COPY src ./src
# The only optional dependency is kustomize, for the tests of deploy/kubernetes.
RUN npx tsc -p tsconfig.json && npm prune --omit=dev --omit=optional --no-fund --no-audit

FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
# The dashboard generator is a development tool (it imports a dev dependency); the service never loads it.
RUN rm -rf ./dist/src/dashboards
COPY package.json config.yml ./
COPY src/config/config.schema.json ./src/config/config.schema.json
# The database lives on a volume, owned by the unprivileged user the service runs as.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
VOLUME ["/app/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/-/healthy').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Mount your own config at /app/config.yml (read-only is fine); set TZ for the page's clock.
# The node flags are npm start's (a test keeps them equal); the heap's growth is set by
# statuspage itself (src/main.ts).
CMD ["node", "--enable-source-maps", "dist/src/main.js", "/app/config.yml"]
