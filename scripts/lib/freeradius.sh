# shellcheck shell=bash
# FreeRADIUS 3 (Debian's freeradius + freeradius-postgresql) as the
# comparison baseline for the RADIUS benchmark: a private, generated
# configuration, never /etc/freeradius. Source scripts/lib/common.sh first.
#
#   free_udp_port START               first UDP port >= START nobody has bound
#   freeradius_schema DSN N PREFIX PWPREFIX
#                                     loads FreeRADIUS's PostgreSQL schema into
#                                     the (empty) database DSN and N users
#                                     <PREFIX><i> with Cleartext-Password
#                                     <PWPREFIX><i> in radcheck
#   freeradius_config DIR AUTH ACCT SECRET CONNINFO WORKERS
#                                     writes DIR/radiusd.conf: one client
#                                     (127.0.0.1, SECRET), auth on AUTH and
#                                     accounting on ACCT at 127.0.0.1, WORKERS
#                                     threads and as many SQL connections
#   freeradius_start DIR              runs it in the foreground as a child of
#                                     the calling shell; sets FR_PID
#   freeradius_stop                   SIGTERM, wait (SIGKILL after 10 s)
#
# What it does, per request, against the same PostgreSQL as the OCS:
#   Access-Request: rlm_sql authorize (the stock radcheck and radreply
#     queries; groups and profiles off), rlm_pap checks the cleartext
#     password, post-auth adds a Class "fr:<User-Name>";
#   Accounting-Request: Acct-Unique-Session-Id = MD5 of User-Name,
#     Acct-Session-Id, NAS-IP-Address, NAS-Port; rlm_sql accounting with the
#     stock queries (Start inserts into radacct, Interim-Update and Stop
#     update it, octets plus gigawords << 32);
# every query is its own autocommit transaction: durable with the cluster's
# fsync and synchronous_commit.

readonly FR_BIN=/usr/sbin/freeradius
readonly FR_SQL_DIR=/etc/freeradius/3.0/mods-config/sql/main/postgresql
FR_PID=""

free_udp_port() {
  local port hex
  for ((port = $1; port < $1 + 1000; port++)); do
    hex=$(printf ':%04X' "$port")
    if ! awk -v p="$hex" 'substr($2, length($2) - 4) == p { found = 1 } END { exit !found }' \
      /proc/net/udp /proc/net/udp6 2>/dev/null; then
      printf '%s\n' "$port"
      return 0
    fi
  done
  die "no free UDP port in $1..$(($1 + 999))"
}

freeradius_schema() {
  local dsn=$1 n=$2 prefix=$3 pwprefix=$4
  [[ -r $FR_SQL_DIR/schema.sql ]] || die "$FR_SQL_DIR/schema.sql not found: is freeradius-postgresql installed?"
  "$PG_BIN/psql" "$dsn" -X -q -v ON_ERROR_STOP=1 -f "$FR_SQL_DIR/schema.sql" >/dev/null
  "$PG_BIN/psql" "$dsn" -X -q -v ON_ERROR_STOP=1 -v n="$n" -v prefix="$prefix" -v pw="$pwprefix" <<'EOF'
INSERT INTO radcheck (username, attribute, op, value)
  SELECT :'prefix' || g, 'Cleartext-Password', ':=', :'pw' || g FROM generate_series(0, :n - 1) AS g;
VACUUM (ANALYZE) radcheck;
EOF
}

