server {
  enabled                 = true
  failover_heartbeat_ttl  = "2m"
  raft_snapshot_threshold = 2048
  raft_snapshot_interval  = "30s"
  raft_trailing_logs      = 4096
}
