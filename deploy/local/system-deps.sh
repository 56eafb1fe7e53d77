#!/usr/bin/env bash
# Installs the system tools the tests and the demo need, from Debian packages, if missing:
# Java 17 and Maven (the local Kafka broker), kcat (non-Python client tests), Prometheus with
# promtool (rules and scrape tests). Fails loudly when a tool is missing and cannot be installed.
set -euo pipefail

declare -A package_of=(
  [java]=openjdk-17-jre-headless
  [mvn]=maven
  [kcat]=kcat
  [promtool]=prometheus
  [prometheus]=prometheus
)

missing=()
for tool in java mvn kcat promtool prometheus; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${package_of[$tool]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
echo "installing system packages: $packages"
if [ "$(id -u)" -eq 0 ]; then
  apt_get=(apt-get)
elif command -v sudo >/dev/null 2>&1; then
  apt_get=(sudo apt-get)
else
  echo "error: missing $packages and no root/sudo to install them; install them and retry" >&2
  exit 2
fi
export DEBIAN_FRONTEND=noninteractive
"${apt_get[@]}" update -qq
# shellcheck disable=SC2086
"${apt_get[@]}" install -y -qq --no-install-recommends $packages >/dev/null
for tool in java mvn kcat promtool prometheus; do
  command -v "$tool" >/dev/null 2>&1 || { echo "error: $tool is still missing after installing $packages" >&2; exit 2; }
done
