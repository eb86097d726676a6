package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"testing"

	"siwei/internal/demo"
)

// consultOpen311Matrix holds 微协商's rows for Open311 and its clients' keys. The GeoReport v2
// routes are public and check an api_key (or a resident's bearer token) themselves: every caller,
// with the fixture's {open311Key}, files and reads alike. The clients' page is the town admins'.
var consultOpen311Matrix = []perm{
	{"GET /open311/v2/discovery.json", "", "", "AAAAA"},
	{"GET /open311/v2/discovery.xml", "", "", "AAAAA"},
	{"GET /open311/v2/services.json", "/open311/v2/services.json?jurisdiction_id={open311Town}", "", "AAAAA"},
	{"GET /open311/v2/services.xml", "/open311/v2/services.xml?jurisdiction_id={open311Town}", "", "AAAAA"},
	{"GET /open311/v2/services/{file}", "/open311/v2/services/topic.roads.json?jurisdiction_id={open311Town}", "", "AAAAA"},
	{"GET /open311/v2/requests.json", "/open311/v2/requests.json?jurisdiction_id={open311Town}", "", "AAAAA"},
	{"GET /open311/v2/requests.xml", "/open311/v2/requests.xml?jurisdiction_id={open311Town}", "", "AAAAA"},
	{"POST /open311/v2/requests.json", "", "jurisdiction_id={open311Town}&api_key={open311Key}&service_code=topic.roads&description=矩阵路灯&address_string=村口", "AAAAA"},
	{"POST /open311/v2/requests.xml", "", "jurisdiction_id={open311Town}&api_key={open311Key}&service_code=topic.environment&description=矩阵垃圾&lat=39.9&long=116.7", "AAAAA"},
	{"GET /open311/v2/requests/{file}", "/open311/v2/requests/{open311Request}.xml?jurisdiction_id={open311Town}", "", "AAAAA"},
	{"GET /open311/v2/tokens/{file}", "/open311/v2/tokens/{open311Token}.json?jurisdiction_id={open311Town}", "", "AAAAA"},
	{"GET /admin/consult/open311", "", "", "LFFFA"},
	{"POST /admin/consult/open311/clients", "", "name=矩阵应用{key}", "LFFFA"},
	{"POST /admin/consult/open311/clients/{id}/revoke", "/admin/consult/open311/clients/{open311Client}/revoke", "confirmed=1&reason=矩阵停用", "LFFFA"},
}

// consultOpen311 makes the fixture's objects for Open311 and its clients' keys: two clients of
// the town issued by its admin, the first's key {open311Key} with a request {open311Request} (and
// its {open311Token}) filed through it, the second {open311Client} to be revoked; {open311Town} is
// the town's code, the jurisdiction_id.
func (f *matrixFixture) consultOpen311(t *testing.T) {
	t.Helper()
	env := f.env
	var code string
	if err := env.Sys.DB.Read().QueryRowContext(context.Background(), `SELECT code FROM towns WHERE id = $1`, env.Info.TownID).Scan(&code); err != nil {
		t.Fatal(err)
	}
	f.values["open311Town"] = code
	town := env.Browser(demo.PhoneTownAdmin)
	keyOf := regexp.MustCompile(`<code class="cs-keytext">([0-9a-f]{64})</code>`)
	for _, name := range []string{"矩阵随手拍", "矩阵待停用"} {
		st, body := town.PostForm("/admin/consult/open311/clients", url.Values{"name": {name}})
		m := keyOf.FindStringSubmatch(body)
		if st != 201 || m == nil {
			t.Fatalf("fixture: issue an Open311 key: %d %.300s", st, body)
		}
		if name == "矩阵随手拍" {
			f.values["open311Key"] = m[1]
			continue
		}
		var id int64
		if err := env.Sys.DB.Read().QueryRowContext(context.Background(), `SELECT id FROM consult_open311_clients WHERE name = $1`, name).Scan(&id); err != nil {
			t.Fatal(err)
		}
		f.values["open311Client"] = fmt.Sprint(id)
	}
	st, body := env.Anonymous().PostForm("/open311/v2/requests.json", url.Values{"jurisdiction_id": {code}, "api_key": {f.values["open311Key"]},
		"service_code": {"topic.roads"}, "description": {"矩阵：村口路灯坏了"}, "address_string": {"村口"}})
	var filed []struct {
		ID    string `json:"service_request_id"`
		Token string `json:"token"`
	}
	if err := json.Unmarshal([]byte(body), &filed); st != 201 || err != nil || len(filed) != 1 {
		t.Fatalf("fixture: file an Open311 request: %d %v %s", st, err, body)
	}
	f.values["open311Request"], f.values["open311Token"] = filed[0].ID, filed[0].Token
}
