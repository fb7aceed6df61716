package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/roam-project/roam/client/allocrunner"
)

// ErrAllocNotTerminal is returned when garbage collecting an allocation
// whose tasks still run.
var ErrAllocNotTerminal = errors.New("allocation is not terminal")

// GCAlloc removes a terminal allocation's directory and state from this
// client.
func (c *Client) GCAlloc(ctx context.Context, allocID string) error {
	ar, err := c.AllocRunner(allocID)
	if err != nil {
		return err
	}
	if !ar.IsTerminal() {
		return fmt.Errorf("%w: %s", ErrAllocNotTerminal, allocID)
	}
	c.forget(ar)
	return ar.Destroy(ctx)
}

// GC removes every terminal allocation from this client.
func (c *Client) GC(ctx context.Context) error {
	c.mu.RLock()
	var terminal []*allocrunner.AllocRunner
	for _, ar := range c.allocs {
		if ar.IsTerminal() {
			terminal = append(terminal, ar)
		}
	}
	c.mu.RUnlock()
	var errs []error
	for _, ar := range terminal {
		c.forget(ar)
		errs = append(errs, ar.Destroy(ctx))
	}
	return errors.Join(errs...)
}

func (c *Client) forget(ar *allocrunner.AllocRunner) {
	c.mu.Lock()
	delete(c.allocs, ar.ID())
	c.mu.Unlock()
}
