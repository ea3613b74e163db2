#!/usr/bin/env bash
# HTTP load of one host with wrk (POST and GET status in one run), then two idle replicas' Redis traffic.
# wrk is only needed here, so this script installs it rather than ./dev.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then apt-get install -y -qq wrk; else sudo apt-get install -y -qq wrk; fi
fi
dotnet build bench/Hokusai.Contracts.LoadTest -c Release -nologo -clp:ErrorsOnly
dotnet run -c Release --no-build --project bench/Hokusai.Contracts.LoadTest -- --wrk --duration "${DURATION:-15}"
dotnet run -c Release --no-build --project bench/Hokusai.Contracts.LoadTest -- --idle "${IDLE_SECONDS:-60}"
