package services

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"
)

// ExecFunc runs a command inside a task of the allocation and returns its
// exit code and output: how script checks reach into the task.
type ExecFunc func(ctx context.Context, task string, cmd []string) (int, []byte, error)

// probe performs the check once and returns its result.
func (c *Check) probe(ctx context.Context, exec ExecFunc) api.AllocCheckStatus {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	res := c.Status
	res.Timestamp = time.Now().Unix()
	var err error
	switch c.Type {
	case "tcp":
		res.Output, err = c.probeTCP(ctx)
	case "grpc":
		res.Output, err = c.probeGRPC(ctx)
	case "script":
		res.Output, err = c.probeScript(ctx, exec)
	default:
		res.StatusCode, res.Output, err = c.probeHTTP(ctx)
	}
	res.Status = CheckSuccess
	if err != nil {
		res.Status = CheckFailure
		if res.Output == "" {
			res.Output = err.Error()
		}
	}
	return res
}

func (c *Check) addr() string { return net.JoinHostPort(c.Address, strconv.Itoa(c.Port)) }

func (c *Check) probeTCP(ctx context.Context) (string, error) {
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", c.addr())
	if err != nil {
		return "", err
	}
	conn.Close()
	return "nomad: tcp ok", nil
}

// probeHTTP passes on a 2xx answer.
func (c *Check) probeHTTP(ctx context.Context) (int, string, error) {
	path := c.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	req, err := http.NewRequestWithContext(ctx, c.Method, "http://"+c.addr()+path, nil)
	if err != nil {
		return 0, "", err
	}
	for k, vs := range c.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return resp.StatusCode, string(body), fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return resp.StatusCode, string(body), nil
}

// probeGRPC asks the standard gRPC health service; it passes on SERVING.
func (c *Check) probeGRPC(ctx context.Context) (string, error) {
	creds := insecure.NewCredentials()
	if c.GRPCUseTLS {
		creds = credentials.NewTLS(&tls.Config{InsecureSkipVerify: true}) //nolint:gosec // as Nomad's grpc check
	}
	conn, err := grpc.NewClient(c.addr(), grpc.WithTransportCredentials(creds))
	if err != nil {
		return "", err
	}
	defer conn.Close()
	resp, err := grpc_health_v1.NewHealthClient(conn).Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: c.GRPCService})
	if err != nil {
		return "", err
	}
	if resp.Status != grpc_health_v1.HealthCheckResponse_SERVING {
		return resp.Status.String(), fmt.Errorf("gRPC health: %s", resp.Status)
	}
	return "nomad: grpc ok", nil
}

// probeScript runs the command in the task; it passes on exit code 0.
func (c *Check) probeScript(ctx context.Context, exec ExecFunc) (string, error) {
	if exec == nil {
		return "", fmt.Errorf("script checks cannot reach task %q", c.ExecTask)
	}
	code, out, err := exec(ctx, c.ExecTask, append([]string{c.Command}, c.Args...))
	out = bytes.TrimSpace(out)
	if err != nil {
		return string(out), err
	}
	if code != 0 {
		return string(out), fmt.Errorf("exit code %d", code)
	}
	return string(out), nil
}
