# Settings a production Nomad agent carries; Roam keeps what it uses typed
# and the rest in Extra.
region               = "eu"
data_dir             = "/var/lib/nomad"
leave_on_interrupt   = true
leave_on_terminate   = true
enable_syslog        = true
syslog_facility      = "LOCAL0"
disable_update_check = true
log_json             = true
log_file             = "/var/log/nomad/"
enable_debug         = true

http_api_response_headers = {
  "Access-Control-Allow-Origin" = "*"
}

acl {
  enabled   = true
  token_ttl = "30s"
}

ui {
  enabled = true
  label {
    text = "prod"
  }
}

tls {
  http      = true
  rpc       = true
  ca_file   = "/etc/nomad/ca.pem"
  cert_file = "/etc/nomad/cert.pem"
  key_file  = "/etc/nomad/key.pem"
}

telemetry {
  collection_interval        = "1s"
  publish_allocation_metrics = true
  prometheus_metrics         = true
}

consul {
  address = "127.0.0.1:8500"
}

vault {
  enabled = false
}

limits {
  http_max_conns_per_client = 100
}

autopilot {
  cleanup_dead_servers = true
}

audit {
  enabled = false
}

server {
  enabled           = true
  bootstrap_expect  = 5
  num_schedulers    = 4
  min_heartbeat_ttl = "20s"
  job_gc_threshold  = "4h"
  raft_protocol     = 3
  redundancy_zone   = "zone-a"
  retry_join        = ["10.0.0.2", "10.0.0.3"]
}

client {
  enabled           = true
  node_class        = "batch"
  node_pool         = "gpu"
  network_interface = "eth1"
  cpu_total_compute = 4000
  min_dynamic_port  = 21000
  max_dynamic_port  = 22000
  gc_interval       = "5m"
  max_kill_timeout  = "1m"
  cni_path          = "/opt/cni/bin"

  meta {
    rack = "r1"
  }

  options = {
    "driver.raw_exec.enable" = "1"
  }

  chroot_env = {
    "/bin" = "/bin"
  }

  reserved {
    cpu            = 500
    memory         = 512
    disk           = 1024
    reserved_ports = "22,80"
  }

  host_volume "certs" {
    path      = "/etc/ssl/certs"
    read_only = true
  }

  host_network "public" {
    cidr = "203.0.113.0/24"
  }
}
