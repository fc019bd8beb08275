# shellcheck shell=bash
# Helpers shared by scripts/demo and scripts/test. Source this file; it
# defines OCS_ROOT (the checkout) and PG_BIN, and functions, nothing else.
#
#   ensure_packages                   install what scripts/deps.txt lists and dpkg lacks
#   build DIR [CMAKE_ARGS...] [-- TARGETS...]
#                                     configure and build with 2 jobs at most
#   free_port START                   first port >= START no TCP socket uses
#   tcp_port_used PORT [STATE]        a TCP socket has PORT as its local port
#   listening PORT                    something listens on TCP port PORT
#   pg_cluster_init DIR PORT          new private PostgreSQL 15 cluster in DIR
#   pg_cluster_start DIR              start it (no-op when running)
#   pg_cluster_running DIR            true when its server is up
#   pg_cluster_stop DIR               stop it (no-op when stopped)
#   pg_cluster_destroy DIR            stop it and delete DIR
#   stop_child VAR                    SIGTERM to the child whose PID is in
#                                     variable VAR, SIGKILL after 10 s, reap
#                                     it, empty VAR (no-op when empty)
#
# A cluster directory holds data/ (PGDATA), run/ (the Unix socket) and
# server.log. The server listens on 127.0.0.1 only and trusts every local
# connection: that is for the demo and the tests, never for production.
#
# PostgreSQL refuses to run as root. As root, the server runs as the owner
# of DIR, or as the system user "postgres" (created by the postgresql
# package) when root owns DIR; as anyone else it runs as that user.
#
# The cluster the Debian package starts on port 5432 is never touched.

OCS_ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
PG_BIN=/usr/lib/postgresql/15/bin

