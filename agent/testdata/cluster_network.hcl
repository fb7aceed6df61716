client {
  enabled = true
  cluster_network {
    cidr           = "10.42.0.0/16"
    overlay        = "wireguard"
    fallback       = "vxlan"
    wireguard_port = 51821
  }
}
