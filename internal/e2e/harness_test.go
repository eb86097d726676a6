package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"siwei/internal/demo"
)

// binary is the siwei binary that TestMain builds for this run, or SIWEI_E2E_BINARY.
var binary string

// skipAll is set by SIWEI_E2E=off: the only way to skip these tests.
var skipAll = os.Getenv("SIWEI_E2E") == "off"

// demoResidents is the size of the demo town the tests start: small, so the demo builds in about
// a second. With seed 1 it gives the demo resident a card.
const demoResidents = 80

func TestMain(m *testing.M) {
	if skipAll {
		os.Exit(m.Run())
	}
	if binary = os.Getenv("SIWEI_E2E_BINARY"); binary != "" { // a binary built elsewhere, say a release
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "siwei-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "siwei")
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	build := exec.Command("go", "build", "-o", binary, "./cmd/siwei")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build ./cmd/siwei: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// needE2E skips the test only when SIWEI_E2E=off says so.
func needE2E(t testing.TB) {
	t.Helper()
	if skipAll {
		t.Skip("SIWEI_E2E=off")
	}
}

// logBuffer collects a child's output; the server writes to it while the test reads.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serverOpts says how to start a server.
type serverOpts struct {
	Demo bool     // siwei demo (build the demo town if absent) instead of siwei serve
	Data string   // data folder; "" is a fresh temporary one
	DB   string   // database URL; "" is SQLite in Data
	Env  []string // extra environment, KEY=VALUE
	Name string   // in log lines, to tell servers apart
}

// server is a siwei process listening on a loopback port.
type server struct {
	t    testing.TB
	opts serverOpts
	URL  string
	log  *logBuffer
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done
}

// startServer starts siwei and waits until /healthz answers. The process is killed when the test
// ends, and its output is logged if the test failed.
func startServer(t testing.TB, o serverOpts) *server {
	t.Helper()
	needE2E(t)
	if o.Data == "" {
		o.Data = t.TempDir()
	}
	if o.Name == "" {
		o.Name = "siwei"
	}
	for try := 1; ; try++ {
		s := &server{t: t, opts: o, log: &logBuffer{}, done: make(chan struct{})}
		err := s.start()
		if err == nil {
			t.Cleanup(func() {
				s.kill()
				if t.Failed() {
					t.Logf("%s output:\n%s", o.Name, tail(s.log.String(), 4000))
				}
			})
			return s
		}
		// The free port we found may have been taken before the child listened on it.
		if try == 3 || !strings.Contains(err.Error(), "address already in use") {
			t.Fatalf("start %s: %v", o.Name, err)
		}
	}
}

func (s *server) start() error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	mode := "serve"
	args := []string{"--addr", addr, "--data", s.opts.Data}
	if s.opts.Demo {
		mode = "demo"
		args = append(args, "--residents", fmt.Sprint(demoResidents), "--seed", "1")
	}
	if s.opts.DB != "" {
		args = append(args, "--db", s.opts.DB)
	}
	s.cmd = exec.Command(binary, append([]string{mode}, args...)...)
	s.cmd.Env = append(os.Environ(), s.opts.Env...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	dieWithParent(s.cmd)
	if err := s.cmd.Start(); err != nil {
		return err
	}
	go func() { s.err = s.cmd.Wait(); close(s.done) }()
	s.URL = "http://" + addr
	health := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("exited (%v) before answering:\n%s", s.err, tail(s.log.String(), 2000))
		default:
		}
		resp, err := health.Get(s.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.kill()
	return fmt.Errorf("no answer on %s within 90s:\n%s", s.URL, tail(s.log.String(), 2000))
}

// kill ends the process at once with SIGKILL, as a crash would, and waits for it.
func (s *server) kill() {
	if s.cmd.Process != nil {
		s.cmd.Process.Kill()
	}
	<-s.done
}

// stop asks the process to shut down gracefully and waits for it, killing it after 20 seconds.
func (s *server) stop() {
	s.t.Helper()
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
		if s.err != nil {
			s.t.Errorf("%s: exit after SIGINT: %v", s.opts.Name, s.err)
		}
	case <-time.After(20 * time.Second):
		s.kill()
		s.t.Errorf("%s: still running 20s after SIGINT", s.opts.Name)
	}
}

// restart starts a new process on the same data folder and database (on a new port).
func (s *server) restart() *server {
	s.t.Helper()
	o := s.opts
	o.Demo = false
	return startServer(s.t, o)
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// verify runs `siwei verify` on a data folder and database and fails the test unless it passes.
func verify(t testing.TB, data, dbURL string, env ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := []string{"verify", "--data", data}
	if dbURL != "" {
		args = append(args, "--db", dbURL)
	}
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasSuffix(string(out), "\nok\n") {
		t.Fatalf("siwei verify: %v\n%s", err, out)
	}
	return string(out)
}

// client talks to a server's JSON API with a bearer token. Its methods return transport errors
// instead of failing the test, so that load goroutines can count them.
type client struct {
	base  string
	http  *http.Client
	Token string
}

func (s *server) client() *client {
	return &client{base: s.URL, http: &http.Client{Timeout: 30 * time.Second}}
}

// on is the same login on another server.
func (c *client) on(s *server) *client {
	return &client{base: s.URL, http: c.http, Token: c.Token}
}

// call sends a JSON body (nil for none) and decodes a 2xx answer into out when out is not nil.
func (c *client) call(method, path string, body, out any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, b, err
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, b, fmt.Errorf("%s %s: decode %.200q: %w", method, path, b, err)
		}
	}
	return resp.StatusCode, b, nil
}

// must is call for the test's own goroutine: a transport error or another status fails the test.
func (c *client) must(t testing.TB, want int, method, path string, body, out any) []byte {
	t.Helper()
	st, b, err := c.call(method, path, body, out)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if st != want {
		t.Fatalf("%s %s: status %d, want %d: %.400s", method, path, st, want, b)
	}
	return b
}

// login logs in through the API with the demo password and keeps the bearer token.
func login(t testing.TB, s *server, phone string) *client {
	t.Helper()
	c := s.client()
	var out struct{ Token string }
	c.must(t, http.StatusOK, "POST", "/api/v1/auth/login", map[string]string{"phone": phone, "password": demo.DemoPassword}, &out)
	if out.Token == "" {
		t.Fatalf("login %s: no token", phone)
	}
	c.Token = out.Token
	return c
}

// me is the logged-in resident's own record.
type me struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	VillageID int64  `json:"village_id"`
	Village   string `json:"village"`
}

func whoami(t testing.TB, c *client) me {
	t.Helper()
	var m me
	c.must(t, http.StatusOK, "GET", "/api/v1/me", nil, &m)
	return m
}

// balance is a resident's balance as the API reports it.
func balance(t testing.TB, c *client, residentID int64) int64 {
	t.Helper()
	var b struct{ Balance int64 }
	c.must(t, http.StatusOK, "GET", fmt.Sprintf("/api/v1/bank/accounts/%d", residentID), nil, &b)
	return b.Balance
}

// item is a shop item as /api/v1/bank/items lists it.
type item struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Price int64  `json:"price"`
	Stock int    `json:"stock"`
	Kind  string `json:"kind"`
}

// goods finds a shop item by name in the caller's village store.
func goods(t testing.TB, c *client, name string) item {
	t.Helper()
	var items []item
	c.must(t, http.StatusOK, "GET", "/api/v1/bank/items", nil, &items)
	for _, it := range items {
		if it.Name == name {
			return it
		}
	}
	t.Fatalf("no item %s in %+v", name, items)
	return item{}
}
