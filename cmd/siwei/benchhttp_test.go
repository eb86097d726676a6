package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"siwei/internal/demo"
)

// TestBenchHTTP runs `siwei bench http` briefly against its own server on SQLite: every kind of
// request is made, none fails, and the ledger verifies afterwards.
func TestBenchHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a demo town")
	}
	var out strings.Builder
	o := httpBenchOptions{Clients: 2, Duration: time.Second, Phases: []string{"award", "statement", "ranking", "page"}, Residents: 50,
		Phone: demo.PhoneTownAdmin, Password: demo.DemoPassword, Rule: "volunteer"}
	res, err := runHTTPBench(context.Background(), o, &out, nil)
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, out.String())
	}
	for _, k := range httpKinds {
		st, ok := res[k]
		if !ok || st.Requests == 0 || st.Errors != 0 || st.P50 <= 0 || st.P99 < st.P50 {
			t.Errorf("%s: %+v", k, st)
		}
	}
	for _, want := range []string{"per second", "p99 ms", "award", "statement", "ranking", "page", "verify sqlite:", ", ok"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, out.String())
		}
	}
}

// TestBenchHTTPRefusesOtherHosts keeps the load generator on this machine.
func TestBenchHTTPRefusesOtherHosts(t *testing.T) {
	for _, c := range []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://localhost:8080/", true},
		{"http://[::1]:8080", true},
		{"http://10.0.0.5:8080", false},
		{"https://example.com", false},
		{"127.0.0.1:8080", false},
	} {
		if err := loopbackOnly(c.url); (err == nil) != c.ok {
			t.Errorf("loopbackOnly(%q) = %v", c.url, err)
		}
	}
}
