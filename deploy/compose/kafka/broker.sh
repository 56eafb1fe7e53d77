#!/bin/bash
# Starts one broker of the compose Kafka cluster (the apache/kafka image's own entry point cannot
# add SCRAM credentials at format time, which SASL inter-broker login needs).
#
# KRaft, combined broker + controller, three voters; SASL/SCRAM-SHA-512 on the client and
# inter-broker listeners, the StandardAuthorizer with allow.everyone.if.no.acl.found=false
# (the same settings as the local harness, confianza/dev/kafka.py, at replication 3).
# Listeners: INTERNAL kafka-<n>:9092 for the stack, EXTERNAL 127.0.0.1:<EXTERNAL_PORT> for the
# host, CONTROLLER :9093 (plaintext, reachable only on the compose network; its ANONYMOUS
# principal is the controllers' own). KAFKA_HOME, KAFKA_DATA_DIR and KAFKA_CONFIG_FILE default to
# the image's paths (the tests point them elsewhere).
set -euo pipefail

: "${NODE_ID:?}" "${CLUSTER_ID:?}" "${CONTROLLER_QUORUM_VOTERS:?}" "${EXTERNAL_PORT:?}"
: "${KAFKA_ADMIN_PASSWORD:?set KAFKA_ADMIN_PASSWORD in deploy/compose/.env}"
case "$KAFKA_ADMIN_PASSWORD" in
    *[!A-Za-z0-9_-]*)
        echo "error: KAFKA_ADMIN_PASSWORD may hold only letters, digits, '_' and '-'" >&2
        exit 2
        ;;
esac

kafka_home=${KAFKA_HOME:-/opt/kafka}
data=${KAFKA_DATA_DIR:-/var/lib/kafka/data}
config=${KAFKA_CONFIG_FILE:-/tmp/server.properties}
jaas="org.apache.kafka.common.security.scram.ScramLoginModule required"

cat > "$config" <<PROPERTIES
process.roles=broker,controller
node.id=${NODE_ID}
controller.quorum.voters=${CONTROLLER_QUORUM_VOTERS}
listeners=INTERNAL://:9092,CONTROLLER://:9093,EXTERNAL://:${EXTERNAL_PORT}
advertised.listeners=INTERNAL://kafka-${NODE_ID}:9092,EXTERNAL://127.0.0.1:${EXTERNAL_PORT}
listener.security.protocol.map=INTERNAL:SASL_PLAINTEXT,EXTERNAL:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=INTERNAL
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.internal.scram-sha-512.sasl.jaas.config=${jaas} username="admin" password="${KAFKA_ADMIN_PASSWORD}";
listener.name.external.scram-sha-512.sasl.jaas.config=${jaas};
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin;User:ANONYMOUS
allow.everyone.if.no.acl.found=false
auto.create.topics.enable=false
log.dirs=${data}
num.partitions=3
default.replication.factor=3
min.insync.replicas=2
unclean.leader.election.enable=false
offsets.topic.replication.factor=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
group.initial.rebalance.delay.ms=3000
PROPERTIES

"$kafka_home/bin/kafka-storage.sh" format --ignore-formatted \
    --cluster-id "$CLUSTER_ID" --config "$config" \
    --add-scram "SCRAM-SHA-512=[name=admin,password=${KAFKA_ADMIN_PASSWORD}]"
exec "$kafka_home/bin/kafka-server-start.sh" "$config"
