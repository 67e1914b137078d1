# The collector sidecar. Build from the repository root:
#   docker build -f deploy/images/collector.Dockerfile -t sparklogs/collector:0.1.0 .
# The runtime image holds node, the libraries it links, CA certificates and
# the compiled collector: no shell, no package manager, nothing to exec into.
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
COPY collector collector
RUN npx tsc -p tsconfig.json && npm prune --omit=dev --no-audit --no-fund
# node's shared libraries, found by ldd so the copy is right on any architecture.
RUN mkdir -p /rootfs/tmp /rootfs/etc/ssl/certs \
 && for f in /usr/local/bin/node $(ldd /usr/local/bin/node | grep -o '/[^ ]*'); do cp --parents -L "$f" /rootfs; done \
 && cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ \
 && chmod 1777 /rootfs/tmp

FROM scratch
COPY --from=build /rootfs/ /
COPY --from=build /src/node_modules /app/node_modules
COPY --from=build /src/dist/contract /app/dist/contract
COPY --from=build /src/dist/collector /app/dist/collector
COPY --from=build /src/package.json /app/package.json
WORKDIR /app
ENV NODE_ENV=production
# 65532: no account in this image, matches the pod templates' runAsUser.
USER 65532:65532
# main.js execs node once more (same pid) with the collector's runtime settings
# (glibc malloc arenas): collector/runtime.ts, the one place they are set for
# the image, the pod templates and the benchmarks. SPARKLOGS_COLLECTOR_RELAUNCH=0
# turns that off; GLIBC_TUNABLES and node flags given here still apply and win.
ENTRYPOINT ["/usr/local/bin/node", "/app/dist/collector/main.js"]
