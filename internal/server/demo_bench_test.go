package server_test

import (
	"context"
	"os"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"siwei/internal/db/dbtest"
	"siwei/internal/demo"
	"siwei/internal/server"
)

// BenchmarkDemo times building the article-scale demo town on SQLite in a file, as `siwei demo
// --residents 20000` does, and reports each step's seconds: the registry, then each pillar's
// demo step.
//
//	go test ./internal/server -run '^$' -bench Demo -benchtime 1x
//
// SIWEI_BENCH_RESIDENTS changes the town's size (default 20000).
func BenchmarkDemo(b *testing.B) {
	residents := 20000
	if n, err := strconv.Atoi(os.Getenv("SIWEI_BENCH_RESIDENTS")); err == nil {
		residents = n
	}
	for b.Loop() {
		b.StopTimer()
		d := dbtest.SQLite(b)
		sys, err := server.New(d, make([]byte, 32))
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		b.StartTimer()
		start := time.Now()
		info, err := demo.Ensure(ctx, d, sys.People, sys.Auth, demo.Options{Seed: 1, Residents: residents})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "registry-s")
		for _, step := range server.DemoSteps {
			start := time.Now()
			if err := step(ctx, d, sys.People, info, 1); err != nil {
				b.Fatal(err)
			}
			name := runtime.FuncForPC(reflect.ValueOf(step).Pointer()).Name()
			b.ReportMetric(time.Since(start).Seconds(), strings.ToLower(name[strings.LastIndex(name, ".")+1:])+"-s")
		}
	}
}
