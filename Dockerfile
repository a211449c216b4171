# syntax=docker/dockerfile:1
# secret-manager-controller image: Node 24 LTS (the `node` devDependency's major) on Debian slim,
# with `kustomize` (kustomize-mode rendering), `git` and `openssh-client` (Argo CD sources).
# Not built by this repository's CI (no container engine there): test/packaging/dockerfile.test.ts
# checks what can be checked without one. Build: docker build -t secret-manager-controller:0.1.0 .

# kustomize, the version scripts/peers.d/kustomize.sh pins for the tests (a test keeps them equal).
FROM golang:1.26-trixie AS kustomize
ARG KUSTOMIZE_VERSION=v5.8.1
RUN CGO_ENABLED=0 GOBIN=/out GOFLAGS=-trimpath \
    go install -ldflags "-s -w" "sigs.k8s.io/kustomize/kustomize/v5@${KUSTOMIZE_VERSION}" \
  && /out/kustomize version

# Compile the TypeScript sources (dev dependencies only live in this stage).
FROM node:24-trixie-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would compile before the sources are copied, and the `node`
# devDependency's installer is not needed: the image has Node, so tsc runs on it directly.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json

# Production dependencies only.
FROM node:24-trixie-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:24-trixie-slim
# git + ssh for Argo CD sources, CA certificates for the cloud APIs, tini to reap git/ssh children.
RUN apt-get update \
  && apt-get install -y --no-install-recommends git openssh-client ca-certificates tini \
  && rm -rf /var/lib/apt/lists/* \
  && groupadd --gid 65532 nonroot \
  && useradd --uid 65532 --gid 65532 --home-dir /tmp --no-create-home --shell /usr/sbin/nologin nonroot
COPY --from=kustomize /out/kustomize /usr/local/bin/kustomize
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY config ./config
ENV NODE_ENV=production \
    HOME=/tmp \
    TMPDIR=/tmp
# The uid/gid the Deployment's securityContext runs as (config/manager/deployment.yaml).
USER 65532:65532
EXPOSE 5000
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/bin/secret-manager-controller.js"]
