# syntax=docker/dockerfile:1
#
# sockscope's container image: static binaries (CGO_ENABLED=0) on
# distroless/static, which has no shell or package manager, only
# /etc/passwd, CA certificates and time zones. Build it with
#
#   docker build --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg COMMIT=$(git rev-parse HEAD) -t sockscope .
#
# The image runs as the unprivileged user "nonroot" (65532). That is enough
# for the socket table of the container's own network namespace. To see a
# whole node, run it with the host's PID namespace, as root (uid 0) with
# every capability dropped except these three (deploy/kubernetes does so;
# docs/security.md says why each is needed):
#
#   SYS_PTRACE       open other processes' /proc/PID/ns/net and /proc/PID/fd
#   SYS_ADMIN        setns(2) into other network namespaces (-A, --netns)
#   DAC_READ_SEARCH  list /proc/PID/fd of processes of other users
#
#   docker run --rm --pid host -v /run/netns:/run/netns:ro --user 0 \
#     --cap-drop ALL --cap-add SYS_PTRACE --cap-add SYS_ADMIN --cap-add DAC_READ_SEARCH \
#     --security-opt apparmor=unconfined sockscope -A

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS=linux
ARG TARGETARCH
ARG VERSION=devel
ARG COMMIT=
ARG DATE=
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath \
      -ldflags "-s -w \
        -X github.com/sockscope/sockscope/internal/buildinfo.version=${VERSION} \
        -X github.com/sockscope/sockscope/internal/buildinfo.commit=${COMMIT} \
        -X github.com/sockscope/sockscope/internal/buildinfo.date=${DATE}" \
      -o /out/ ./cmd/sockscope ./cmd/sockscope-serve

FROM gcr.io/distroless/static-debian12:nonroot
# sockscope serve runs sockscope-serve from beside it (the HTTP server is
# kept out of sockscope so that its other commands start fast).
COPY --from=build /out/sockscope /out/sockscope-serve /usr/bin/
USER 65532:65532
EXPOSE 9464
ENTRYPOINT ["/usr/bin/sockscope"]
CMD ["serve", "--listen", "0.0.0.0:9464"]
