package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/hashicorp/nomad/api"
)

// linInput is one operation on the register that job "lin"'s meta value
// forms: a write of Value, or a read.
type linInput struct {
	write bool
	value string
}

// registerModel is a single register: writes replace its value, reads
// return it.
var registerModel = porcupine.Model{
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		in := input.(linInput)
		if in.write {
			return true, in.value
		}
		return output.(string) == state.(string), state
	},
	DescribeOperation: func(input, output any) string {
		in := input.(linInput)
		if in.write {
			return "write " + in.value
		}
		return fmt.Sprintf("read -> %q", output)
	},
}

// TestLinearizableJobWritesAndReadsAcrossLeaderCrash records concurrent
// job registrations and reads against every server while the leader is
// killed and restarted, and checks with porcupine that the history is
// linearizable: no acknowledged write is lost and no read goes back in time.
func TestLinearizableJobWritesAndReadsAcrossLeaderCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test")
	}
	c := startServersOnly(t)
	var (
		mu      sync.Mutex
		history []porcupine.Operation
		seq     int
	)
	start := time.Now()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for worker := 0; worker < 3; worker++ {
		wg.Add(1)
		go func(worker int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(worker), 7))
			for {
				select {
				case <-stop:
					return
				default:
				}
				srv := c.servers[rng.IntN(len(c.servers))]
				client, err := api.NewClient(&api.Config{Address: srv.httpURL, HttpClient: &http.Client{Timeout: 5 * time.Second}})
				if err != nil {
					continue
				}
				op := porcupine.Operation{ClientId: worker}
				if rng.IntN(2) == 0 {
					mu.Lock()
					seq++
					value := fmt.Sprintf("%d-%d", worker, seq)
					mu.Unlock()
					job := shellJob("lin", "service", 0, "true")
					job.Meta = map[string]string{"v": value}
					op.Input = linInput{write: true, value: value}
					op.Call = time.Since(start).Nanoseconds()
					_, _, err := client.Jobs().Register(job, nil)
					op.Output = ""
					if err != nil {
						// The write may or may not have happened: it stays
						// open until the end of the history.
						op.Return = -1
					} else {
						op.Return = time.Since(start).Nanoseconds()
					}
				} else {
					op.Input = linInput{}
					op.Call = time.Since(start).Nanoseconds()
					job, _, err := client.Jobs().Info("lin", nil)
					switch {
					case err != nil && strings.Contains(err.Error(), "404"):
						op.Output = ""
					case err != nil:
						continue
					default:
						op.Output = job.Meta["v"]
					}
					op.Return = time.Since(start).Nanoseconds()
				}
				mu.Lock()
				history = append(history, op)
				mu.Unlock()
				time.Sleep(time.Duration(20+rng.IntN(40)) * time.Millisecond)
			}
		}(worker)
	}

	time.Sleep(2 * time.Second)
	leader := c.leader(t, c.servers[0])
	t.Logf("killing leader %s", leader.name)
	leader.kill()
	time.Sleep(4 * time.Second)
	leader.start(t)
	time.Sleep(3 * time.Second)
	close(stop)
	wg.Wait()

	history = closeUncertainWrites(history, time.Since(start).Nanoseconds()+1)
	writes, reads := 0, 0
	for _, op := range history {
		if op.Input.(linInput).write {
			writes++
		} else {
			reads++
		}
	}
	t.Logf("history: %d writes, %d reads", writes, reads)
	if writes < 10 || reads < 10 {
		t.Fatalf("too few operations to judge: %d writes, %d reads", writes, reads)
	}
	result, _ := porcupine.CheckOperationsVerbose(registerModel, history, 60*time.Second)
	if result != porcupine.Ok {
		t.Fatalf("history is not linearizable (result %v)", result)
	}
}

// closeUncertainWrites settles writes whose outcome the client never
// learnt. One whose value some read returned did happen: it stays, open
// until the end of the history. One whose value nobody read can always be
// linearized last, where it changes nothing, so it is dropped; this keeps
// the checker's search small without weakening the check.
func closeUncertainWrites(history []porcupine.Operation, end int64) []porcupine.Operation {
	seen := map[string]bool{}
	for _, op := range history {
		if !op.Input.(linInput).write {
			seen[op.Output.(string)] = true
		}
	}
	var out []porcupine.Operation
	for _, op := range history {
		if op.Return == -1 {
			if !seen[op.Input.(linInput).value] {
				continue
			}
			op.Return = end
		}
		out = append(out, op)
	}
	return out
}

// startServersOnly starts three servers with no clients.
func startServersOnly(t testing.TB) *cluster {
	t.Helper()
	c := &cluster{}
	for i := 0; i < 3; i++ {
		c.servers = append(c.servers, newAgentProc(t, fmt.Sprintf("server%d", i), ""))
	}
	var serfAddrs []string
	for _, s := range c.servers {
		serfAddrs = append(serfAddrs, fmt.Sprintf("%q", s.serfAddr()))
	}
	for _, s := range c.servers {
		s.conf += fmt.Sprintf("server {\n  enabled = true\n  bootstrap_expect = 3\n  server_join {\n    retry_join = [%s]\n    retry_interval = \"1s\"\n  }\n}\n", strings.Join(serfAddrs, ", "))
		s.start(t)
	}
	t.Cleanup(func() {
		for _, s := range c.servers {
			s.stop()
		}
	})
	c.leader(t, c.servers[0])
	return c
}
