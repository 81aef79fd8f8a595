# The same image as `make image`, for users with Docker: a static binary on distroless, non-root.
#   docker build --build-arg VERSION=$(git describe --tags --always) --build-arg REVISION=$(git rev-parse HEAD) -t kai-scaler .
FROM golang:1.26 AS build
ARG VERSION=dev
ARG REVISION=unknown
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath \
    -ldflags "-X github.com/kai-platform/kai-scaler/internal/buildinfo.Version=${VERSION} -X github.com/kai-platform/kai-scaler/internal/buildinfo.Revision=${REVISION}" \
    -o /kai-scaler ./cmd/kai-scaler

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="kai-scaler" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="https://github.com/kai-platform/kai-scaler"
COPY --from=build /kai-scaler /kai-scaler
USER 65532:65532
ENTRYPOINT ["/kai-scaler"]
CMD ["serve"]
