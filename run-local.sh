#!/usr/bin/env bash
# ./run-local.sh        venv + deps + database + demo data + model + scores + dashboard
# ./run-local.sh test   the whole test suite (installs test-only needs, Chromium included)
set -euo pipefail
cd "$(dirname "$0")"
MODE="${1:-run}"
PYTHON="${PYTHON:-python3}"
export PDE_DATA_DIR="${PDE_DATA_DIR:-$PWD/data}"

say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }

ensure_venv() {
    local reqs="requirements.txt" stamp
    [[ "$MODE" == test ]] && reqs="requirements-test.txt"
    if [[ ! -x .venv/bin/python ]]; then
        say "creating .venv"
        "$PYTHON" -m venv .venv
    fi
    # reinstall only when the pinned requirements or the package metadata change
    stamp=".venv/.installed-$(cat requirements*.txt pyproject.toml | sha256sum | cut -c1-16)-$reqs"
    if [[ ! -f "$stamp" ]]; then
        say "installing dependencies ($reqs)"
        .venv/bin/python -m pip install --quiet --upgrade pip
        .venv/bin/python -m pip install --quiet -r "$reqs"
        .venv/bin/python -m pip install --quiet --no-deps -e .
        touch "$stamp"
    fi
}

ensure_chromium() {
    if command -v chromium >/dev/null 2>&1; then return; fi
    say "installing Chromium for the browser tests"
    local sudo=""
    [[ "$(id -u)" != 0 ]] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
}

ensure_venv
PDE=.venv/bin/pde

if [[ "$MODE" == test ]]; then
    ensure_chromium
    say "ruff"
    .venv/bin/ruff check src dashboard tests bench
    say "import-linter (the layers of docs/architecture.md)"
    .venv/bin/lint-imports --no-cache
    say "pytest"
    exec .venv/bin/python -m pytest -q
fi

count() {  # row count of a table, from `pde db status --json`
    $PDE db status --json | .venv/bin/python -c "import json,sys; print(json.load(sys.stdin)['row_counts']['$1'])"
}

say "database"
$PDE db init
if [[ "$(count customers)" == 0 ]]; then
    say "generating the demo bank (30,000 customers, 180 days)"
    $PDE generate --customers 30000 --days 180 --seed 7
fi
if ! $PDE model list --json | .venv/bin/python -c \
        "import json,sys; sys.exit(0 if any(m['status'] == 'champion' for m in json.load(sys.stdin)['models']) else 1)"; then
    say "training the first model (it becomes the champion)"
    $PDE train
fi
if [[ "$(count risk_scores)" == 0 ]]; then
    say "nightly scoring"
    $PDE nightly
fi
if [[ "$(count users)" == 0 ]]; then
    # a random first password, shown once; only its argon2 hash is stored
    password="$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(15))')"
    printf '%s\n' "$password" | $PDE users add admin --role admin --full-name "Administrator" >/dev/null
    say "created user 'admin' with password: $password   (shown once; change it or add officers with pde users add)"
fi
$PDE db status
say "dashboard on http://localhost:${PDE_PORT:-8501}  (Ctrl-C stops it; the REST API: .venv/bin/pde api)"
exec $PDE dashboard --port "${PDE_PORT:-8501}"
