package e2e

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// churnWrite is one acknowledged variable write.
type churnWrite struct {
	path, value string
	at          time.Time
}

// churnKill is one kill -9 of a server.
type churnKill struct {
	server string
	leader bool
	at     time.Time
	// window runs from the kill to the first write acknowledged after
	// it; elected, for a leader kill, to when another server first named
	// a new leader.
	window, elected time.Duration
	answered        bool
}

// TestChurnKeepsAcknowledgedWritesAndRecoversFast runs three server
// processes with a writer through each, and every few seconds kills a
// random server (the leader every other time, on average) with SIGKILL
// and starts it again. Every acknowledged
// variable write must be readable, with its value, on every server at the
// end; the unavailability window of each kill (from the kill to the first
// write acknowledged after it) is reported, median and max, for leader
// kills and for all kills.
func TestChurnKeepsAcknowledgedWritesAndRecoversFast(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test")
	}
	const chaosFor = 45 * time.Second
	c := startServersOnly(t)
	t.Cleanup(func() {
		if t.Failed() {
			for _, s := range c.servers {
				out, _ := os.ReadFile(filepath.Join(s.dir, "agent.log"))
				t.Logf("%s log:\n%s", s.name, tail(string(out), 30))
			}
		}
	})

	var (
		mu     sync.Mutex
		acked  []churnWrite
		errs   = map[string]int{}
		tried  int
		stop   = make(chan struct{})
		wg     sync.WaitGroup
		record = func(w *churnWrite, err error) {
			mu.Lock()
			defer mu.Unlock()
			tried++
			if err == nil {
				acked = append(acked, *w)
				return
			}
			errs[churnErrorKind(err)]++
		}
	)
	for i, srv := range c.servers {
		wg.Add(1)
		go func(i int, addr string) {
			defer wg.Done()
			client, err := api.NewClient(&api.Config{Address: addr, HttpClient: &http.Client{Timeout: 10 * time.Second}})
			if err != nil {
				t.Error(err)
				return
			}
			for seq := 0; ; seq++ {
				select {
				case <-stop:
					return
				default:
				}
				w := &churnWrite{path: fmt.Sprintf("churn/w%d/%d", i, seq), value: fmt.Sprint(seq)}
				_, _, err := client.Variables().Create(&api.Variable{Path: w.path, Items: api.VariableItems{"v": w.value}}, nil)
				w.at = time.Now()
				record(w, err)
				time.Sleep(25 * time.Millisecond)
			}
		}(i, srv.httpURL)
	}

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 16))
	// Room for every kill, so that the election timers can fill theirs in.
	kills := make([]churnKill, 0, 100)
	end := time.Now().Add(chaosFor)
	time.Sleep(2 * time.Second)
	for time.Now().Before(end) {
		c.waitAllServing(t)
		// Half the kills take the leader, so that each run measures a
		// few elections; the others take any server.
		leader := c.leader(t, c.other(nil))
		victim := c.servers[rng.IntN(len(c.servers))]
		if rng.IntN(2) == 0 {
			victim = leader
		}
		victim.kill()
		kills = append(kills, churnKill{server: victim.name, leader: victim == leader, at: time.Now()})
		if victim == leader {
			wg.Add(1)
			go func(k *churnKill, ask *agentProc, old string) {
				defer wg.Done()
				k.elected = timeToNewLeader(ask, old, k.at)
			}(&kills[len(kills)-1], c.other(victim), victim.rpcAddr())
		}
		time.Sleep(time.Duration(500+rng.IntN(1000)) * time.Millisecond)
		victim.start(t)
		time.Sleep(time.Duration(1500+rng.IntN(1500)) * time.Millisecond)
	}
	c.waitAllServing(t)
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	slices.SortFunc(acked, func(a, b churnWrite) int { return a.at.Compare(b.at) })
	var leaderWindows, allWindows []time.Duration
	for i := range kills {
		k := &kills[i]
		for _, w := range acked {
			if w.at.After(k.at) {
				k.window, k.answered = w.at.Sub(k.at), true
				break
			}
		}
		if !k.answered {
			t.Errorf("no write was acknowledged after the kill of %s at %s", k.server, k.at.Format(time.StampMilli))
			continue
		}
		allWindows = append(allWindows, k.window)
		if !k.leader {
			t.Logf("kill %2d: %s, a follower: first write acknowledged after %s", i+1, k.server, k.window.Round(time.Millisecond))
			continue
		}
		t.Logf("kill %2d: %s, the leader: new leader named after %s, first write acknowledged after %s", i+1, k.server, k.elected.Round(time.Millisecond), k.window.Round(time.Millisecond))
		leaderWindows = append(leaderWindows, k.window)
	}
	t.Logf("%d kills (%d of the leader); %d writes tried, %d acknowledged; failures by kind: %v", len(kills), len(leaderWindows), tried, len(acked), errs)
	t.Logf("unavailability per kill, all kills: median %s, max %s", median(allWindows), slices.Max(append(allWindows, 0)))
	if len(leaderWindows) > 0 {
		t.Logf("unavailability per kill, leader kills: median %s, max %s", median(leaderWindows), slices.Max(leaderWindows))
	}
	if len(kills) < 5 {
		t.Fatalf("only %d kills in %s", len(kills), chaosFor)
	}
	// A write no leader could take is a 503 to retry, never a 500.
	if n := errs["500"]; n > 0 {
		t.Errorf("%d writes failed with 500", n)
	}
	// Past the hold time, requests waiting for a leader give up with 503.
	if worst := slices.Max(append(allWindows, 0)); worst >= 5*time.Second {
		t.Errorf("the cluster took %s to take a write after a kill, beyond the 5 s requests wait for a leader", worst)
	}

	// Every acknowledged write is on every server, with its value: each
	// server's own state (a stale read served locally) opens each one.
	for _, s := range c.servers {
		client, err := api.NewClient(&api.Config{Address: s.httpURL})
		if err != nil {
			t.Fatal(err)
		}
		stale := &api.QueryOptions{AllowStale: true}
		waitUntil(t, 30*time.Second, s.name+" to catch up", func() bool {
			vars, _, err := client.Variables().PrefixList("churn/", stale)
			return err == nil && len(vars) >= len(acked)
		})
		lost, failed := 0, 0
		for _, w := range acked {
			v, _, err := client.Variables().Read(w.path, stale)
			switch {
			case errors.Is(err, api.ErrVariablePathNotFound):
				lost++
			case err != nil:
				failed++
				if failed <= 3 {
					t.Errorf("read %s on %s: %v", w.path, s.name, err)
				}
			case v.Items["v"] != w.value:
				lost++
			}
		}
		if lost > 0 || failed > 0 {
			t.Errorf("%s: %d of %d acknowledged writes lost, %d reads failed", s.name, lost, len(acked), failed)
		}
	}
}

