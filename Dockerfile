# syntax=docker/dockerfile:1
#
# The stocklab service in a small image: built with the Rust toolchain CI uses, run on Debian slim
# as a non-root user.
#
#   docker build -t stocklab .
#   docker run --rm -p 8000:8000 -v stocklab-data:/data stocklab
#
# With no DATABASE_URL the service keeps its SQLite file in /data (the working directory), which
# is a volume so that the data outlives the container. Set DATABASE_URL=mysql://... to use MySQL
# or MariaDB instead (compose.yaml does).

FROM rust:1.95-bookworm AS builder
WORKDIR /src
COPY . .
# The cache mounts keep the downloaded crates and the compiled dependencies between builds, so
# changing one crate does not rebuild the world. They are not part of any image layer, so the
# binary is copied out of target/ in the same step. The release profile keeps line tables for
# backtraces; stripping them here takes the binary from about 65 MB to about 14 MB, and keeps the
# symbols, so a backtrace still names its functions.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p stocklab \
    && strip --strip-debug -o /usr/local/bin/stocklab target/release/stocklab

FROM debian:bookworm-slim
# The binary links only glibc, libm and libgcc_s, which the base image has (SQLite is compiled
# in). No connection stocklab makes uses TLS today (sqlx is built without it); ca-certificates is
# there for when one does, to verify the server's certificate. Its version is not pinned: Debian's
# security updates replace it, and an old pin would stop the build.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 stocklab \
    && useradd --system --uid 10001 --gid stocklab --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin stocklab \
    && mkdir /data \
    && chown stocklab:stocklab /data
COPY --from=builder /usr/local/bin/stocklab /usr/local/bin/stocklab

# A numeric user, so that a runtime can check it is not root without reading /etc/passwd.
USER 10001:10001
WORKDIR /data
# Declared after /data is owned by the service's user: a new named volume starts with that owner.
VOLUME ["/data"]
EXPOSE 8000

# The service listens on 127.0.0.1 unless told otherwise, which inside a container is unreachable
# from outside it: bind every interface. An --addr here wins over STOCKLAB_ADDR; to listen
# elsewhere, override the command (`serve --addr 0.0.0.0:9000`).
#
# No HEALTHCHECK: the image has no HTTP client to call /healthz with, and it is kept free of one
# (curl and its libraries only for a probe). Orchestrators can probe GET /healthz from outside.
#
# stocklab handles SIGTERM (what `docker stop` sends): it stops accepting connections and lets the
# requests in flight finish.
ENTRYPOINT ["stocklab"]
CMD ["serve", "--addr", "0.0.0.0:8000"]
