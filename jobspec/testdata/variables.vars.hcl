datacenters = ["dc1", "dc2"]
replicas    = 2
ports = {
  http    = 8080
  metrics = 9100
}
