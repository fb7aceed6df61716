package client

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/hashicorp/nomad/api"
)

// defaultNodeMeta is the metadata every node has unless its configuration
// sets the keys otherwise: Nomad's defaults for the Connect proxies'
// images, log level and concurrency, which job files interpolate.
var defaultNodeMeta = map[string]string{
	"connect.sidecar_image":     "docker.io/envoyproxy/envoy:v${NOMAD_envoy_version}",
	"connect.gateway_image":     "docker.io/envoyproxy/envoy:v${NOMAD_envoy_version}",
	"connect.log_level":         "info",
	"connect.proxy_concurrency": "1",
}

// ErrInvalidNodeMeta refuses a dynamic metadata update.
var ErrInvalidNodeMeta = errors.New("invalid node metadata")

// staticNodeMeta is the metadata of the client's configuration over the
// defaults.
func staticNodeMeta(configured map[string]string) map[string]string {
	out := maps.Clone(defaultNodeMeta)
	maps.Copy(out, configured)
	return out
}

// mergeNodeMeta applies dynamic metadata over static: a nil value unsets
// the key.
func mergeNodeMeta(static map[string]string, dynamic map[string]*string) map[string]string {
	out := maps.Clone(static)
	for k, v := range dynamic {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = *v
		}
	}
	return out
}

// NodeMeta is the node's metadata: merged, dynamic (set through the API)
// and static (from the configuration).
func (c *Client) NodeMeta() *api.NodeMetaResponse {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return &api.NodeMetaResponse{Meta: maps.Clone(c.node.Meta), Dynamic: maps.Clone(c.dynamicMeta),
		Static: staticNodeMeta(c.cfg.Meta)}
}

// ApplyNodeMeta sets dynamic metadata (a nil value unsets a key, static
// or dynamic), persists it so that it outlives a restart, and registers
// the node again so that the servers (and constraints) see it.
func (c *Client) ApplyNodeMeta(update map[string]*string) (*api.NodeMetaResponse, error) {
	if len(update) == 0 {
		return nil, fmt.Errorf("%w: no metadata to apply", ErrInvalidNodeMeta)
	}
	for k := range update {
		if k == "" || strings.ContainsAny(k, " \t\n\"'") {
			return nil, fmt.Errorf("%w: key %q: must be non-empty, without spaces or quotes", ErrInvalidNodeMeta, k)
		}
	}
	c.metaMu.Lock()
	defer c.metaMu.Unlock()
	c.mu.RLock()
	dynamic := maps.Clone(c.dynamicMeta)
	c.mu.RUnlock()
	if dynamic == nil {
		dynamic = map[string]*string{}
	}
	maps.Copy(dynamic, update)
	if err := c.db.PutNodeMeta(dynamic); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.dynamicMeta = dynamic
	c.node.Meta = mergeNodeMeta(staticNodeMeta(c.cfg.Meta), dynamic)
	c.mu.Unlock()
	select {
	case c.metaChanged <- struct{}{}:
	default:
	}
	return c.NodeMeta(), nil
}

// watchNodeMeta registers the node again after each metadata update.
func (c *Client) watchNodeMeta(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.metaChanged:
			if _, err := c.register(ctx); err != nil {
				return
			}
		}
	}
}
