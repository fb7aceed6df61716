# The Nomad tutorial's server, with the common optional settings.
name       = "server-1"
datacenter = "dc1"
data_dir   = "/opt/nomad/data"
bind_addr  = "0.0.0.0"
log_level  = "INFO"

advertise {
  http = "10.0.0.10"
  rpc  = "10.0.0.10"
  serf = "10.0.0.10:4648"
}

ports {
  http = 4646
}

server {
  enabled          = true
  bootstrap_expect = 3
  heartbeat_grace  = "30s"
  encrypt          = "cg8StVXbQJ0gPvMd9o7yrg=="

  server_join {
    retry_join     = ["10.0.0.1"]
    retry_interval = "15s"
  }
}

client {
  enabled = true
  servers = ["10.0.0.10:4647"]
}

plugin "raw_exec" {
  config {
    enabled = true
  }
}

plugin "docker" {
  config {
    allow_privileged = true
    volumes {
      enabled = true
    }
  }
}
