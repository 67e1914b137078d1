# The query-api. Build from the repository root:
#   docker build -f deploy/images/query-api.Dockerfile -t sparklogs/query-api:0.1.0 .
# NODE_IMAGE: the Node.js base; deploy/local/images passes one it builds locally.
ARG NODE_IMAGE=node:26-bookworm-slim
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# npm's configuration can be given as build secrets: npmrc (registry, proxy) and
# npm-ca (CA certificates, for an npmrc that says cafile=/root/.npm-ca.pem):
#   docker build --secret id=npmrc,src=$HOME/.npmrc ...
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc \
    --mount=type=secret,id=npm-ca,target=/root/.npm-ca.pem \
    npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY contract contract
COPY query-api query-api
RUN npx tsc -p tsconfig.json && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE}
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/contract ./dist/contract
COPY --from=build /src/dist/query-api ./dist/query-api
# The web page's static files are read from the source tree path at run time.
COPY --from=build /src/query-api/web/static ./query-api/web/static
# uid 1000 is the image's `node` user; the manifests run it with a read-only root filesystem.
USER 1000:1000
EXPOSE 8080
ENTRYPOINT ["node", "/app/dist/query-api/server.js"]
