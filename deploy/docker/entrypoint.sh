#!/bin/sh
# Entry point of the Confianza image: runs `confianza <arguments>`.
#
# When CONFIANZA_CREDENTIALS_FILE names a file (the compose stack: the init job writes one per
# service with `confianza services add --credentials-dir`), its CONFIANZA_KAFKA__USERNAME and
# CONFIANZA_KAFKA__PASSWORD lines are exported first. The file is read, never executed; any
# other line is refused. On Kubernetes the password comes from CONFIANZA_KAFKA__PASSWORD_FILE
# (the KafkaUser's Secret) instead, and this variable is unset.
set -eu

if [ -n "${CONFIANZA_CREDENTIALS_FILE:-}" ]; then
    if [ ! -r "$CONFIANZA_CREDENTIALS_FILE" ]; then
        echo "error: cannot read CONFIANZA_CREDENTIALS_FILE=$CONFIANZA_CREDENTIALS_FILE" \
            "(has the init job run?)" >&2
        exit 2
    fi
    while IFS= read -r line || [ -n "$line" ]; do
        case "$line" in
            "" | "#"*) ;;
            CONFIANZA_KAFKA__USERNAME=*) export CONFIANZA_KAFKA__USERNAME="${line#*=}" ;;
            CONFIANZA_KAFKA__PASSWORD=*) export CONFIANZA_KAFKA__PASSWORD="${line#*=}" ;;
            *)
                echo "error: $CONFIANZA_CREDENTIALS_FILE: unexpected line" \
                    "(only CONFIANZA_KAFKA__USERNAME= and CONFIANZA_KAFKA__PASSWORD=)" >&2
                exit 2
                ;;
        esac
    done < "$CONFIANZA_CREDENTIALS_FILE"
fi

exec confianza "$@"
