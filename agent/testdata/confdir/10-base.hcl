data_dir   = "/srv/roam"
datacenter = "dc-base"

client {
  enabled = true
  servers = ["10.0.0.1:4647"]
  meta {
    rack = "r1"
    zone = "a"
  }
}
