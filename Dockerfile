# syntax=docker/dockerfile:1
# Multi-stage build: go-sqlite3 needs cgo, so the builder has gcc and the
# runtime has glibc. The cache mounts keep the one-minute SQLite compile
# out of rebuilds.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/root/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/root/.cache/go-build \
    --mount=type=cache,target=/root/go/pkg/mod \
    CGO_ENABLED=1 go build -ldflags='-s -w' -o /out/lamers ./cmd/lamers
# Smoke test: opens a scratch SQLite database, so a cgo-less build fails here.
RUN /out/lamers version

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /var/lib/lamers --create-home --shell /usr/sbin/nologin lamers
COPY --from=build /out/lamers /usr/local/bin/lamers
COPY lamers.example.toml /etc/lamers/lamers.example.toml
USER lamers
WORKDIR /var/lib/lamers
ENV LAMERS_DB=/var/lib/lamers/lamers.db
# The database (and its WAL files) outlive the container; mount the
# configuration at /etc/lamers/lamers.toml and the logs read-only.
VOLUME ["/var/lib/lamers"]
RUN ["/usr/local/bin/lamers", "version"]
# /healthz and /metrics: reachable from outside the container only with
# [run] listen = "0.0.0.0:9716" and allow_non_loopback = true.
EXPOSE 9716
# `docker stop` sends SIGTERM: lamers run abandons its step at a safe
# point, commits what it read and exits 0 (give it time: docker stop -t 90).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/lamers"]
CMD ["run"]
