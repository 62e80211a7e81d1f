#!/usr/bin/env bash
# The user guide's ./run_streamlit.sh (= make app = make run-frontend): the app on http://${HOST:-127.0.0.1}:${PORT:-8501}
# (HOST=0.0.0.0 opens it to the network, knowingly).
# Extra arguments go to `streamlit run`.
set -euo pipefail
cd "$(dirname "$0")"
if [ -x "${VENV:-.venv}/bin/streamlit" ]; then PATH="$PWD/${VENV:-.venv}/bin:$PATH"; fi
export STREAMLIT_SERVER_HEADLESS=true
export STREAMLIT_BROWSER_GATHER_USAGE_STATS=false
export STREAMLIT_CLIENT_TOOLBAR_MODE="${STREAMLIT_CLIENT_TOOLBAR_MODE:-viewer}"  # no deploy button for users
# The guide sets STREAMLIT_WATCH_EXCLUDE_MODULES=torch, kept here under its name; Streamlit (1.40-1.67) has
# no such option and ignores it. The option that keeps the file watcher from walking torch's modules
# (the "torch.classes" errors) is server.fileWatcherType; set it to auto to get reload-on-save back.
export STREAMLIT_WATCH_EXCLUDE_MODULES=torch
export STREAMLIT_SERVER_FILE_WATCHER_TYPE="${STREAMLIT_SERVER_FILE_WATCHER_TYPE:-none}"
exec streamlit run app/streamlit_app.py --server.address "${HOST:-127.0.0.1}" --server.port "${PORT:-8501}" "$@"