freeradius_config() {
  local dir=$1 auth=$2 acct=$3 secret=$4 conninfo=$5 workers=$6
  [[ -x $FR_BIN ]] || die "$FR_BIN not found: is freeradius installed?"
  mkdir -p -- "$dir/log" "$dir/run" "$dir/radacct"
  chmod 0750 "$dir"
  # The dictionaries come from /usr/share/freeradius; this one only exists
  # because radiusd reads $raddbdir/dictionary.
  : >"$dir/dictionary"
  cat >"$dir/radiusd.conf" <<EOF
# Written by scripts/lib/freeradius.sh for the RADIUS benchmark.
prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = /usr/sbin
logdir = $dir/log
raddbdir = $dir
radacctdir = $dir/radacct
name = freeradius
confdir = \${raddbdir}
modconfdir = \${confdir}/mods-config
run_dir = $dir/run
db_dir = $dir
libdir = /usr/lib/freeradius
pidfile = \${run_dir}/radiusd.pid
correct_escapes = true
max_request_time = 30
cleanup_delay = 5
max_requests = 262144
hostname_lookups = no

log {
  destination = files
  file = \${logdir}/radius.log
  colourise = no
  auth = no
}

security {
  allow_core_dumps = no
  max_attributes = 200
  reject_delay = 0
  status_server = yes
}

thread pool {
  start_servers = $workers
  max_servers = $workers
  min_spare_servers = $workers
  max_spare_servers = $workers
  max_requests_per_server = 0
  auto_limit_acct = no
  max_queue_size = 65536
}

client bench {
  ipaddr = 127.0.0.1
  proto = udp
  secret = "$secret"
  require_message_authenticator = yes
  nas_type = other
}

modules {
  # %{tolower:...} (the stock accounting queries) and %{md5:...}
  expr {
  }
  pap {
    normalise = no
  }
  sql {
    dialect = "postgresql"
    driver = "rlm_sql_postgresql"
    postgresql {
      send_application_name = yes
    }
    radius_db = "$conninfo"
    acct_table1 = "radacct"
    acct_table2 = "radacct"
    postauth_table = "radpostauth"
    authcheck_table = "radcheck"
    groupcheck_table = "radgroupcheck"
    authreply_table = "radreply"
    groupreply_table = "radgroupreply"
    usergroup_table = "radusergroup"
    read_groups = no
    read_profiles = no
    delete_stale_sessions = no
    read_clients = no
    client_table = "nas"
    group_attribute = "SQL-Group"
    pool {
      start = $workers
      min = $workers
      max = $workers
      spare = 0
      uses = 0
      retry_delay = 1
      lifetime = 0
      idle_timeout = 0
    }
    \$INCLUDE $FR_SQL_DIR/queries.conf
  }
}

server default {
  listen {
    type = auth
    ipaddr = 127.0.0.1
    port = $auth
  }
  listen {
    type = acct
    ipaddr = 127.0.0.1
    port = $acct
  }
  authorize {
    sql
    pap
  }
  authenticate {
    Auth-Type PAP {
      pap
    }
  }
  post-auth {
    update reply {
      &Class := "fr:%{User-Name}"
    }
  }
  preacct {
    update request {
      &Acct-Unique-Session-Id := "%{md5:%{User-Name},%{Acct-Session-Id},%{NAS-IP-Address},%{NAS-Port}}"
    }
  }
  accounting {
    sql
  }
}
EOF
  chmod 0640 "$dir/radiusd.conf"
  local out
  out=$("$FR_BIN" -C -d "$dir" -n radiusd 2>&1) || {
    printf '%s\n' "$out" >&2
    die "FreeRADIUS refuses the generated configuration in $dir (above)"
  }
}

freeradius_start() {
  local dir=$1 t
  : >"$dir/log/radius.log"
  "$FR_BIN" -f -d "$dir" -n radiusd >"$dir/log/stdout.log" 2>&1 </dev/null &
  FR_PID=$!
  for ((t = 0; t < 300; t++)); do
    if ! kill -0 "$FR_PID" 2>/dev/null; then
      tail -n 20 "$dir/log/radius.log" "$dir/log/stdout.log" >&2
      FR_PID=""
      die "FreeRADIUS exited during start-up (log above)"
    fi
    grep -q 'Ready to process requests' "$dir/log/radius.log" 2>/dev/null && return 0
    sleep 0.05
  done
  tail -n 20 "$dir/log/radius.log" >&2
  die "FreeRADIUS is not ready after 15 s"
}

freeradius_stop() { stop_child FR_PID; }
