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
RUN ["/usr/local/bin/lamers", "version"]
ENTRYPOINT ["/usr/local/bin/lamers"]
CMD ["help"]
