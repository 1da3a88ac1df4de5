#!/usr/bin/env bash
# What the benchmark needs besides Tollgate's own virtualenv: wrk (load generator) and nginx (fixed-body
# upstream and proxy hop) from Debian, py-spy in the main virtualenv for profiling, and LiteLLM's proxy
# in a virtualenv of its own so its many dependencies never meet Tollgate's.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  # Keep the package's own service from starting on port 80: the bench runs its own instances.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

"$PY" -m pip install --quiet "py-spy>=0.3"

LITELLM_VENV=bench/.venv-litellm
if [ "${BENCH_SKIP_LITELLM:-}" != "1" ] && [ ! -f "$LITELLM_VENV/.installed" ]; then
  python3 -m venv "$LITELLM_VENV"
  "$LITELLM_VENV/bin/pip" install --quiet --upgrade pip
  if "$LITELLM_VENV/bin/pip" install --quiet "litellm[proxy]"; then
    touch "$LITELLM_VENV/.installed"
  else
    echo "bench/setup.sh: litellm[proxy] could not be installed; the bench will skip LiteLLM" >&2
  fi
fi