info() { printf '==> %s\n' "$*" >&2; }
warn() { printf '==> warning: %s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# --- packages ----------------------------------------------------------------

# Runs a command as root: directly, else through sudo (which may only ask
# for a password when there is a terminal to ask on).
as_root() {
  if ((EUID == 0)); then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    if [[ -t 0 ]]; then sudo -- "$@"; else sudo -n -- "$@"; fi
  else
    die "root is needed to run: $* (run as root, or install sudo)"
  fi
}

# The packages of scripts/deps.txt that dpkg does not report installed.
missing_packages() {
  local pkg _
  while read -r pkg _; do
    [[ -z $pkg || $pkg == '#'* ]] && continue
    if [[ $(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null) != installed ]]; then
      printf '%s\n' "$pkg"
    fi
  done <"$OCS_ROOT/scripts/deps.txt"
}

# Installs the missing packages quietly; apt's output is shown only when it
# fails. The package lists are refreshed at most once: first if there are
# none (a fresh container), else only if installing without it fails.
ensure_packages() {
  local -a missing
  mapfile -t missing < <(missing_packages)
  ((${#missing[@]})) || return 0
  info "installing Debian packages: ${missing[*]}"

  local -a apt=(env DEBIAN_FRONTEND=noninteractive apt-get -q -y -o Dpkg::Use-Pty=0)
  local log updated=0
  log=$(mktemp)
  if ! compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null; then
    as_root "${apt[@]}" update >"$log" 2>&1 || { cat "$log" >&2; rm -f "$log"; die "apt-get update failed"; }
    updated=1
  fi
  if ! as_root "${apt[@]}" install --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
    if ((updated)); then
      cat "$log" >&2
      rm -f "$log"
      die "apt-get install failed"
    fi
    if ! { as_root "${apt[@]}" update && as_root "${apt[@]}" install --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
      cat "$log" >&2
      rm -f "$log"
      die "apt-get install failed"
    fi
  fi
  rm -f "$log"
  mapfile -t missing < <(missing_packages)
  ((${#missing[@]} == 0)) || die "still missing after apt-get install: ${missing[*]}"
}

# --- building ----------------------------------------------------------------

# build DIR [CMAKE_ARGS...] [-- TARGETS...]: configures the checkout into DIR
# and builds the given targets (default: all) with at most two jobs.
build() {
  local dir=$1
  shift
  local -a cmake_args=() targets=()
  while (($#)); do
    if [[ $1 == -- ]]; then
      shift
      targets=("$@")
      break
    fi
    cmake_args+=("$1")
    shift
  done
  info "building in ${dir#"$OCS_ROOT"/}"
  cmake -S "$OCS_ROOT" -B "$dir" --log-level=WARNING "${cmake_args[@]}"
  if ((${#targets[@]})); then
    cmake --build "$dir" -j2 --target "${targets[@]}"
  else
    cmake --build "$dir" -j2
  fi
}

# --- PostgreSQL --------------------------------------------------------------

# tcp_port_used PORT [STATE]: true when a TCP socket of this network
# namespace (v4 or v6, any address) has PORT as its local port, in STATE when
# given (/proc/net/tcp's hex state: 0A is LISTEN). No iproute2 needed.
tcp_port_used() {
  local hex
  hex=$(printf ':%04X' "$1")
  awk -v p="$hex" -v st="${2:-}" '(st == "" || $4 == st) && substr($2, length($2) - 4) == p { found = 1 }
    END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# listening PORT: something listens on TCP port PORT.
listening() { tcp_port_used "$1" 0A; }

# free_port START: prints the first port from START up that no TCP socket
# uses: not only no listener, but no connection either, since a connection
# in TIME-WAIT on an ephemeral port makes freeDiameterd's bind fail.
free_port() {
  local port
  for ((port = $1; port < $1 + 1000; port++)); do
    if ! tcp_port_used "$port"; then
      printf '%s\n' "$port"
      return 0
    fi
  done
  die "no free TCP port in $1..$(($1 + 999))"
}

# The user the server of cluster DIR runs as (only asked when root).
pg_owner() {
  local owner
  owner=$(stat -c %U -- "$1")
  if [[ $owner == root ]]; then owner=postgres; fi
  printf '%s\n' "$owner"
}

# pg_as DIR CMD...: runs CMD as the cluster's user, from "/" so that a
# working directory that user cannot enter does not matter.
pg_as() {
  local dir=$1
  shift
  if ((EUID != 0)); then
    "$@"
  else
    local user
    user=$(pg_owner "$dir")
    (cd / && setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups --reset-env -- "$@")
  fi
}

# Absolute, symlink-free path of an existing directory.
pg_abs() { (cd -- "$1" && pwd -P); }

pg_cluster_init() {
  local dir=$1 port=$2
  [[ -n $dir && -n $port ]] || die "usage: pg_cluster_init DIR PORT"
  [[ ! -e $dir/data/PG_VERSION ]] || die "$dir already holds a cluster"
  [[ -x $PG_BIN/initdb ]] || die "$PG_BIN/initdb not found: is postgresql-15 installed?"
  mkdir -p -- "$dir"
  dir=$(pg_abs "$dir")
  chmod 0700 "$dir"
  if ((EUID == 0)); then
    getent passwd postgres >/dev/null || die "no system user 'postgres' (it comes with the postgresql package)"
    [[ $(stat -c %U -- "$dir") != root ]] || chown postgres: "$dir"
    pg_as "$dir" test -w "$dir" ||
      die "user $(pg_owner "$dir") cannot reach $dir (a parent directory is closed to it): run as a normal user, or from a checkout it can enter"
  fi
  # The socket path must fit in sun_path (107 bytes).
  local socket="$dir/run/.s.PGSQL.$port"
  ((${#socket} < 108)) || die "cluster path too long for a Unix socket: $socket"

  pg_as "$dir" mkdir -m 0700 "$dir/run"
  local out
  if ! out=$(pg_as "$dir" "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust \
    --encoding=UTF8 --locale=C.UTF-8 --no-instructions 2>&1); then
    printf '%s\n' "$out" >&2
    die "initdb failed in $dir"
  fi

  # Later settings win, so appending overrides initdb's defaults. fsync and
  # synchronous_commit stay on: the demo's data survives a crash.
  pg_as "$dir" tee -a "$dir/data/postgresql.conf" >/dev/null <<EOF

# --- set by scripts/lib/common.sh (pg_cluster_init) ---
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir/run'
fsync = on
synchronous_commit = on
full_page_writes = on
EOF
  pg_as "$dir" tee "$dir/data/pg_hba.conf" >/dev/null <<'EOF'
# Written by scripts/lib/common.sh for the demo and test clusters ONLY:
# "trust" lets anyone who can reach the socket or 127.0.0.1 connect as any
# role without a password. A production database needs scram-sha-256 (or
# certificates) and sslmode=verify-full; see config/ocs.example-production.toml.
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  trust
host    all       all   127.0.0.1/32   trust
EOF
}

pg_cluster_running() {
  local dir=$1
  [[ -f $dir/data/PG_VERSION ]] || return 1
  pg_as "$dir" "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
}

pg_cluster_start() {
  local dir=$1
  [[ -f $dir/data/PG_VERSION ]] || die "no cluster in $dir (pg_cluster_init first)"
  dir=$(pg_abs "$dir")
  if pg_cluster_running "$dir"; then
    info "PostgreSQL already running in $dir"
    return 0
  fi
  if ! pg_as "$dir" "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -s start >/dev/null; then
    tail -n 20 "$dir/server.log" >&2 || true
    die "PostgreSQL did not start (log: $dir/server.log)"
  fi
}

pg_cluster_stop() {
  local dir=$1
  [[ -d $dir ]] || return 0
  pg_cluster_running "$dir" || return 0
  pg_as "$dir" "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 -s stop
}

pg_cluster_destroy() {
  local dir=$1
  [[ -n $dir && -d $dir ]] || return 0
  dir=$(pg_abs "$dir")
  [[ $dir != / && $dir != "$OCS_ROOT" ]] || die "refusing to delete $dir"
  pg_cluster_stop "$dir" || true
  rm -rf -- "$dir"
}

# --- child processes ---------------------------------------------------------

stop_child() {
  local -n child_pid=$1
  [[ -n $child_pid ]] || return 0
  local t
  if kill -0 "$child_pid" 2>/dev/null; then
    kill -TERM "$child_pid" 2>/dev/null || true
    for ((t = 0; t < 100; t++)); do
      kill -0 "$child_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$child_pid" 2>/dev/null || true
  fi
  wait "$child_pid" 2>/dev/null || true
  child_pid=""
}