// waitAllServing waits until every server answers and names the same live
// leader, so that a kill never takes the cluster below a quorum.
func (c *cluster) waitAllServing(t testing.TB) {
	t.Helper()
	waitUntil(t, 60*time.Second, "every server to follow one leader", func() bool {
		var leader string
		for _, s := range c.servers {
			l, err := s.client(t).Status().Leader()
			if err != nil || l == "" || (leader != "" && l != leader) {
				return false
			}
			leader = l
		}
		return true
	})
}

// timeToNewLeader polls ask until it names a leader other than old, and
// returns the time from since; 0 when none came within 30 s.
func timeToNewLeader(ask *agentProc, old string, since time.Time) time.Duration {
	client, err := api.NewClient(&api.Config{Address: ask.httpURL, HttpClient: &http.Client{Timeout: time.Second}})
	if err != nil {
		return 0
	}
	for time.Since(since) < 30*time.Second {
		if l, err := client.Status().Leader(); err == nil && l != "" && l != old {
			return time.Since(since)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0
}

// churnErrorKind sorts a failed write for the report.
func churnErrorKind(err error) string {
	var netErr net.Error
	msg := err.Error()
	switch {
	case strings.Contains(msg, "connection refused"):
		return "server down (connection refused)"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case strings.Contains(msg, "503"):
		return "503 no leader"
	case strings.Contains(msg, "500"):
		return "500"
	case strings.Contains(msg, "EOF") || strings.Contains(msg, "reset by peer"):
		return "server died mid-request"
	}
	return msg
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
