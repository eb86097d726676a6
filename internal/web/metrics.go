package web

import (
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"
)

// metrics counts requests and their latency by route, written in Prometheus' text format by hand:
// a handful of series do not justify the client library.
type metrics struct {
	mu     sync.Mutex
	series map[string]*series // by route
}

type series struct {
	byStatus map[int]uint64
	buckets  []uint64 // cumulative counts per latencyBuckets
	sum      float64
	count    uint64
}

var latencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}

// MetricsHandler serves the Prometheus metrics. It is not on the application's mux: route names,
// traffic and pool sizes are for the operator, so siwei serve gives them a listener of their own
// (--metrics-addr), which is off unless asked for.
func (a *App) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		a.metrics.write(w, a.ops.DBStats)
	})
	return mux
}

func newMetrics() *metrics { return &metrics{series: map[string]*series{}} }

func (m *metrics) observe(route string, status int, d time.Duration) {
	if status == 0 {
		status = http.StatusOK
	}
	sec := d.Seconds()
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.series[route]
	if !ok {
		s = &series{byStatus: map[int]uint64{}, buckets: make([]uint64, len(latencyBuckets))}
		m.series[route] = s
	}
	s.byStatus[status]++
	for i, b := range latencyBuckets {
		if sec <= b {
			s.buckets[i]++
		}
	}
	s.sum += sec
	s.count++
}

// DBStats reports the database pools for /metrics.
type DBStats func() (writer, reader sql.DBStats)

func (m *metrics) write(w io.Writer, dbs DBStats) {
	m.mu.Lock()
	routes := make([]string, 0, len(m.series))
	for r := range m.series {
		routes = append(routes, r)
	}
	sort.Strings(routes)
	fmt.Fprintln(w, "# HELP siwei_http_requests_total HTTP requests by route and status.")
	fmt.Fprintln(w, "# TYPE siwei_http_requests_total counter")
	for _, r := range routes {
		s := m.series[r]
		codes := make([]int, 0, len(s.byStatus))
		for c := range s.byStatus {
			codes = append(codes, c)
		}
		sort.Ints(codes)
		for _, c := range codes {
			fmt.Fprintf(w, "siwei_http_requests_total{route=%q,status=\"%d\"} %d\n", r, c, s.byStatus[c])
		}
	}
	fmt.Fprintln(w, "# HELP siwei_http_request_duration_seconds HTTP request latency by route.")
	fmt.Fprintln(w, "# TYPE siwei_http_request_duration_seconds histogram")
	for _, r := range routes {
		s := m.series[r]
		for i, b := range latencyBuckets {
			fmt.Fprintf(w, "siwei_http_request_duration_seconds_bucket{route=%q,le=\"%s\"} %d\n", r, strconv.FormatFloat(b, 'g', -1, 64), s.buckets[i])
		}
		fmt.Fprintf(w, "siwei_http_request_duration_seconds_bucket{route=%q,le=\"+Inf\"} %d\n", r, s.count)
		fmt.Fprintf(w, "siwei_http_request_duration_seconds_sum{route=%q} %g\n", r, s.sum)
		fmt.Fprintf(w, "siwei_http_request_duration_seconds_count{route=%q} %d\n", r, s.count)
	}
	m.mu.Unlock()
	if dbs == nil {
		return
	}
	wr, rd := dbs()
	fmt.Fprintln(w, "# HELP siwei_db_connections Database connections by pool and state.")
	fmt.Fprintln(w, "# TYPE siwei_db_connections gauge")
	for _, p := range []struct {
		name string
		s    sql.DBStats
	}{{"writer", wr}, {"reader", rd}} {
		fmt.Fprintf(w, "siwei_db_connections{pool=%q,state=\"open\"} %d\n", p.name, p.s.OpenConnections)
		fmt.Fprintf(w, "siwei_db_connections{pool=%q,state=\"in_use\"} %d\n", p.name, p.s.InUse)
		fmt.Fprintf(w, "siwei_db_connections{pool=%q,state=\"idle\"} %d\n", p.name, p.s.Idle)
	}
	fmt.Fprintln(w, "# HELP siwei_db_wait_total Times a request waited for a database connection.")
	fmt.Fprintln(w, "# TYPE siwei_db_wait_total counter")
	fmt.Fprintf(w, "siwei_db_wait_total{pool=\"writer\"} %d\n", wr.WaitCount)
	fmt.Fprintf(w, "siwei_db_wait_total{pool=\"reader\"} %d\n", rd.WaitCount)
}
