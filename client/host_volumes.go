package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/structs"
)

// hostVolumeServers is what the client needs of the servers for dynamic
// host volumes; with servers that lack it the client makes none.
type hostVolumeServers interface {
	NodeHostVolumes(ctx context.Context, nodeID string, minIndex uint64, wait time.Duration) ([]*api.HostVolume, uint64, error)
	UpdateHostVolume(update *structs.HostVolumeUpdateArgs) error
}

// hostVolumesFile records, in the state dir, the dynamic host volumes
// this client made, so that a restarted client reports them at once.
const hostVolumesFile = "host_volumes.json"

// madeVolume is a dynamic host volume this client made.
type madeVolume struct {
	Name, Path string
}

// hostVolumeWait is how long one query for the node's volumes blocks.
const hostVolumeWait = 5 * time.Minute

// watchHostVolumes makes the volumes the servers place on this node and
// removes those deleted, until ctx ends.
func (c *Client) watchHostVolumes(ctx context.Context, hs hostVolumeServers) {
	var index uint64
	for ctx.Err() == nil {
		vols, next, err := hs.NodeHostVolumes(ctx, c.nodeID, index, hostVolumeWait)
		if err != nil {
			if ctx.Err() == nil {
				c.logger.Warn("query host volumes", "error", err)
			}
			sleepCtx(ctx, 2*time.Second)
			continue
		}
		index = next
		if c.syncHostVolumes(hs, vols) {
			if _, err := c.register(ctx); err != nil {
				return
			}
		}
	}
}

// syncHostVolumes makes the pending volumes, removes those no longer
// placed here and reports whether the node's host volumes changed.
func (c *Client) syncHostVolumes(hs hostVolumeServers, vols []*api.HostVolume) bool {
	made, err := loadMadeVolumes(c.cfg.StateDir)
	if err != nil {
		c.logger.Error("read host volume record", "error", err)
		return false
	}
	want := map[string]bool{}
	changed := false
	for _, v := range vols {
		want[v.ID] = true
		if _, ok := made[v.ID]; ok && v.State == api.HostVolumeStateReady {
			continue
		}
		path, err := c.makeVolume(v)
		update := &structs.HostVolumeUpdateArgs{ID: v.ID, HostPath: path, State: api.HostVolumeStateReady}
		if err != nil {
			c.logger.Error("make host volume", "volume", v.Name, "id", v.ID, "error", err)
			update.State, update.HostPath = api.HostVolumeStateUnavailable, ""
		} else {
			made[v.ID] = madeVolume{Name: v.Name, Path: path}
			changed = true
			c.logger.Info("host volume made", "volume", v.Name, "id", v.ID, "path", path)
		}
		if err := hs.UpdateHostVolume(update); err != nil {
			c.logger.Warn("report host volume", "id", v.ID, "error", err)
		}
	}
	for id, m := range made {
		if want[id] {
			continue
		}
		if err := os.RemoveAll(m.Path); err != nil {
			c.logger.Error("remove host volume", "volume", m.Name, "id", id, "error", err)
			continue
		}
		delete(made, id)
		changed = true
		c.logger.Info("host volume removed", "volume", m.Name, "id", id)
	}
	if !changed {
		return false
	}
	if err := saveMadeVolumes(c.cfg.StateDir, made); err != nil {
		c.logger.Error("write host volume record", "error", err)
	}
	c.mu.Lock()
	node := *c.node
	node.HostVolumes = nodeHostVolumes(c.cfg.HostVolumes, made)
	c.node = &node
	c.mu.Unlock()
	return true
}

// makeVolume is the built-in "mkdir" plugin: a directory named by the
// volume's ID under the client's host volumes directory, with the mode its
// `parameters { mode = "0755" }` asks for.
func (c *Client) makeVolume(v *api.HostVolume) (string, error) {
	if v.PluginID != structs.HostVolumePluginMkdir {
		return "", fmt.Errorf("plugin %q: this client has only the %q plugin", v.PluginID, structs.HostVolumePluginMkdir)
	}
	mode := os.FileMode(0o755)
	if s, ok := v.Parameters["mode"]; ok {
		m, err := strconv.ParseUint(s, 8, 32)
		if err != nil {
			return "", fmt.Errorf("parameter mode %q: want an octal mode such as 0755", s)
		}
		mode = os.FileMode(m)
	}
	path := filepath.Join(c.cfg.HostVolumesDir, v.ID)
	if err := os.MkdirAll(path, mode); err != nil {
		return "", err
	}
	return path, os.Chmod(path, mode)
}

// nodeHostVolumes are the node's host volumes: the configured ones and
// the dynamic ones this client made.
func nodeHostVolumes(static map[string]HostVolume, made map[string]madeVolume) map[string]*api.HostVolumeInfo {
	out := make(map[string]*api.HostVolumeInfo, len(static)+len(made))
	for name, hv := range static {
		out[name] = &api.HostVolumeInfo{Path: hv.Path, ReadOnly: hv.ReadOnly}
	}
	for id, m := range made {
		out[m.Name] = &api.HostVolumeInfo{Path: m.Path, ID: id}
	}
	return out
}

func loadMadeVolumes(stateDir string) (map[string]madeVolume, error) {
	made := map[string]madeVolume{}
	data, err := os.ReadFile(filepath.Join(stateDir, hostVolumesFile))
	if errors.Is(err, os.ErrNotExist) {
		return made, nil
	}
	if err != nil {
		return nil, err
	}
	return made, json.Unmarshal(data, &made)
}

func saveMadeVolumes(stateDir string, made map[string]madeVolume) error {
	data, err := json.Marshal(made)
	if err != nil {
		return err
	}
	tmp := filepath.Join(stateDir, hostVolumesFile+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(stateDir, hostVolumesFile))
}
