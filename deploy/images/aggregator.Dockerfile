# The aggregator. Build from the repository root:
#   docker build -f deploy/images/aggregator.Dockerfile -t sparklogs/aggregator:0.1.0 .
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY contract contract
COPY aggregator aggregator
# The pod watcher keys lifecycle facts with the collector's own identity rules.
COPY collector collector
RUN npx tsc -p tsconfig.json && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/contract ./dist/contract
COPY --from=build /src/dist/aggregator ./dist/aggregator
COPY --from=build /src/dist/collector ./dist/collector
# uid 1000 is the image's `node` user; the manifests run it with a read-only root filesystem.
USER 1000:1000
EXPOSE 9464
ENTRYPOINT ["node", "/app/dist/aggregator/main.js"]
