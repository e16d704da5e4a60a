# One OCI image per filter, in the form Istio's WasmPlugin prefers (a "compat" image whose last
# layer holds plugin.wasm). The module is built by the workspace first (`make build`), because a
# `FROM rust` builder stage cannot be pulled here; with Docker the same two steps are:
#   make build
#   docker build --build-arg FILTER=path-logger -t registry.example.com/moonshift/path-logger:0.1.0 .
# Without a daemon: buildah bud --storage-driver vfs --isolation chroot --build-arg FILTER=... .
FROM scratch
ARG FILTER
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="moonshift-${FILTER}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://github.com/moonshift/moonshift" \
      org.opencontainers.image.description="Moonshift ${FILTER}: a proxy-wasm filter replacing a Lua EnvoyFilter"
COPY target/filters/${FILTER}.wasm ./plugin.wasm
