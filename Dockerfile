# syntax=docker/dockerfile:1
# Multi-stage: build a static binary, ship it on distroless as non-root.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# Pure Go (modernc SQLite): CGO off gives a static binary.
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/sitrep ./cmd/sitrep

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/sitrep /usr/local/bin/sitrep
WORKDIR /var/lib/sitrep
# data_dir (SQLite, sandbox mail, first admin token) lives here: mount a volume.
ENV SITREP_DATA_DIR=/var/lib/sitrep \
    SITREP_SERVER_LISTEN=0.0.0.0:8080
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/sitrep"]
CMD ["serve"]
