# liveroomd in a container: a static binary on a distroless base, run as a non-root user.
#   docker build --build-arg VERSION=v1.1.0 --build-arg REVISION=$(git rev-parse HEAD) -t liveroom .
#   docker run -p 8080:8080 -p 127.0.0.1:9090:9090 -e LIVEROOM_JWT_SECRET=... -e LIVEROOM_API_KEY=... \
#     -e LIVEROOM_ADMIN_KEY=... liveroom --redis redis://redis:6379/0
# The build context has no .git (see .dockerignore), so the version and revision come in as
# build arguments and are linked in (internal/buildinfo); `liveroomd --version` prints them.

FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
COPY third_party/ third_party/
RUN go mod download
COPY . .
ARG VERSION=(devel)
ARG REVISION=unknown
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X github.com/liveroom/liveroom/internal/buildinfo.version=${VERSION} -X github.com/liveroom/liveroom/internal/buildinfo.revision=${REVISION}" \
      -o /out/liveroomd ./cmd/liveroomd

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/liveroomd /usr/local/bin/liveroomd
USER nonroot:nonroot
# 8080: HTTP, WebSocket (and TLS with --tls-cert); 9090: --admin-addr (/metrics, /admin, pprof).
EXPOSE 8080 9090
ENV LIVEROOM_ADDR=:8080 LIVEROOM_ADMIN_ADDR=:9090 LIVEROOM_LOG_FORMAT=json
ENTRYPOINT ["/usr/local/bin/liveroomd"]
