#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# store/cg-etcd against a real three-member etcd cluster with mutual TLS:
# tests/test-etcd runs once per phase while members are stopped and
# started here.
source "$top_srcdir/tests/lib.sh"
source "$top_srcdir/tests/etcd-cluster.sh"
trap 'etcd_cluster_cleanup; cleanup' EXIT

etcd_cluster_start "$WORK/etcd"
phase () { CG_ETCD_PHASE=$1 "$top_builddir/tests/test-etcd" || fail "phase $1"; }

phase up
etcd_member_stop 1
phase first-down
etcd_member_stop 2
phase quorum-lost
etcd_member_start 1
etcd_member_start 2
etcd_cluster_wait_healthy
phase recovered
pass "etcd client against a three-member cluster"
