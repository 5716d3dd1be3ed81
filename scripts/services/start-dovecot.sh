#!/usr/bin/env bash
# Adapted from the team recipe (shared/services); the project carries its own copy.
# Start a throw-away Dovecot (IMAP + IMAPS + LMTP) on 127.0.0.1 for tests.
#
# usage: start-dovecot.sh DIR [IMAP_PORT] [IMAPS_PORT] [LMTP_PORT]
#   DIR         state dir (created; config, certs, Maildirs, logs go there). Keep it
#               short: Dovecot's unix sockets live under DIR/run (108-byte limit).
#   IMAP_PORT   plaintext IMAP (default 10143, LOGIN allowed without TLS)
#   IMAPS_PORT  implicit-TLS IMAP (default 10993, self-signed cert DIR/tls/cert.pem)
#   LMTP_PORT   LMTP delivery (default 10024)
# env:
#   DOVECOT_USERS  "user:password ..." (default "alice:alice-pw bob:bob-pw")
#   MAIL_OWNER     unix user:group owning the Maildirs (default nobody:nogroup;
#                  Dovecot refuses uid 0 for mail access)
# needs: apt-get install -y dovecot-imapd dovecot-lmtpd openssl
# prints: PID, ports, and the stop command. Exit 1 if it did not come up in 15 s.
set -euo pipefail

DIR=${1:?usage: $0 DIR [IMAP_PORT] [IMAPS_PORT] [LMTP_PORT]}
IMAP_PORT=${2:-10143}
IMAPS_PORT=${3:-10993}
LMTP_PORT=${4:-10024}
USERS=${DOVECOT_USERS:-"alice:alice-pw bob:bob-pw"}
MAIL_OWNER=${MAIL_OWNER:-nobody:nogroup}
MAIL_UID=${MAIL_OWNER%%:*}
MAIL_GID=${MAIL_OWNER##*:}

command -v dovecot >/dev/null || { echo "dovecot not installed: apt-get install -y dovecot-imapd dovecot-lmtpd" >&2; exit 1; }

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
# login processes (user dovenull) and auth (user dovecot) must traverse DIR
chmod 0755 "$DIR"
mkdir -p "$DIR/tls" "$DIR/state" "$DIR/mail"
chown "$MAIL_OWNER" "$DIR/mail"

if [ ! -s "$DIR/tls/cert.pem" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$DIR/tls/key.pem" -out "$DIR/tls/cert.pem" 2>/dev/null
  chmod 0600 "$DIR/tls/key.pem"
fi

# passwd-file: user:{SCHEME}password:uid:gid:gecos:home:shell:extra (only 2 fields used)
: > "$DIR/users"
for up in $USERS; do
  echo "${up%%:*}:{PLAIN}${up#*:}::::::" >> "$DIR/users"
done
chmod 0644 "$DIR/users"   # read by the auth process, which runs as user 'dovecot'

cat > "$DIR/dovecot.conf" <<CONF
# Self-contained Dovecot 2.3 config for tests (nothing read from /etc/dovecot).
instance_name = dovecot-test-$IMAP_PORT
base_dir = $DIR/run
state_dir = $DIR/state
log_path = $DIR/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1

ssl = yes
ssl_cert = <$DIR/tls/cert.pem
ssl_key = <$DIR/tls/key.pem
ssl_dh = </usr/share/dovecot/dh.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
# auth_verbose = yes
# mail_debug = yes

passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $DIR/users
}
# passwd-file as userdb too (a static userdb cannot be iterated: doveadm -A fails)
userdb {
  driver = passwd-file
  args = username_format=%u $DIR/users
  default_fields = uid=$MAIL_UID gid=$MAIL_GID home=$DIR/mail/%u
}
mail_location = maildir:~/Maildir

namespace inbox {
  inbox = yes
  separator = /
  mailbox Sent {
    special_use = \Sent
    auto = subscribe
  }
  mailbox Trash {
    special_use = \Trash
    auto = subscribe
  }
  mailbox Archive {
    special_use = \Archive
    auto = subscribe
  }
}

protocol imap {
  mail_max_userip_connections = 200
  imap_idle_notify_interval = 2 mins
}
# fallback poll interval if inotify is unavailable (IDLE / NOTIFY latency)
mailbox_idle_check_interval = 1 secs

service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_PORT
    ssl = yes
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $LMTP_PORT
  }
}
protocol lmtp {
  # LMTP RCPT "alice@example.test" -> user "alice"
  auth_username_format = %Ln
}
CONF

if [ -s "$DIR/run/master.pid" ] && kill -0 "$(cat "$DIR/run/master.pid")" 2>/dev/null; then
  echo "dovecot already running in $DIR (pid $(cat "$DIR/run/master.pid"))" >&2; exit 1
fi

greet() {  # greet PORT PREFIX: true if the server's first line starts with PREFIX
  local line
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
  IFS= read -r -t 2 line <&3 || { exec 3<&-; return 1; }
  exec 3<&-
  [[ "$line" == "$2"* ]]
}

t0=$(date +%s.%N)
dovecot -c "$DIR/dovecot.conf"          # daemonizes; master pid -> $DIR/run/master.pid
for _ in $(seq 1 150); do
  # ports accept as soon as the master binds them; imap-login greets only once
  # auth is ready, so wait for the "* OK" greeting (and LMTP's "220").
  if greet "$IMAP_PORT" '* OK' && greet "$LMTP_PORT" '220 ' \
     && (exec 3<>"/dev/tcp/127.0.0.1/$IMAPS_PORT") 2>/dev/null; then
    t1=$(date +%s.%N)
    PID=$(cat "$DIR/run/master.pid")
    echo "dovecot up in $(awk "BEGIN{printf \"%.2f\", $t1-$t0}") s, pid $PID"
    echo "  imap  127.0.0.1:$IMAP_PORT (plaintext LOGIN ok)"
    echo "  imaps 127.0.0.1:$IMAPS_PORT (cert $DIR/tls/cert.pem)"
    echo "  lmtp  127.0.0.1:$LMTP_PORT"
    echo "  users: $USERS"
    echo "  deliver: doveadm -c $DIR/dovecot.conf save -u alice -m INBOX < msg.eml"
    echo "       or: /usr/lib/dovecot/dovecot-lda -c $DIR/dovecot.conf -d alice -m INBOX < msg.eml"
    echo "  log: $DIR/dovecot.log"
    echo "stop: kill $PID   (or: doveadm -c $DIR/dovecot.conf stop)"
    exit 0
  fi
  sleep 0.1
done
echo "dovecot did not come up; log:" >&2
tail -20 "$DIR/dovecot.log" >&2 || true
exit 1
