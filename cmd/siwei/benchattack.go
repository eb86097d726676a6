package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"siwei/internal/clock"
	"siwei/internal/demo"
	"siwei/internal/server"
)

// attackRSSLimit is the most a server may hold in memory under any one attack of the security
// issue: 512 MiB of peak resident set.
const attackRSSLimit = 512 << 20

// attackPhases are the attacks `siwei bench attack` knows, in the order it runs them. Logins run
// last: their failures throttle the phone they use, which no other phase logs in with.
var attackPhases = []string{"photos", "xlsx", "logins", "logins-many"}

// benchAttackCmd measures the memory of `siwei serve` under hostile load. For each attack it
// starts this binary as a fresh `siwei serve` on a prepared demo town, fires the attack from this
// process and reads the server's peak resident set (VmHWM) from /proc when it is done:
//
//   - photos: 6 concurrent claims each carrying a 16-bit PNG of 6000 × 6600 (a few hundred KB that
//     decodes to 300 MiB);
//   - xlsx: 4 concurrent imports of a .xlsx of a few hundred KB whose sheet inflates to 250 MB;
//   - logins: 300 concurrent wrong passwords for one phone;
//   - logins-many: 300 concurrent wrong passwords, each for another phone.
//
// Every request has a deadline and every phase a time limit, so the run stops by itself.
func benchAttackCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench attack", flag.ExitOnError)
	phases := fs.String("phases", strings.Join(attackPhases, ","), "attacks to run, comma-separated")
	residents := fs.Int("residents", 200, "residents in the demo town the server starts on")
	fs.Parse(args)
	var run []string
	for _, p := range strings.Split(*phases, ",") {
		p = strings.TrimSpace(p)
		if !containsString(attackPhases, p) {
			return fmt.Errorf("--phases: %q is not one of %s", p, strings.Join(attackPhases, ", "))
		}
		run = append(run, p)
	}
	if *residents < 50 || *residents > 20000 {
		return errors.New("--residents must be between 50 and 20000")
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "siwei-bench-attack-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	town := filepath.Join(dir, "town")
	if err := prepareAttackTown(ctx, town, *residents); err != nil {
		return err
	}
	fmt.Printf("demo town of %d residents on sqlite, ready in %s; each attack on a fresh `siwei serve`\n\n", *residents, time.Since(start).Round(time.Millisecond))
	fmt.Printf("%-12s %9s  %-28s %8s %10s %10s  %s\n", "attack", "requests", "answers", "seconds", "rss idle", "peak rss", "limit 512 MiB")
	over := 0
	for _, p := range run {
		res, err := runAttack(ctx, exe, town, filepath.Join(dir, p), p)
		if err != nil {
			return fmt.Errorf("bench attack %s: %w", p, err)
		}
		verdict := "ok"
		if res.peak >= attackRSSLimit {
			verdict, over = "OVER", over+1
		}
		fmt.Printf("%-12s %9d  %-28s %8.1f %6d MiB %6d MiB  %s\n", p, res.requests, res.answers(), res.seconds, res.idle>>20, res.peak>>20, verdict)
	}
	if over > 0 {
		return fmt.Errorf("bench attack: %d attack(s) took the server past 512 MiB", over)
	}
	return nil
}

// prepareAttackTown builds the demo town in dir, as `siwei demo` would, and closes it again.
func prepareAttackTown(ctx context.Context, dir string, residents int) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	sys, err := server.Open(ctx, "", dir)
	if err != nil {
		return err
	}
	defer sys.Close()
	info, err := demo.Ensure(ctx, sys.DB, sys.People, sys.Auth, demo.Options{Seed: 1, Residents: residents})
	if err != nil {
		return err
	}
	if err := demo.Bank(ctx, sys.DB, sys.People, info, 1); err != nil {
		return err
	}
	return sys.DB.Analyze(ctx)
}

// attackResult is what one attack did to the server.
type attackResult struct {
	requests int
	statuses map[int]int // answers by status; 0 counts requests that got no answer
	seconds  float64
	idle     int64 // resident set before the attack
	peak     int64 // the process's peak resident set when the attack ended
}

