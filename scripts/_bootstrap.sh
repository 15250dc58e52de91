# Sourced by scripts/run and scripts/test: find or install uv, then sync the locked environment.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if ! command -v uv >/dev/null 2>&1; then
  if [ ! -x "$ROOT/.tools/bin/uv" ]; then
    echo "spanbank: installing uv into .tools/ (once)" >&2
    python3 -m venv "$ROOT/.tools"
    "$ROOT/.tools/bin/pip" install --quiet --disable-pip-version-check uv
  fi
  export PATH="$ROOT/.tools/bin:$PATH"
fi
# --inexact keeps optional extras that are already installed (scripts/test installs spanbank[ray]).
uv sync --locked --quiet --inexact ${SPANBANK_EXTRAS:-}
