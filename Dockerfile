# Hokusai.Contracts reference service.
# Stages: build (restore from the project files alone first, so the package layer is reused until a
# csproj or the central package versions change, then publish with ReadyToRun code so the first request
# is not JIT-bound) and a small non-root runtime with dumb-init as PID 1.
ARG DOTNET_VERSION=10.0

FROM mcr.microsoft.com/dotnet/sdk:${DOTNET_VERSION}-alpine AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig README.md ./
COPY src/Hokusai.Contracts.Core/Hokusai.Contracts.Core.csproj src/Hokusai.Contracts.Core/
COPY src/Hokusai.Contracts.Redis/Hokusai.Contracts.Redis.csproj src/Hokusai.Contracts.Redis/
COPY src/Hokusai.Contracts.AspNetCore/Hokusai.Contracts.AspNetCore.csproj src/Hokusai.Contracts.AspNetCore/
COPY src/Hokusai.Contracts.Client/Hokusai.Contracts.Client.csproj src/Hokusai.Contracts.Client/
COPY src/Hokusai.Contracts.DevChain/Hokusai.Contracts.DevChain.csproj src/Hokusai.Contracts.DevChain/
COPY samples/ContractsApi/ContractsApi.csproj samples/ContractsApi/
RUN dotnet restore samples/ContractsApi/ContractsApi.csproj -r linux-musl-x64 -p:PublishReadyToRun=true
COPY contracts/ contracts/
COPY src/ src/
COPY samples/ContractsApi/ samples/ContractsApi/
RUN dotnet publish samples/ContractsApi/ContractsApi.csproj -c Release -r linux-musl-x64 --self-contained false \
      --no-restore -p:UseAppHost=false -p:DebugType=none -p:PublishReadyToRun=true -o /app

FROM mcr.microsoft.com/dotnet/aspnet:${DOTNET_VERSION}-alpine AS runtime
# dumb-init forwards SIGTERM to the app and reaps zombies; busybox wget serves the HEALTHCHECK.
RUN apk add --no-cache dumb-init \
 && addgroup -S -g 10001 appuser \
 && adduser -S -D -H -u 10001 -G appuser -s /sbin/nologin appuser
WORKDIR /app
COPY --from=build --chown=root:root /app ./
# PORT alone sets the API listener (ASPNETCORE_URLS, if given, wins); the HEALTHCHECK reads it too.
# DOTNET_GCgen0size caps the GC's gen0 budget at 16 MB: the runtime otherwise sizes it from the CPU's L3 cache
# (about 130 MB on a 260 MB L3), and it has no runtimeconfig setting (README, Container: garbage collector).
ENV PORT=3001 \
    METRICS_PORT=9091 \
    DOTNET_RUNNING_IN_CONTAINER=true \
    DOTNET_GCgen0size=0x1000000 \
    LOG_LEVEL=info
USER appuser
EXPOSE 3001 9091
HEALTHCHECK --interval=30s --timeout=3s --retries=3 CMD wget -q -O /dev/null "http://127.0.0.1:${PORT}/health" || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/dumb-init", "--"]
CMD ["dotnet", "ContractsApi.dll"]
