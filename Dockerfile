# One image per function:
#   docker build --build-arg FUNCTION=webhook-receiver -t aegis/webhook-receiver .
# FUNCTION is one of webhook-receiver, notifier, analyze, analyze-stream,
# feishu-event-handler, feishu-bridge, dead-letter (or aegis, the all-in-one host).
#
# A static musl build on distroless/static: no libc, no shell, non-root, about 2 MB of
# base image under the binary.

FROM rust:1-bookworm AS build
ARG FUNCTION
RUN test -n "$FUNCTION" || (echo "--build-arg FUNCTION=<function> is required" >&2; exit 1)
RUN apt-get update && apt-get install -y --no-install-recommends musl-tools \
    && rm -rf /var/lib/apt/lists/* \
    && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --target x86_64-unknown-linux-musl --bin "$FUNCTION" \
    && cp "target/x86_64-unknown-linux-musl/release/$FUNCTION" /function

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /function /function
USER nonroot:nonroot
ENV PORT=8080
EXPOSE 8080
ENTRYPOINT ["/function"]
