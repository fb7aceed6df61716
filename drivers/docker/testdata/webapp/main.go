// Command webapp is the docker driver's test program, built statically into
// a scratch image. It serves HTTP on $PORT (a comma-separated list of ports;
// default 80) — a greeting, or the files under $WEBAPP_ROOT when set —
// writes to stdout and stderr, reports signals, and can
// allocate memory, burn CPU, or run as echo, cat, write or env for exec
// tests.
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

var (
	mu       sync.Mutex
	retained [][]byte
)

func main() {
	if filepath.Base(os.Args[0]) == "echo" {
		fmt.Println(strings.Join(os.Args[1:], " "))
		return
	}
	if len(os.Args) > 1 && runTool(os.Args[1], os.Args[2:]) {
		return
	}
	exitCode := flag.Int("exit", -1, "exit at once with this code")
	allocMB := flag.Int("alloc-mb", 0, "allocate and touch this many MiB at start")
	ignore := flag.Bool("ignore-signals", false, "report SIGTERM/SIGINT but keep running")
	burn := flag.Bool("burn", false, "keep one goroutine busy")
	printKB := flag.Int("print-kb", 0, "write this many KiB of numbered lines to stdout at start")
	flag.Parse()
	if *exitCode >= 0 {
		os.Exit(*exitCode)
	}
	// Register before serving, so a signal sent once the task is up is
	// always reported rather than killing the process by default.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1)
	go handleSignals(sigs, *ignore)
	if *burn {
		go burnCPU()
	}
	if *allocMB > 0 {
		allocate(*allocMB)
	}
	for i := 0; i < *printKB*16; i++ {
		fmt.Printf("line %058d\n", i) // 64 bytes a line
	}
	serve()
}

// runTool runs the small tools exec tests use in an image with no shell:
// echo ARGS, cat [FILE] (stdin without FILE), write FILE TEXT and env.
func runTool(name string, args []string) bool {
	switch name {
	case "echo":
		fmt.Println(strings.Join(args, " "))
	case "cat":
		in := os.Stdin
		if len(args) > 0 {
			f, err := os.Open(args[0])
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			in = f
		}
		io.Copy(os.Stdout, in)
	case "write":
		if len(args) != 2 {
			fmt.Fprintln(os.Stderr, "usage: write FILE TEXT")
			os.Exit(2)
		}
		if err := os.WriteFile(args[0], []byte(args[1]), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	case "env":
		for _, kv := range os.Environ() {
			fmt.Println(kv)
		}
	default:
		return false
	}
	return true
}

func serve() {
	if root := os.Getenv("WEBAPP_ROOT"); root != "" {
		http.Handle("/", http.FileServer(http.Dir(root)))
	} else {
		http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "hello from webapp on %s\n", r.Host)
		})
	}
	http.HandleFunc("/alloc", func(w http.ResponseWriter, r *http.Request) {
		mb, err := strconv.Atoi(r.URL.Query().Get("mb"))
		if err != nil || mb <= 0 {
			http.Error(w, "want ?mb=N", http.StatusBadRequest)
			return
		}
		allocate(mb)
		fmt.Fprintf(w, "allocated %d MiB\n", mb)
	})
	ports := os.Getenv("PORT")
	if ports == "" {
		ports = "80"
	}
	errs := make(chan error)
	for _, p := range strings.Split(ports, ",") {
		addr := ":" + strings.TrimSpace(p)
		fmt.Printf("webapp listening on %s\n", addr)
		go func() { errs <- http.ListenAndServe(addr, nil) }()
	}
	fmt.Fprintln(os.Stderr, "webapp stderr ready")
	fmt.Fprintln(os.Stderr, "webapp error:", <-errs)
	os.Exit(1)
}

func handleSignals(ch <-chan os.Signal, ignore bool) {
	for sig := range ch {
		fmt.Printf("webapp got signal %s\n", sig)
		if ignore || (sig != syscall.SIGTERM && sig != syscall.SIGINT) {
			continue
		}
		os.Exit(0)
	}
}

// allocate keeps mb MiB reachable and touches every page.
func allocate(mb int) {
	for i := 0; i < mb; i++ {
		b := make([]byte, 1<<20)
		for j := range b {
			b[j] = byte(j)
		}
		mu.Lock()
		retained = append(retained, b)
		mu.Unlock()
	}
	fmt.Printf("webapp allocated %d MiB\n", mb)
}

func burnCPU() {
	for {
		deadline := time.Now().Add(5 * time.Millisecond)
		for time.Now().Before(deadline) {
		}
		time.Sleep(5 * time.Millisecond)
	}
}
