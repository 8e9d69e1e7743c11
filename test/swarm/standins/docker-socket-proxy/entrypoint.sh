#!/bin/sh
# Stand-in for tecnativa/docker-socket-proxy:0.3.0 (HAProxy in front of the Docker socket), on
# Debian's HAProxy. Same interface and rules as the image (its Dockerfile and haproxy.cfg): one
# environment variable per API section, 1 to allow it; POST=0 refuses every method but GET and
# HEAD; a request is allowed when its path (after an optional /v1.xx and one optional segment)
# starts with an allowed section; everything else is answered 403. Listens on :2375.
# Written here, not copied; weaker than the image only in the HAProxy version (2.6 vs 3.x).
set -eu
cfg=/tmp/haproxy.cfg
on() { case "${1:-0}" in 1|true|yes|on|True|TRUE) return 0 ;; *) return 1 ;; esac; }
section_path() {
  case "$1" in
    PING) echo _ping ;;
    *) echo "$1" | tr 'A-Z' 'a-z' ;;
  esac
}
{
  cat <<CFG
global
    log stdout format raw local0 info
    maxconn 4000

defaults
    mode http
    log global
    option httplog
    option dontlognull
    option http-server-close
    timeout http-request 10s
    timeout connect 10s
    timeout client 10m
    timeout server 10m

backend docker
    server socket ${SOCKET_PATH:-/var/run/docker.sock}

frontend api
CFG
  # The image binds [::]:2375 for v4 and v6 unless DISABLE_IPV6 is set; a container without IPv6
  # (Docker's default on an IPv4 overlay) can only bind v4.
  if ! on "${DISABLE_IPV6:-0}" && [ "$(cat /proc/sys/net/ipv6/conf/all/disable_ipv6 2>/dev/null || echo 1)" = 0 ]; then
    echo "    bind :::2375 v4v6"
  else
    echo "    bind 0.0.0.0:2375"
  fi
  on "${POST:-0}" || echo "    http-request deny unless METH_GET"
  for s in AUTH BUILD COMMIT CONFIGS CONTAINERS DISTRIBUTION EVENTS EXEC GRPC IMAGES INFO NETWORKS NODES PING PLUGINS SECRETS SERVICES SESSION SWARM SYSTEM TASKS VERSION VOLUMES; do
    eval "value=\${$s:-0}"
    on "$value" && echo "    http-request allow if { path,url_dec -m reg -i ^(/v[0-9.]+)?(/[A-Za-z0-9_]+)?/$(section_path "$s") }"
  done
  echo "    http-request deny"
  echo "    default_backend docker"
} > "$cfg"
exec haproxy -db -f "$cfg"
