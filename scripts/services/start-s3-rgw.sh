#!/usr/bin/env bash
# Adapted from the team recipe (shared/services); the project carries its own copy.
# Start a throw-away Ceph RADOS Gateway (real S3 implementation, incl. Object Lock / WORM) on
# 127.0.0.1: one ceph-mon + one ceph-osd (memstore: objects in RAM, gone at stop) + radosgw.
# No cephx (auth none), no ceph-mgr, no systemd.
#
# usage: start-s3-rgw.sh DIR [RGW_PORT] [MON_PORT]
#   DIR       state dir (created; ceph.conf, mon store, logs, pid files, admin sockets)
#   RGW_PORT  S3 endpoint port (default 17480)
#   MON_PORT  ceph-mon port (default 16789); the OSD binds ports MON_PORT+1..MON_PORT+100
# env:
#   S3_ACCESS_KEY / S3_SECRET_KEY   S3 user created (default test / testsecret)
#   MEMSTORE_BYTES                  RAM the OSD may use for objects (default 2 GiB)
# needs: apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw ceph-common
# prints: endpoint, keys, PIDs and the stop command.
set -euo pipefail

DIR=${1:?usage: $0 DIR [RGW_PORT] [MON_PORT]}
RGW_PORT=${2:-17480}
MON_PORT=${3:-16789}
AK=${S3_ACCESS_KEY:-test}
SK=${S3_SECRET_KEY:-testsecret}
MEM=${MEMSTORE_BYTES:-2147483648}
for b in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph-authtool ceph; do
  command -v $b >/dev/null || { echo "$b missing: apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw ceph-common" >&2; exit 1; }
done

mkdir -p "$DIR"; DIR=$(cd "$DIR" && pwd)
if [ -s "$DIR/run/mon.a.pid" ] && kill -0 "$(cat "$DIR/run/mon.a.pid")" 2>/dev/null; then
  echo "a cluster is already running in $DIR" >&2; exit 1
fi
rm -rf "$DIR/mon" "$DIR/osd" "$DIR/run" "$DIR/monmap" "$DIR/keyring"   # memstore: nothing worth keeping
mkdir -p "$DIR/run" "$DIR/log" "$DIR/mon" "$DIR/osd/ceph-0"
FSID=$(cat /proc/sys/kernel/random/uuid)
CONF="$DIR/ceph.conf"
cat > "$CONF" <<CONF
[global]
fsid = $FSID
mon_host = v1:127.0.0.1:$MON_PORT
mon_initial_members = a
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_ipv6 = false
ms_bind_port_min = $((MON_PORT + 1))
ms_bind_port_max = $((MON_PORT + 100))
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
mon_max_pg_per_osd = 1000
osd_crush_chooseleaf_type = 0
# every pool create is a paxos round (default >= 1 s each; RGW makes ~7 pools): go faster
paxos_propose_interval = 0.05
paxos_min_wait = 0.01
# the mon shuts itself down when its disk has < 5 % free by default
mon_data_avail_warn = 1
mon_data_avail_crit = 0
run_dir = $DIR/run
admin_socket = $DIR/run/\$name.asok
pid_file = $DIR/run/\$name.pid
log_file = $DIR/log/\$name.log
mon_data = $DIR/mon/\$cluster-\$id
osd_data = $DIR/osd/\$cluster-\$id
keyring = $DIR/keyring
osd_objectstore = memstore
# With auth none the OSD can send its start-up "set-device-class"/"crush create-or-move"
# mon commands before it has the monmap (fsid 0) and dies with 'wrong fsid'; place it by hand.
osd_class_update_on_start = false
osd_crush_update_on_start = false
memstore_device_bytes = $MEM

[client.rgw.a]
rgw_frontends = beast endpoint=127.0.0.1:$RGW_PORT
# lifecycle worker sleeps in 5 s steps and delays shutdown; set true for bucket-lifecycle tests
rgw_enable_lc_threads = false
CONF

ts() { awk "BEGIN{printf \"%.1f\", $(date +%s.%N)-$1}"; }
t0=$(date +%s.%N)
ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
monmaptool --create --add a "v1:127.0.0.1:$MON_PORT" --fsid "$FSID" "$DIR/monmap" >/dev/null
ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/keyring"
ceph-mon -c "$CONF" -i a                            # daemonizes
timeout 30 ceph -c "$CONF" mon stat >/dev/null
echo "mon up after $(ts "$t0") s"

OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
OSD=$(timeout 30 ceph -c "$CONF" osd create "$OSD_UUID")   # -> 0
# the OSD must be made with the same uuid the mon registered, or it fails to boot ('wrong fsid')
ceph-osd -c "$CONF" -i "$OSD" --mkfs --osd-uuid "$OSD_UUID" >"$DIR/log/osd-mkfs.log" 2>&1
ceph -c "$CONF" osd crush add "osd.$OSD" 1.0 root=default >/dev/null 2>&1
ceph-osd -c "$CONF" -i "$OSD" 2>>"$DIR/log/osd-mkfs.log"
for _ in $(seq 1 120); do
  ceph -c "$CONF" osd stat 2>/dev/null | grep -q ' 1 up' && break
  sleep 0.25
done
ceph -c "$CONF" osd stat | grep -q ' 1 up' || { echo "osd did not come up" >&2; exit 1; }
echo "osd up after $(ts "$t0") s"

radosgw -c "$CONF" -n client.rgw.a                 # daemonizes; creates its pools first
for _ in $(seq 1 240); do
  (exec 3<>"/dev/tcp/127.0.0.1/$RGW_PORT") 2>/dev/null && break
  sleep 0.25
done
(exec 3<>"/dev/tcp/127.0.0.1/$RGW_PORT") 2>/dev/null || { echo "radosgw did not come up; see $DIR/log/client.rgw.a.log" >&2; exit 1; }
radosgw-admin -c "$CONF" user create --uid=test --display-name=test \
  --access-key="$AK" --secret-key="$SK" >/dev/null 2>&1
echo "rgw up after $(ts "$t0") s"

PIDS="$(cat "$DIR/run/client.rgw.a.pid") $(cat "$DIR/run/osd.0.pid") $(cat "$DIR/run/mon.a.pid")"
echo "ceph $(ceph -v | awk '{print $3}') radosgw up in $(ts "$t0") s, pids (rgw osd mon): $PIDS"
echo "  endpoint: http://127.0.0.1:$RGW_PORT  (path-style; any region name works)"
echo "  export AWS_ENDPOINT_URL=http://127.0.0.1:$RGW_PORT AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK AWS_DEFAULT_REGION=us-east-1"
echo "  admin: radosgw-admin -c $CONF ...   cluster: ceph -c $CONF -s   logs: $DIR/log/"
echo "stop: $(dirname "$0")/stop-pids.sh $PIDS   (about 2-7 s; memstore data is dropped)"
