package consult_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"siwei/internal/demo"
	"siwei/internal/server/servertest"
)

// open311Count is how many rows a table holds, for proving that a refused request stored nothing.
func open311Count(t *testing.T, env *servertest.Env, table string) int {
	t.Helper()
	var n int
	if err := env.Sys.DB.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// open311Errors is the spec's error list, in JSON.
type open311Errors []struct {
	Code        int    `json:"code"`
	Description string `json:"description"`
}

// open311XMLErrors is the spec's error list, in XML.
type open311XMLErrors struct {
	XMLName xml.Name `xml:"errors"`
	Errors  []struct {
		Code        int    `xml:"code"`
		Description string `xml:"description"`
	} `xml:"error"`
}

// open311Fails checks that an answer is the spec's error list with the status, naming the field.
func open311Fails(t *testing.T, what string, st int, body string, want int, field string) {
	t.Helper()
	if st != want {
		t.Fatalf("%s: status %d, want %d: %s", what, st, want, body)
	}
	if strings.HasPrefix(strings.TrimSpace(body), "<?xml") {
		var e open311XMLErrors
		if err := xml.Unmarshal([]byte(body), &e); err != nil || len(e.Errors) == 0 {
			t.Fatalf("%s: not an <errors> list (%v): %s", what, err, body)
		}
		for _, x := range e.Errors {
			if x.Code == want && strings.HasPrefix(x.Description, field+": ") {
				return
			}
		}
		t.Fatalf("%s: no error %d naming %s: %s", what, want, field, body)
	}
	var e open311Errors
	if err := json.Unmarshal([]byte(body), &e); err != nil || len(e) == 0 {
		t.Fatalf("%s: not an error list (%v): %s", what, err, body)
	}
	for _, x := range e {
		if x.Code == want && strings.HasPrefix(x.Description, field+": ") {
			return
		}
	}
	t.Fatalf("%s: no error %d naming %s: %s", what, want, field, body)
}

// open311Request is a request as a client reads it in JSON: every field the spec names.
type open311Request struct {
	ID                string  `json:"service_request_id"`
	Token             string  `json:"token"`
	Status            string  `json:"status"`
	StatusNotes       string  `json:"status_notes"`
	ServiceName       string  `json:"service_name"`
	ServiceCode       string  `json:"service_code"`
	Description       string  `json:"description"`
	AgencyResponsible string  `json:"agency_responsible"`
	ServiceNotice     string  `json:"service_notice"`
	RequestedDatetime string  `json:"requested_datetime"`
	UpdatedDatetime   string  `json:"updated_datetime"`
	AccountID         *string `json:"account_id"`
}

// open311XMLRequests is <service_requests> as a client reads it.
type open311XMLRequests struct {
	XMLName  xml.Name `xml:"service_requests"`
	Requests []struct {
		ID          string `xml:"service_request_id"`
		Token       string `xml:"token"`
		Status      string `xml:"status"`
		ServiceCode string `xml:"service_code"`
		Notice      string `xml:"service_notice"`
		Requested   string `xml:"requested_datetime"`
	} `xml:"request"`
}

var open311W3C = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$`)

// TestOpen311RoundTrip files and follows requests through the GeoReport v2 API in JSON and XML,
// with a key town staff issued, and checks the answers against the spec's shapes.
func TestOpen311RoundTrip(t *testing.T) {
	servertest.EachWith(t, demo.Options{Seed: 1, Residents: 80, SecondTown: true}, false, func(t *testing.T, env *servertest.Env) {
		ctx, q := context.Background(), env.Sys.DB.Read()
		var code, other string
		if err := q.QueryRowContext(ctx, `SELECT code FROM towns WHERE id = $1`, env.Info.TownID).Scan(&code); err != nil {
			t.Fatal(err)
		}
		if err := q.QueryRowContext(ctx, `SELECT code FROM towns WHERE id = $1`, env.Info.SecondTownID).Scan(&other); err != nil {
			t.Fatal(err)
		}
		town := env.Browser(demo.PhoneTownAdmin)
		anon := env.Anonymous()
		j := "jurisdiction_id=" + url.QueryEscape(code)

		// Staff issue a key: shown once, kept as its hash.
		if st, body := town.Get("/admin/consult/open311"); st != 200 || !strings.Contains(body, "还没有发放过密钥") {
			t.Fatalf("clients page: %d %.300s", st, body)
		}
		st, body := town.PostForm("/admin/consult/open311/clients", url.Values{"name": {"随手拍"}})
		m := regexp.MustCompile(`<code class="cs-keytext">([0-9a-f]{64})</code>`).FindStringSubmatch(body)
		if st != http.StatusCreated || m == nil || !strings.Contains(body, "已给 随手拍 发放密钥") {
			t.Fatalf("issue: %d %.500s", st, body)
		}
		key := m[1]
		var hash string
		var clientID int64
		if err := q.QueryRowContext(ctx, `SELECT id, key_hash FROM consult_open311_clients WHERE name = '随手拍'`).Scan(&clientID, &hash); err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256([]byte(key)); hash != hex.EncodeToString(sum[:]) {
			t.Fatal("the key is not kept as its sha256")
		}
		if _, body := town.Get("/admin/consult/open311"); strings.Contains(body, key) {
			t.Fatal("the key is shown again")
		}

		// Discovery.
		var disc struct {
			Changeset  string `json:"changeset"`
			Contact    string `json:"contact"`
			KeyService string `json:"key_service"`
			Endpoints  []struct {
				Specification string   `json:"specification"`
				URL           string   `json:"url"`
				Type          string   `json:"type"`
				Formats       []string `json:"formats"`
			} `json:"endpoints"`
		}
		if st, _ := anon.JSON("GET", "/open311/v2/discovery.json", nil, &disc); st != 200 || len(disc.Endpoints) != 1 || disc.Endpoints[0].Specification != "http://wiki.open311.org/GeoReport_v2" ||
			!slices.Contains(disc.Endpoints[0].Formats, "text/xml") || !slices.Contains(disc.Endpoints[0].Formats, "application/json") || disc.KeyService == "" ||
			!strings.HasSuffix(disc.Endpoints[0].URL, "/open311/v2") {
			t.Fatalf("discovery: %d %+v", st, disc)
		}
		var xdisc struct {
			XMLName   xml.Name `xml:"discovery"`
			Changeset string   `xml:"changeset"`
			Endpoints []struct {
				Specification string   `xml:"specification"`
				Formats       []string `xml:"formats>format"`
			} `xml:"endpoints>endpoint"`
		}
		st, body = anon.Get("/open311/v2/discovery.xml")
		if err := xml.Unmarshal([]byte(body), &xdisc); st != 200 || err != nil || !strings.HasPrefix(body, `<?xml version="1.0" encoding="UTF-8"?>`) ||
			len(xdisc.Endpoints) != 1 || len(xdisc.Endpoints[0].Formats) != 2 || xdisc.Changeset == "" {
			t.Fatalf("discovery.xml: %d %v %s", st, err, body)
		}

		// Services: 微志愿's need categories and the town's topic categories.
		var services []struct {
			Code        string `json:"service_code"`
			Name        string `json:"service_name"`
			Description string `json:"description"`
			Metadata    *bool  `json:"metadata"`
			Type        string `json:"type"`
			Keywords    string `json:"keywords"`
			Group       string `json:"group"`
		}
		if st, body := anon.JSON("GET", "/open311/v2/services.json?"+j, nil, &services); st != 200 {
			t.Fatalf("services: %d %s", st, body)
		}
		found := map[string]string{}
		for _, s := range services {
			if s.Metadata == nil || s.Type != "realtime" || s.Name == "" || s.Description == "" || s.Keywords == "" {
				t.Fatalf("service %+v lacks a field", s)
			}
			found[s.Code] = s.Group + "/" + s.Name
		}
		if found["need.repair"] != "微志愿/维修" || found["topic.roads"] != "微协商/道路交通" || found["topic.environment"] != "微协商/人居环境" {
			t.Fatalf("services: %v", found)
		}
		var xsvc struct {
			XMLName  xml.Name `xml:"services"`
			Services []struct {
				Code  string `xml:"service_code"`
				Group string `xml:"group"`
			} `xml:"service"`
		}
		st, body = anon.Get("/open311/v2/services.xml?" + j)
		if err := xml.Unmarshal([]byte(body), &xsvc); st != 200 || err != nil || len(xsvc.Services) != len(services) {
			t.Fatalf("services.xml: %d %v %.300s", st, err, body)
		}
		var def struct {
			Code       string `json:"service_code"`
			Attributes []any  `json:"attributes"`
		}
		if st, body := anon.JSON("GET", "/open311/v2/services/topic.roads.json?"+j, nil, &def); st != 200 || def.Code != "topic.roads" || def.Attributes == nil {
			t.Fatalf("definition: %d %s", st, body)
		}
		var xdef struct {
			XMLName xml.Name `xml:"service_definition"`
			Code    string   `xml:"service_code"`
		}
		st, body = anon.Get("/open311/v2/services/need.repair.xml?" + j)
		if err := xml.Unmarshal([]byte(body), &xdef); st != 200 || err != nil || xdef.Code != "need.repair" {
			t.Fatalf("definition.xml: %d %v %s", st, err, body)
		}
		st, body = anon.Get("/open311/v2/services/topic.nope.json?" + j)
		open311Fails(t, "unknown service", st, body, 404, "service_code")
		st, body = anon.Get("/open311/v2/services/topic.nope.xml?" + j)
		open311Fails(t, "unknown service in XML", st, body, 404, "service_code")
		if st, _ := anon.Get("/open311/v2/services/topic.roads.csv?" + j); st != 404 {
			t.Fatalf("an unknown format: %d", st)
		}
		st, body = anon.Get("/open311/v2/services.json?jurisdiction_id=nowhere")
		open311Fails(t, "unknown jurisdiction", st, body, 404, "jurisdiction_id")
		st, body = anon.Get("/open311/v2/services.json")
		open311Fails(t, "no jurisdiction on a server of two towns", st, body, 400, "jurisdiction_id")

		// POST a request with the key, in JSON and in XML.
		post := func(c *servertest.Client, ext string, f url.Values) (int, string) {
			t.Helper()
			if f.Get("jurisdiction_id") == "" {
				f.Set("jurisdiction_id", code)
			}
			return c.PostForm("/open311/v2/requests."+ext, f)
		}
		topics := open311Count(t, env, "consult_topics")
		st, body = post(anon, "json", url.Values{"api_key": {key}, "service_code": {"topic.roads"}, "description": {"村口路灯坏了三盏\n晚上看不见路"},
			"address_string": {"前疃村村口"}, "email": {"zhang@example.com"}, "first_name": {"张"}, "last_name": {"三丰"}, "phone": {"13800001111"}})
		var filed []open311Request
		if err := json.Unmarshal([]byte(body), &filed); st != http.StatusCreated || err != nil || len(filed) != 1 || !strings.HasPrefix(filed[0].ID, "topic-") ||
			filed[0].Token == "" || filed[0].ServiceNotice == "" || filed[0].AccountID != nil || !strings.Contains(body, `"account_id":null`) {
			t.Fatalf("post: %d %v %s", st, err, body)
		}
		first := filed[0]
		var source, title, desc string
		if err := q.QueryRowContext(ctx, `SELECT source, title, description FROM consult_topics WHERE id = $1`, strings.TrimPrefix(first.ID, "topic-")).Scan(&source, &title, &desc); err != nil {
			t.Fatal(err)
		}
		if source != "open311" || title != "村口路灯坏了三盏" || !strings.Contains(desc, "前疃村村口") {
			t.Fatalf("the topic: %s %q %q", source, title, desc)
		}
		st, body = post(anon, "xml", url.Values{"api_key": {key}, "service_code": {"topic.environment"}, "description": {"河边有人倒垃圾"}, "lat": {"39.9"}, "long": {"116.7"}})
		var xfiled open311XMLRequests
		if err := xml.Unmarshal([]byte(body), &xfiled); st != http.StatusCreated || err != nil || len(xfiled.Requests) != 1 || !strings.HasPrefix(xfiled.Requests[0].ID, "topic-") || xfiled.Requests[0].Token == "" {
			t.Fatalf("post.xml: %d %v %s", st, err, body)
		}
		second := xfiled.Requests[0]
		if got := open311Count(t, env, "consult_topics"); got != topics+2 {
			t.Fatalf("%d topics filed, want 2", got-topics)
		}

		// GET it back, in both formats, with no personal data.
		personal := []string{"张", "三丰", "13800001111", "zhang@example.com", "随手拍"}
		var got []open311Request
		st, body = anon.JSON("GET", "/open311/v2/requests/"+first.ID+".json?"+j, nil, &got)
		if st != 200 || len(got) != 1 || got[0].ID != first.ID || got[0].Status != "open" || got[0].ServiceCode != "topic.roads" || got[0].ServiceName != "道路交通" ||
			!strings.Contains(got[0].Description, "路灯") || got[0].AgencyResponsible == "" || got[0].StatusNotes == "" ||
			!open311W3C.MatchString(got[0].RequestedDatetime) || !open311W3C.MatchString(got[0].UpdatedDatetime) {
			t.Fatalf("get: %d %s", st, body)
		}
		for _, p := range personal {
			if strings.Contains(body, p) {
				t.Fatalf("the request shows %q: %s", p, body)
			}
		}
		st, body = anon.Get("/open311/v2/requests/" + second.ID + ".xml?" + j)
		var xgot open311XMLRequests
		if err := xml.Unmarshal([]byte(body), &xgot); st != 200 || err != nil || len(xgot.Requests) != 1 || xgot.Requests[0].ServiceCode != "topic.environment" || xgot.Requests[0].Status != "open" ||
			!open311W3C.MatchString(xgot.Requests[0].Requested) {
			t.Fatalf("get.xml: %d %v %s", st, err, body)
		}
		st, body = anon.Get("/open311/v2/requests/topic-999999.json?" + j)
		open311Fails(t, "a missing request", st, body, 404, "service_request_id")

		// The list, filtered.
		var list []open311Request
		if st, body := anon.JSON("GET", "/open311/v2/requests.json?"+j, nil, &list); st != 200 || len(list) != 2 {
			t.Fatalf("list: %d %s", st, body)
		}
		if st, body := anon.JSON("GET", "/open311/v2/requests.json?status=closed&"+j, nil, &list); st != 200 || len(list) != 0 {
			t.Fatalf("closed: %d %s", st, body)
		}
		if st, body := anon.JSON("GET", "/open311/v2/requests.json?service_code=topic.roads&"+j, nil, &list); st != 200 || len(list) != 1 || list[0].ID != first.ID {
			t.Fatalf("by service: %d %s", st, body)
		}
		if st, body := anon.JSON("GET", "/open311/v2/requests.json?service_request_id="+second.ID+","+first.ID+"&"+j, nil, &list); st != 200 || len(list) != 2 {
			t.Fatalf("by ids: %d %s", st, body)
		}
		st, body = anon.Get("/open311/v2/requests.json?status=pending&" + j)
		open311Fails(t, "a status the spec lacks", st, body, 400, "status")
		st, body = anon.Get("/open311/v2/requests.json?start_date=yesterday&" + j)
		open311Fails(t, "a date not in W3C format", st, body, 400, "start_date")
		st, body = anon.Get("/open311/v2/requests.xml?" + j)
		var xlist open311XMLRequests
		if err := xml.Unmarshal([]byte(body), &xlist); st != 200 || err != nil || len(xlist.Requests) != 2 {
			t.Fatalf("list.xml: %d %v %s", st, err, body)
		}
		for _, p := range personal {
			if strings.Contains(body, p) {
				t.Fatalf("the list shows %q: %s", p, body)
			}
		}

		// Tokens.
		var toks []open311Request
		if st, body := anon.JSON("GET", "/open311/v2/tokens/"+first.Token+".json?"+j, nil, &toks); st != 200 || len(toks) != 1 || toks[0].ID != first.ID || toks[0].Token != first.Token {
			t.Fatalf("token: %d %s", st, body)
		}
		st, body = anon.Get("/open311/v2/tokens/" + second.Token + ".xml?" + j)
		var xtok open311XMLRequests
		if err := xml.Unmarshal([]byte(body), &xtok); st != 200 || err != nil || len(xtok.Requests) != 1 || xtok.Requests[0].ID != second.ID {
			t.Fatalf("token.xml: %d %v %s", st, err, body)
		}
		st, body = anon.Get("/open311/v2/tokens/nosuchtoken.json?" + j)
		open311Fails(t, "an unknown token", st, body, 404, "token")

		// A topic declined: closed, with the reason as its notes.
		if _, err := env.Sys.DB.Write().ExecContext(ctx, `UPDATE consult_topics SET status = 'declined', reason = '已列入明年修路计划' WHERE id = $1`, strings.TrimPrefix(first.ID, "topic-")); err != nil {
			t.Fatal(err)
		}
		if st, body := anon.JSON("GET", "/open311/v2/requests/"+first.ID+".json?"+j, nil, &got); st != 200 || got[0].Status != "closed" || !strings.Contains(got[0].StatusNotes, "已列入明年修路计划") {
			t.Fatalf("declined: %d %s", st, body)
		}

		// Another town's jurisdiction: its records are not this town's, the key is not its key.
		oj := "jurisdiction_id=" + url.QueryEscape(other)
		st, body = anon.Get("/open311/v2/requests/" + first.ID + ".json?" + oj)
		open311Fails(t, "a request under another town", st, body, 404, "service_request_id")
		st, body = anon.Get("/open311/v2/tokens/" + first.Token + ".xml?" + oj)
		open311Fails(t, "a token under another town", st, body, 404, "token")
		if st, body := anon.JSON("GET", "/open311/v2/requests.json?"+oj, nil, &list); st != 200 || len(list) != 0 {
			t.Fatalf("another town's list: %d %s", st, body)
		}
		st, body = post(anon, "json", url.Values{"jurisdiction_id": {other}, "api_key": {key}, "service_code": {"topic.roads"}, "description": {"别的镇"}, "address_string": {"某处"}})
		open311Fails(t, "the key under another town", st, body, 403, "api_key")

		// Wrong input, each field named; nothing stored.
		st, body = post(anon, "json", url.Values{"api_key": {key}, "service_code": {"topic.nope"}, "description": {"x"}, "address_string": {"某处"}})
		open311Fails(t, "an unknown service code", st, body, 404, "service_code")
		st, body = post(anon, "xml", url.Values{"api_key": {key}, "service_code": {"topic.nope"}, "description": {"x"}, "address_string": {"某处"}})
		open311Fails(t, "an unknown service code in XML", st, body, 404, "service_code")
		st, body = post(anon, "json", url.Values{"api_key": {key}, "service_code": {"topic.roads"}, "lat": {"91"}, "long": {"116"}, "email": {"not-an-email"}, "media_url": {"ftp://x"}})
		open311Fails(t, "no description", st, body, 400, "description")
		open311Fails(t, "a latitude off the earth", st, body, 400, "lat")
		open311Fails(t, "a bad email", st, body, 400, "email")
		open311Fails(t, "a bad media_url", st, body, 400, "media_url")
		st, body = post(anon, "json", url.Values{"api_key": {key}, "service_code": {"topic.roads"}, "description": {"没有地点"}})
		open311Fails(t, "no place", st, body, 400, "address_string")
		st, body = post(anon, "json", url.Values{"service_code": {"topic.roads"}, "description": {"没有密钥"}, "address_string": {"某处"}})
		open311Fails(t, "no key", st, body, 403, "api_key")
		st, body = post(anon, "json", url.Values{"api_key": {strings.Repeat("0", 64)}, "service_code": {"topic.roads"}, "description": {"假密钥"}, "address_string": {"某处"}})
		open311Fails(t, "a made-up key", st, body, 403, "api_key")
		st, body = post(anon, "json", url.Values{"api_key": {key}, "service_code": {"need.repair"}, "description": {"门坏了"}, "address_string": {"某处"}})
		open311Fails(t, "a need with a key alone", st, body, 403, "service_code")
		if n := open311Count(t, env, "consult_topics"); n != topics+2 {
			t.Fatalf("refused requests stored %d topics", n-topics-2)
		}

		// A resident files a need with their own token: 微志愿's need for them, shown with no
		// description and no name.
		var name string
		if err := q.QueryRowContext(ctx, `SELECT name FROM residents WHERE phone = $1`, demo.PhoneResident).Scan(&name); err != nil {
			t.Fatal(err)
		}
		resident := env.API(demo.PhoneResident)
		st, body = post(resident, "json", url.Values{"service_code": {"need.repair"}, "description": {"厨房水管漏水"}, "address_string": {"家里"}})
		if err := json.Unmarshal([]byte(body), &filed); st != http.StatusCreated || err != nil || !strings.HasPrefix(filed[0].ID, "need-") {
			t.Fatalf("a resident's need: %d %v %s", st, err, body)
		}
		var forName, needSource string
		if err := q.QueryRowContext(ctx, `SELECT for_name, source FROM volunteer_needs WHERE id = $1`, strings.TrimPrefix(filed[0].ID, "need-")).Scan(&forName, &needSource); err != nil {
			t.Fatal(err)
		}
		if forName != name || needSource != "self" {
			t.Fatalf("the need is for %q (%s), want %q", forName, needSource, name)
		}
		st, body = anon.JSON("GET", "/open311/v2/requests/"+filed[0].ID+".json?"+j, nil, &got)
		if st != 200 || got[0].ServiceCode != "need.repair" || got[0].Status != "open" || got[0].Description != "" || strings.Contains(body, name) || strings.Contains(body, "水管") ||
			strings.Contains(body, demo.PhoneResident) {
			t.Fatalf("the need as shown: %d %s", st, body)
		}
		// A resident's topic is of their village, and theirs.
		xfiled = open311XMLRequests{}
		st, body = post(resident, "xml", url.Values{"service_code": {"topic.water"}, "description": {"自来水发黄"}, "address_string": {"村东头"}})
		if err := xml.Unmarshal([]byte(body), &xfiled); st != http.StatusCreated || err != nil || len(xfiled.Requests) != 1 {
			t.Fatalf("a resident's topic: %d %v %s", st, err, body)
		}
		var village, homeVillage int64
		var proposer string
		if err := q.QueryRowContext(ctx, `SELECT COALESCE(village_id, 0), proposer_name FROM consult_topics WHERE id = $1`, strings.TrimPrefix(xfiled.Requests[0].ID, "topic-")).Scan(&village, &proposer); err != nil {
			t.Fatal(err)
		}
		if err := q.QueryRowContext(ctx, `SELECT village_id FROM residents WHERE phone = $1`, demo.PhoneResident).Scan(&homeVillage); err != nil {
			t.Fatal(err)
		}
		if village != homeVillage || proposer != name {
			t.Fatalf("the resident's topic is of village %d by %q, want %d by %q", village, proposer, homeVillage, name)
		}
		if st, body := anon.Get("/open311/v2/requests/" + xfiled.Requests[0].ID + ".json?" + j); st != 200 || strings.Contains(body, name) {
			t.Fatalf("the resident's topic as shown: %d %s", st, body)
		}
		topics++
		other311 := env.API(demo.PhoneTownAdmin2)
		st, body = post(other311, "json", url.Values{"service_code": {"topic.roads"}, "description": {"别镇的人"}, "address_string": {"某处"}})
		open311Fails(t, "staff of another town without a key", st, body, 403, "api_key")

		// Revoking asks first and keeps the reason; the key is refused after.
		if st, body := env.Browser(demo.PhoneVillageAdmin).PostForm(fmt.Sprintf("/admin/consult/open311/clients/%d/revoke", clientID), url.Values{"confirmed": {"1"}, "reason": {"村里停用"}}); st < 400 {
			t.Fatalf("a village admin revoked: %d %.200s", st, body)
		}
		if st, body := env.Browser(demo.PhoneVillageAdmin).PostForm("/admin/consult/open311/clients", url.Values{"name": {"村里的"}}); st < 400 || open311Count(t, env, "consult_open311_clients") != 1 {
			t.Fatalf("a village admin issued a key: %d %.200s", st, body)
		}
		revoke := fmt.Sprintf("/admin/consult/open311/clients/%d/revoke", clientID)
		if st, body := town.PostForm(revoke, url.Values{}); st != 200 || !strings.Contains(body, `name="confirmed" value="1"`) {
			t.Fatalf("revoke asks first: %d %.300s", st, body)
		}
		if st, loc := town.Submit(revoke, url.Values{"confirmed": {"1"}, "reason": {"合同到期"}}); st != http.StatusSeeOther || !strings.Contains(loc, "flash=flash.consult_open311_revoked") {
			t.Fatalf("revoke: %d %s", st, loc)
		}
		var reason string
		if err := q.QueryRowContext(ctx, `SELECT revoke_reason FROM consult_open311_clients WHERE id = $1`, clientID).Scan(&reason); err != nil || reason != "合同到期" {
			t.Fatalf("the reason kept: %q %v", reason, err)
		}
		if _, body := town.Get("/admin/consult/open311?flash=flash.consult_open311_revoked&flash_id=" + fmt.Sprint(clientID)); !strings.Contains(body, "已停用 随手拍 的密钥") || !strings.Contains(body, "合同到期") {
			t.Fatalf("the page after revoking: %s", body[strings.Index(body, "<main"):])
		}
		st, body = post(anon, "xml", url.Values{"api_key": {key}, "service_code": {"topic.roads"}, "description": {"停用后"}, "address_string": {"某处"}})
		open311Fails(t, "a revoked key", st, body, 403, "api_key")
		if n := open311Count(t, env, "consult_topics"); n != topics+2 {
			t.Fatalf("a revoked key stored %d topics", n-topics-2)
		}
		if st, _ := town.PostForm(revoke, url.Values{"confirmed": {"1"}, "reason": {"再来一次"}}); st != http.StatusConflict {
			t.Fatalf("revoked twice: %d", st)
		}
	})
}
