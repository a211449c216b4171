# syntax=docker/dockerfile:1
# secret-manager-controller image for users with Docker: the same layout as `npm run image`
# (scripts/image.ts, which needs no container engine; docs/packaging.md#container-image), made by
# the same scripts: a Debian base with only what Node and the Argo CD Git source need (libc, CA
# certificates, time zones, git, ssh, dash as /bin/sh: scripts/image-base.sh), the pinned Node binary
# (the `node` devDependency), kustomize, the production npm dependencies, the app and its SBOM, one
# layer each; non-root, no setuid file. Not built by this repository's CI (no container engine
# there): test/packaging/dockerfile.test.ts checks it against scripts/image-build.ts, and
# test/packaging/image.kube.test.ts runs the image `npm run image` builds.
#   docker build --build-arg SOURCE_DATE_EPOCH="$(git log -1 --format=%ct)" \
#     --build-arg REVISION="$(git rev-parse HEAD)" -t secret-manager-controller:0.1.0 .

# The Debian base, by the recipe the `image-base` test peer runs.
FROM debian:bookworm AS base
RUN apt-get update \
  && apt-get install -y --no-install-recommends mmdebstrap ca-certificates binutils \
  && rm -rf /var/lib/apt/lists/*
COPY scripts/image-base.sh /usr/local/bin/image-base.sh
RUN image-base.sh /base

# kustomize, the version scripts/peers.d/kustomize.sh pins for the tests (a test keeps them equal).
FROM golang:1.26-bookworm AS kustomize
ARG KUSTOMIZE_VERSION=v5.8.1
RUN CGO_ENABLED=0 GOBIN=/out GOFLAGS=-trimpath \
    go install -ldflags "-s -w" "sigs.k8s.io/kustomize/kustomize/v5@${KUSTOMIZE_VERSION}" \
  && /out/kustomize version

# Compile, then lay out the node, kustomize, npm-dependencies and app layers with scripts/image.ts.
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bin ./bin
COPY config ./config
COPY charts/secret-manager-controller/Chart.yaml ./charts/secret-manager-controller/Chart.yaml
COPY scripts/image.ts scripts/image-build.ts scripts/image-layer.ts scripts/image-sbom.ts ./scripts/
# Install scripts run: the `node` devDependency's fetches the pinned Node binary (the image's
# node), `prepare` compiles dist/ with tsconfig.build.json.
RUN npm ci --no-audit --no-fund
COPY --from=base /base /base
COPY --from=kustomize /out/kustomize /kustomize
ARG SOURCE_DATE_EPOCH=0
ARG REVISION=unknown
RUN SOURCE_DATE_EPOCH="$SOURCE_DATE_EPOCH" SMC_IMAGE_REVISION="$REVISION" \
    npx tsx scripts/image.ts --base /base --kustomize /kustomize --out /out --no-archive --layer-trees /layers

FROM scratch
COPY --from=base /base/rootfs/ /
COPY --from=build /layers/node/ /
COPY --from=build /layers/kustomize/ /
COPY --from=build /layers/npm-dependencies/ /
COPY --from=build /layers/app/ /
ARG REVISION=unknown
LABEL org.opencontainers.image.title="secret-manager-controller" \
      org.opencontainers.image.source="https://github.com/octopilot/secret-manager-controller" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin \
    NODE_ENV=production \
    HOME=/tmp \
    TMPDIR=/tmp \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
WORKDIR /app
# The uid/gid the Deployment's securityContext runs as (config/manager/deployment.yaml).
USER 65532:65532
EXPOSE 5000
ENTRYPOINT ["/usr/local/bin/node", "/app/bin/secret-manager-controller.js"]
