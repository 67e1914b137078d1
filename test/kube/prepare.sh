#!/usr/bin/env bash
# What the real-cluster tests need besides the node and the sparklogs images
# (test/run.sh does those): a Spark image per pinned Spark version, from
# Maven Central's jars (deploy/local/spark) and deploy/images/spark.Dockerfile,
# the Flink image (PyPI's Flink distribution and the test job,
# deploy/local/flink) and the Flume image (Maven Central's jars,
# deploy/local/flume), imported into the node's containerd. Everything is
# cached: a warm run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=../../deploy/local/versions.env
. deploy/local/versions.env
for v in "$SPARK3_VERSION" "$SPARK4_VERSION"; do
  ctx=$(bash deploy/local/spark image-context "$v")
  bash deploy/local/images build-one deploy/images/spark.Dockerfile "$ctx" "sparklogs/spark:$v"
done
bash deploy/local/images build-one deploy/images/flink.Dockerfile "$(bash deploy/local/flink image-context)" "sparklogs/flink:$FLINK_VERSION"
# The name deploy/flume/agent.yaml runs.
bash deploy/local/images build-one deploy/images/flume.Dockerfile "$(bash deploy/local/flume image-context)" "flume:$FLUME_VERSION"
bash deploy/local/images import
# Each run installs sparklogs afresh: a node kept from an earlier run still
# holds its objects, and its pods the images of then.
bash deploy/local/kube kubectl delete namespace sparklogs sparklogs-node spark-jobs kafka elastic \
  --ignore-not-found --wait=true --timeout=5m