func (r attackResult) answers() string {
	codes := make([]int, 0, len(r.statuses))
	for c := range r.statuses {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var parts []string
	for _, c := range codes {
		name := strconv.Itoa(c)
		if c == 0 {
			name = "none"
		}
		parts = append(parts, fmt.Sprintf("%s×%d", name, r.statuses[c]))
	}
	return strings.Join(parts, " ")
}

// runAttack starts a server on a copy of the town in dir, so that no attack inherits another's
// throttled phones and addresses, runs one attack against it and stops it.
func runAttack(ctx context.Context, exe, town, dir, phase string) (attackResult, error) {
	if err := os.CopyFS(dir, os.DirFS(town)); err != nil {
		return attackResult{}, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return attackResult{}, err
	}
	addr := ln.Addr().String()
	ln.Close()
	logf, err := os.Create(filepath.Join(dir, phase+".log"))
	if err != nil {
		return attackResult{}, err
	}
	defer logf.Close()
	cmd := exec.Command(exe, "serve", "--addr", addr, "--data", dir)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "SIWEI_TRUST_PROXY=")
	if err := cmd.Start(); err != nil {
		return attackResult{}, err
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}()
	base := "http://" + addr
	hc := &http.Client{Timeout: 60 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{MaxIdleConnsPerHost: 400, MaxConnsPerHost: 0}}
	if err := waitHealthy(ctx, hc, base, 30*time.Second); err != nil {
		return attackResult{}, fmt.Errorf("%w (server log: %s)", err, logf.Name())
	}
	pid := cmd.Process.Pid
	res := attackResult{statuses: map[int]int{}}
	res.idle, _ = procStatus(pid, "VmRSS")

	var reqs []*http.Request
	switch phase {
	case "photos":
		reqs, err = photoBombs(ctx, hc, base, 6)
	case "xlsx":
		reqs, err = xlsxBombs(ctx, hc, base, 4)
	case "logins":
		reqs = badLogins(base, 300, func(int) string { return demo.PhonePartyMember })
	case "logins-many":
		reqs = badLogins(base, 300, func(i int) string { return fmt.Sprintf("1370000%04d", i) })
	}
	if err != nil {
		return attackResult{}, err
	}
	actx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	start := time.Now()
	var mu sync.Mutex
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for _, req := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			st := 0
			if resp, err := hc.Do(req.WithContext(actx)); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				st = resp.StatusCode
			}
			mu.Lock()
			res.statuses[st]++
			mu.Unlock()
		}()
	}
	close(gate)
	wg.Wait()
	res.requests, res.seconds = len(reqs), time.Since(start).Seconds()
	if res.peak, err = procStatus(pid, "VmHWM"); err != nil {
		return attackResult{}, err
	}
	if err := waitHealthy(ctx, hc, base, 5*time.Second); err != nil {
		return attackResult{}, fmt.Errorf("the server did not survive: %w", err)
	}
	return res, nil
}

