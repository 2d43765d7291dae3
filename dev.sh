#!/usr/bin/env bash
# One entry point for people and CI:
#   ./dev.sh demo    set everything up, then run the seed's basic-tests control file locally
#   ./dev.sh test    set everything up, then run every test (Rust and Python)
#   ./dev.sh setup   only set up (apt and pip packages, the build, the Python module)
#   ./dev.sh bench   set up, then run the benchmarks recorded in BENCHMARKS.md
set -euo pipefail
cd "$(dirname "$0")"
export PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
PYTHON=${AUTOTEST_PYTHON:-python3}

# Debian packages: the workloads of the built-in tests, rsync, /usr/bin/time for benchmarks,
# sshd and ip for the machines the SSH and multi-machine tests start; make, patch, xz and diff
# for the kernel tests (a stand-in source tree built, patched and installed on lab machines);
# the legacy Perl conmux that the conmux compatibility tests run against; PostgreSQL, the lab
# database's scale-out store, started by the store tests as an unprivileged user.
APT_PACKAGES=(dbench bonnie++ rsync procps time python3-pip openssh-server openssh-client iproute2
              make patch xz-utils diffutils conmux postgresql)

say() { printf '\n== %s\n' "$*"; }

setup() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    # python3-pip is only needed where pip is absent (a system Python without it).
    if "$PYTHON" -m pip --version >/dev/null 2>&1; then
      missing=("${missing[@]/python3-pip}")
    fi
    say "apt-get install ${missing[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ${missing[*]}
  fi
  if ! "$PYTHON" -c 'import maturin, pytest' >/dev/null 2>&1 && ! { command -v maturin && "$PYTHON" -c 'import pytest'; } >/dev/null 2>&1; then
    say "pip install maturin pytest"
    "$PYTHON" -m pip install -q 'maturin>=1.5,<2' 'pytest>=7'
  fi
  # aiosmtpd: the real SMTP server the mirror's mail test starts.
  if ! "$PYTHON" -c 'import aiosmtpd' >/dev/null 2>&1; then
    say "pip install aiosmtpd"
    "$PYTHON" -m pip install -q 'aiosmtpd>=1.4'
  fi
  # mypy: the type stubs of the Python package are checked (stubtest, --strict on the example).
  if ! "$PYTHON" -c 'import mypy' >/dev/null 2>&1; then
    say "pip install mypy"
    "$PYTHON" -m pip install -q 'mypy>=1.10'
  fi
  say "cargo build (workspace)"
  cargo build --workspace -q
  say "build and install the Python package (maturin, abi3)"
  rm -rf target/wheels
  "$PYTHON" -m maturin build -q -m autotest-py/Cargo.toml -o target/wheels 2>/dev/null \
    || maturin build -q -m autotest-py/Cargo.toml -o target/wheels
  "$PYTHON" -m pip install -q --force-reinstall --no-deps target/wheels/autotest-*.whl
  # For the user's shell: bash-completion and man(1) look under ~/.local/share.
  local share=${XDG_DATA_HOME:-$HOME/.local/share} bin=${CARGO_TARGET_DIR:-target}/debug/autotest
  say "install bash completion and man pages under $share"
  mkdir -p "$share/bash-completion/completions" "$share/man/man1"
  "$bin" completions bash > "$share/bash-completion/completions/autotest"
  "$bin" man --dir "$share/man/man1" >/dev/null
}

demo() {
  setup
  say "autotest run examples/control/basic-tests (the seed's control file)"
  local code=0
  target/debug/autotest run --results results/demo examples/control/basic-tests || code=$?
  echo "exit code $code; results in results/demo (status log: results/demo/status)"
  return "$code"
}

run_tests() {
  setup
  say "format (cargo fmt --check: run cargo fmt --all to fix)"
  if cargo fmt --version >/dev/null 2>&1; then
    cargo fmt --all --check
  else
    echo "WARNING: rustfmt is not installed with this toolchain (rustup component add rustfmt); formatting NOT checked" >&2
  fi
  say "lints (clippy: library crates may not print or exit)"
  cargo clippy --workspace --all-targets -q -- -D warnings
  say "Rust tests (cargo nextest)"
  cargo nextest run --workspace --no-fail-fast
  say "Python tests (pytest)"
  (cd autotest-py && "$PYTHON" -m pytest -q tests)
}

bench() {
  setup
  say "criterion: status log parsing (and the legacy-style Python parser on the same log)"
  local log; log=$(mktemp)
  STATUS_LOG_BENCH_OUT=$log cargo bench -p autotest-benches --bench status_log
  "$PYTHON" benches/legacy_parse.py "$log" 5
  rm -f "$log"
  cargo build --release -q -p autotest-cli
  say "whole process: autotest run on a one-line sleeptest control file"
  bash benches/run_cost.sh
  say "lab database: a 1,000-test job parsed and stored, SQLite and PostgreSQL, beside the Python parse"
  cargo bench -p autotest-benches --bench store_parse
  say "one control file on 20 machines: autoserv beside OpenSSH processes"
  cargo bench -p autotest-benches --bench fanout
  say "copying back 10,000 files over SSH beside rsync and scp"
  cargo bench -p autotest-benches --bench tree_copy
  say "mirror: a cron run with nothing new beside rsync alone, on a kernel.org-sized tree"
  bash benches/mirror_cron.sh
  say "queue pickup latency: monitor-queue beside the legacy 10 s poll"
  "$PYTHON" benches/pickup_latency.py target/release/autotest 10
  say "conmux: console fan-out to 1/10/100 clients and added latency, beside direct TCP"
  cargo bench -p autotest-benches --bench conmux_fanout
}

case "${1:-}" in
  setup) setup ;;
  demo) demo ;;
  test) run_tests ;;
  bench) bench ;;
  *) echo "usage: $0 setup|demo|test|bench" >&2; exit 2 ;;
esac
