// Command ingressbench runs one side of the ingress's throughput check
// with separate processes: an instance (-role instance) that answers a
// short body, or an ingress (-role ingress) that routes Host web.test to
// -upstream, the same Proxy the agent runs. scripts/bench-ingress starts
// both and drives them with wrk.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"syscall"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/roam-project/roam/ingress"
)

func main() {
	role := flag.String("role", "", "instance or ingress")
	listen := flag.String("listen", "127.0.0.1:0", "address to serve on")
	upstream := flag.String("upstream", "", "the instance's host:port (-role ingress)")
	profile := flag.String("cpuprofile", "", "write a CPU profile here until SIGTERM or SIGINT")
	netHTTP := flag.Bool("nethttp", false, "-role ingress: serve every request through net/http's server (as the HTTPS port does)")
	flag.Parse()
	if *profile != "" {
		stopProfileOnSignal(*profile)
	}
	var h http.Handler
	var proxy *ingress.Proxy
	switch *role {
	case "instance":
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello from the instance\n") })
	case "ingress":
		host, port, err := net.SplitHostPort(*upstream)
		if err != nil {
			log.Fatalf("-upstream %q: %v", *upstream, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			log.Fatalf("-upstream %q: bad port", *upstream)
		}
		proxy = ingress.NewProxy()
		proxy.Update([]*api.ServiceRegistration{{Namespace: "default", ServiceName: "web", AllocID: "a", Address: host, Port: p,
			Tags: []string{ingress.HostTag + "web.test"}}}, nil, nil)
		h = proxy
	default:
		fmt.Fprintln(os.Stderr, "-role must be instance or ingress")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ln.Addr().String())
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	if proxy != nil && !*netHTTP {
		log.Fatal(ingress.NewServer(proxy, srv).Serve(ln)) // as the agent serves its plain-HTTP port
	}
	log.Fatal(srv.Serve(ln))
}

// stopProfileOnSignal profiles the CPU into path and writes the profile
// out when the process is told to stop.
func stopProfileOnSignal(path string) {
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Fatal(err)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, os.Interrupt)
	go func() {
		<-sigs
		pprof.StopCPUProfile()
		f.Close()
		os.Exit(0)
	}()
}