// waitHealthy polls /healthz until it answers 200.
func waitHealthy(ctx context.Context, hc *http.Client, base string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/healthz", nil)
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s/healthz did not answer within %s", base, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// procStatus reads a size field (VmRSS, VmHWM) of /proc/PID/status in bytes.
func procStatus(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no %s", pid, field)
}

// apiLogin logs in through the API and returns the bearer token.
func apiLogin(ctx context.Context, hc *http.Client, base, phone string) (string, error) {
	body, _ := json.Marshal(map[string]string{"phone": phone, "password": demo.DemoPassword})
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/auth/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK || out.Token == "" {
		return "", fmt.Errorf("login as %s: status %d", phone, resp.StatusCode)
	}
	return out.Token, nil
}

// badLogins are n API logins with a wrong password.
func badLogins(base string, n int, phone func(int) string) []*http.Request {
	reqs := make([]*http.Request, n)
	for i := range reqs {
		body, _ := json.Marshal(map[string]string{"phone": phone(i), "password": fmt.Sprintf("wrong-password-%d", i)})
		reqs[i], _ = http.NewRequest("POST", base+"/api/v1/auth/login", bytes.NewReader(body))
		reqs[i].Header.Set("Content-Type", "application/json")
	}
	return reqs
}

// photoBombs are n claims by the demo resident under a rule of theirs, each with one photo bomb.
func photoBombs(ctx context.Context, hc *http.Client, base string, n int) ([]*http.Request, error) {
	tok, err := apiLogin(ctx, hc, base, demo.PhoneResident)
	if err != nil {
		return nil, err
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/bank/rules", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	var rules []struct {
		Code             string `json:"code"`
		EvidenceRequired bool   `json:"evidence_required"`
	}
	err = json.NewDecoder(resp.Body).Decode(&rules)
	resp.Body.Close()
	if err != nil || len(rules) == 0 {
		return nil, fmt.Errorf("the resident's rules: status %d, %d rules, %v", resp.StatusCode, len(rules), err)
	}
	rule := rules[0].Code
	for _, r := range rules {
		if r.EvidenceRequired {
			rule = r.Code
			break
		}
	}
	bomb, err := pngBomb(6000, 6600)
	if err != nil {
		return nil, err
	}
	body, _ := json.Marshal(map[string]any{"rule_code": rule, "description": "打扫村口", "happened_on": clock.In(clock.Zone(""), time.Now).Day(),
		"photos": [][]byte{bomb}})
	reqs := make([]*http.Request, n)
	for i := range reqs {
		reqs[i], _ = http.NewRequest("POST", base+"/api/v1/bank/claims", bytes.NewReader(body))
		reqs[i].Header.Set("Content-Type", "application/json")
		reqs[i].Header.Set("Authorization", "Bearer "+tok)
	}
	return reqs, nil
}

// xlsxBombs are n imports by the demo village admin, each of one spreadsheet bomb.
func xlsxBombs(ctx context.Context, hc *http.Client, base string, n int) ([]*http.Request, error) {
	tok, err := apiLogin(ctx, hc, base, demo.PhoneVillageAdmin)
	if err != nil {
		return nil, err
	}
	bomb, err := xlsxBomb(250 << 20)
	if err != nil {
		return nil, err
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "居民名单.xlsx")
	fw.Write(bomb)
	mw.Close()
	reqs := make([]*http.Request, n)
	for i := range reqs {
		reqs[i], _ = http.NewRequest("POST", base+"/admin/import", bytes.NewReader(body.Bytes()))
		reqs[i].Header.Set("Content-Type", mw.FormDataContentType())
		reqs[i].Header.Set("Authorization", "Bearer "+tok)
	}
	return reqs, nil
}

// pngBomb is a valid PNG of w × h pixels at 16 bits per channel, RGBA (8 bytes a pixel once
// decoded), all zero, so that it compresses to a few hundred KB.
func pngBomb(w, h int) ([]byte, error) {
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(data)))
		out.Write(n[:])
		c := crc32.NewIEEE()
		c.Write([]byte(typ))
		c.Write(data)
		out.WriteString(typ)
		out.Write(data)
		binary.BigEndian.PutUint32(n[:], c.Sum32())
		out.Write(n[:])
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 16, 6 // bit depth 16, colour type RGBA
	chunk("IHDR", ihdr)
	var idat bytes.Buffer
	zw, err := zlib.NewWriterLevel(&idat, zlib.BestCompression)
	if err != nil {
		return nil, err
	}
	row := make([]byte, 1+w*8) // filter byte 0, then the pixels
	for range h {
		if _, err := zw.Write(row); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	chunk("IDAT", idat.Bytes())
	chunk("IEND", nil)
	return out.Bytes(), nil
}

// xlsxBomb is a well-formed workbook whose one sheet holds a cell of size bytes of "A": a few
// hundred KB on the wire.
func xlsxBomb(size int) ([]byte, error) {
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	files := []struct{ name, body string }{
		{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>`},
		{"_rels/.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`},
		{"xl/workbook.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="居民" sheetId="1" r:id="rId1"/></sheets></workbook>`},
		{"xl/_rels/workbook.xml.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>`},
	}
	for _, f := range files {
		w, err := zw.Create(f.name)
		if err != nil {
			return nil, err
		}
		io.WriteString(w, f.body)
	}
	w, err := zw.Create("xl/worksheets/sheet1.xml")
	if err != nil {
		return nil, err
	}
	io.WriteString(w, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>`)
	fill := bytes.Repeat([]byte("A"), 1<<20)
	for left := size; left > 0; left -= len(fill) {
		if _, err := w.Write(fill[:min(left, len(fill))]); err != nil {
			return nil, err
		}
	}
	io.WriteString(w, `</t></is></c></row></sheetData></worksheet>`)
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
