#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The etcd store against a real three-member etcd cluster with mutual TLS:
# tests/test-vault-store-etcd runs once per phase while members are stopped
# and started and the history is compacted here.
source "$top_srcdir/tests/lib.sh"
source "$top_srcdir/tests/etcd-cluster.sh"
trap 'etcd_cluster_cleanup; cleanup' EXIT

etcd_cluster_start "$WORK/etcd"
export CG_STORE_DIR=$WORK/store
mkdir -p "$CG_STORE_DIR"
phase () { CG_STORE_PHASE=$1 "$top_builddir/tests/test-vault-store-etcd" || fail "phase $1"; }

phase up
# Node B stops, A writes on; then etcd forgets the history B would need.
phase lag-prepare
etcdctl_cg compact "$(cat "$CG_STORE_DIR/a-revision")" >/dev/null || fail "etcdctl compact"
phase lag-resync
etcd_member_stop 1
etcd_member_stop 2
phase quorum-lost
etcd_member_start 1
etcd_member_start 2
etcd_cluster_wait_healthy
phase recovered
pass "etcd store against a three-member cluster"
