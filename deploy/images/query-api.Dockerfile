# The query-api. Build from the repository root:
#   docker build -f deploy/images/query-api.Dockerfile -t sparklogs/query-api:0.1.0 .
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY contract contract
COPY query-api query-api
RUN npx tsc -p tsconfig.json && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
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
