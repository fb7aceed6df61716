server {
  enabled                     = true
  oidc_issuer                 = "https://nomad.example.com"
  root_key_rotation_threshold = "720h"
  acl_token_gc_threshold      = "2h"
}
