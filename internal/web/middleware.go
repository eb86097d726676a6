package web

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"siwei/internal/auth"
)

// SessionCookie is the name of the login cookie.
const SessionCookie = "siwei_session"

type routeKey struct{}

// routeInfo carries the matched route pattern from inside the mux out to the metrics.
type routeInfo struct{ pattern string }

// authenticate loads the actor from the session cookie or a bearer token.
func (a *App) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := ""
		if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
			tok = strings.TrimSpace(strings.TrimPrefix(h, "Bearer "))
		} else if c, err := r.Cookie(SessionCookie); err == nil {
			tok = c.Value
		}
		if tok != "" {
			actor, err := a.Auth.Authenticate(r.Context(), tok)
			if err != nil {
				a.Error(w, r, err)
				return
			}
			if actor != nil {
				r = r.WithContext(auth.WithActor(r.Context(), actor))
			}
		}
		next.ServeHTTP(w, r)
	})
}

// statusWriter remembers the status for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// observe sets security headers, recovers from panics, and records each request in the log and
// the metrics under its route pattern.
func (a *App) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &routeInfo{}
		r = r.WithContext(context.WithValue(r.Context(), routeKey{}, ri))
		sw := &statusWriter{ResponseWriter: w}
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'")
		// Pages and API answers name people and their points: no cache, shared or on a phone, keeps
		// them. The static assets and icons replace this with a lifetime of their own.
		h.Set("Cache-Control", "no-store")
		if a.HTTPS(r) {
			// Once a browser has reached siwei over TLS, it never again asks over plain HTTP, where
			// the session cookie could be read on the way.
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		defer func() {
			if p := recover(); p != nil {
				a.Log.Error("panic", "path", r.URL.Path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if sw.status == 0 {
					http.Error(sw, "internal error", http.StatusInternalServerError)
				}
			}
			route := ri.pattern
			if route == "" {
				route = "unmatched"
			}
			d := time.Since(start)
			a.metrics.observe(route, sw.status, d)
			a.Log.Debug("request", "method", r.Method, "path", r.URL.Path, "route", route, "status", sw.status, "ms", d.Milliseconds())
		}()
		next.ServeHTTP(sw, r)
	})
}

// HTTPS reports whether the client reached siwei over TLS: the connection itself is TLS, the App
// is configured Secure, or, with SIWEI_TRUST_PROXY, the proxy says X-Forwarded-Proto: https.
// Cookies are marked Secure and HSTS is sent exactly when it holds.
func (a *App) HTTPS(r *http.Request) bool {
	return a.Secure || r.TLS != nil || (TrustProxy && strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https"))
}

// ClientAddr is the client's address for rate limits: the connection's remote IP. Behind a proxy
// that sets X-Forwarded-For, set SIWEI_TRUST_PROXY (read by the server) to use its last entry.
func ClientAddr(r *http.Request, trustProxy bool) string {
	if trustProxy {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			parts := strings.Split(xff, ",")
			return strings.TrimSpace(parts[len(parts)-1])
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
