package server_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/demo"
	"siwei/internal/people"
	"siwei/internal/server/servertest"
	"siwei/internal/web"
)

// The permission matrix: every registered route, called by five people, against objects of
// 前疃村 that belong to someone else than the caller. Each row's want holds one letter per caller,
// in the order of matrixCallers:
//
//	A allowed: the request got past every permission check (2xx, a redirect that is not to the
//	  login page, or 400/409/422 because the test's body is not acceptable for other reasons)
//	L log in first: 401 from the API, a redirect to /login from a page
//	F forbidden: 403
//	N hidden: 404, the object is outside the caller's scope and not admitted to exist
//	R sent to the console: the bank's resident pages redirect staff without a resident record to
//	  /admin/bank (what they asked for is not done)
//	U refused inside a 2xx answer (a bulk award lists a refusal per resident)
//
// Every refused write (any letter but A) is checked to have left the database as it was. The
// account routes have a matrix of their own besides (account_matrix_test.go): staff of two
// villages and two towns against accounts of every kind.
//
// path and body may name fixture values in braces: {village} 前疃村, {otherVillage} 东堡村,
// {neighbour} a 前疃村 party member (not the resident caller), {household} their household,
// {account} their login, {grant} a fresh grant of theirs, {claim} their claim awaiting review,
// {notice} their claim on the notice board, {objection} the resident's objection to it, {item}
// a shop item, {order} their pending order, {txn} an award to them, {card} and {cardno} their
// card; 微志愿's {team} of 前疃村, its {post} and {closing} posts, the post's {shift} tomorrow
// (both residents signed up), the party member's {volunteer} record and number {volno}, {need}
// and {certificate}; 微党校's {expert} (with a photo) and {retiring} of the town's pool, a
// {category} and the offered {course} (with a PDF) the expert teaches, 前疃村's {schoolOrder} of it
// waiting for the town and the {lesson} another order of it became, the {survey} the town sent
// to 前疃村 only; {today}, {tomorrow}, and
// for every call a fresh {key}, {phone} and {idnum} (a valid, unused 身份证号). An API route's
// body is JSON; a page's is a form.
type perm struct {
	route string // "METHOD /pattern" exactly as registered
	path  string // the path to call; empty: the pattern itself
	body  string
	want  string
}

// matrixCallers are the callers, in the order of a row's letters.
var matrixCallers = []string{"anonymous", "resident 13900000011", "东堡村 admin", "前疃村 admin", "town admin"}

// matrix declares what each caller gets. Every registered route must have a row: a new route
// fails TestPermissionMatrix until it is declared here, or in a part's file of rows
// (permissions_consult_*_test.go).
var matrix = slices.Concat(coreMatrix, consultTopicsMatrix, consultMeetingsMatrix, consultReferralsMatrix, consultCareMatrix, consultOpen311Matrix, allianceUnitsMatrix, allianceListsMatrix, allianceActivitiesMatrix, allianceDonationsMatrix, allianceDisputesMatrix, allianceFiguresMatrix, honoursHomeMatrix, honoursNoticesMatrix, honoursRoundsMatrix, honoursFlagsMatrix, honoursWallMatrix, honoursActionsMatrix, honoursContestsMatrix, reportMatrix)

// coreMatrix holds the rows of the registry, the bank, 微志愿 and 微党校.
var coreMatrix = []perm{
	// web: assets, operations, session
	{"GET /static/", "/static/app.css", "", "AAAAA"},
	{"GET /manifest.webmanifest", "", "", "AAAAA"},
	{"GET /icons/{size}", "/icons/192.png", "", "AAAAA"},
	{"GET /healthz", "", "", "AAAAA"},
	{"GET /api/v1/openapi.json", "", "", "AAAAA"},
	{"POST /lang", "", "lang=en", "AAAAA"},
	{"GET /login", "", "", "AAAAA"},
	{"POST /login", "", "phone=13900000099&password=", "AAAAA"},
	{"POST /logout", "", "", "LAAAA"},
	{"GET /password", "", "", "LAAAA"},
	{"POST /password", "", "old_password=wrong&new_password=short", "LAAAA"},
	{"POST /api/v1/auth/login", "", `{"phone":"13900000099","password":""}`, "AAAAA"},
	{"POST /api/v1/auth/logout", "", "", "LAAAA"},
	{"POST /api/v1/auth/password", "", `{"old_password":"wrong","new_password":"short"}`, "LAAAA"},

	// people: pages
	{"GET /{$}", "/", "", "LAAAA"},
	{"GET /admin", "", "", "LFAAA"},
	{"GET /admin/villages", "", "", "LFAAA"},
	{"POST /admin/villages", "", "name=矩阵新村", "LFFFA"},
	{"GET /admin/villages/{id}", "/admin/villages/{village}", "", "LFNAA"},
	{"GET /admin/households/{id}", "/admin/households/{household}", "", "LFNAA"},
	{"POST /admin/households/{id}", "/admin/households/{household}", "address=矩阵路1号", "LFNAA"},
	{"GET /admin/residents", "/admin/residents?village_id={village}", "", "LFNAA"},
	{"GET /admin/residents/new", "", "", "LFAAA"},
	{"POST /admin/residents", "", "village_id={village}&household_number=JZ-1&name=矩阵&gender=M&birth_date={birth}&id_number={idnum}&relation=户主", "LFNAA"},
	{"GET /admin/residents/{id}", "/admin/residents/{neighbour}", "", "LFNAA"},
	{"POST /admin/residents/{id}", "/admin/residents/{neighbour}", "name=矩阵改名", "LFNAA"},
	{"POST /admin/residents/{id}/move", "/admin/residents/{neighbour}/move", "to_village_id={otherVillage}&to_household_number=JZ-2&reason=", "LFNAA"},
	{"POST /admin/residents/{id}/status", "/admin/residents/{neighbour}/status", "status=&status_date={today}&confirmed=1&reason=矩阵", "LFNAA"},
	{"GET /admin/import", "", "", "LFAAA"},
	{"POST /admin/import", "", "", "LFAAA"},
	{"GET /admin/import/template.xlsx", "", "", "LFAAA"},
	{"GET /admin/export", "/admin/export?village_id={village}", "", "LFNAA"},
	{"GET /admin/accounts", "", "", "LFAAA"},
	{"POST /admin/accounts", "", "phone={phone}&name=矩阵&role=village_admin&village_id={village}", "LFFFA"},
	{"POST /admin/accounts/{id}/grants", "/admin/accounts/{account}/grants", "role=reviewer&village_id={village}", "LFNFA"},
	{"POST /admin/grants/{id}/delete", "/admin/grants/{grant}/delete", "", "LFNFA"},
	{"POST /admin/accounts/{id}/reset", "/admin/accounts/{account}/reset", "", "LFNAA"},
	{"POST /admin/residents/{id}/account", "/admin/residents/{neighbour}/account", "", "LFNAA"},
	{"POST /admin/office/{id}", "/admin/office/{neighbour}", "", "LFNAA"},
	{"POST /admin/office/end", "", "", "LFAAA"},
	{"GET /admin/audit", "", "", "LFFFA"},

	// people: API
	{"GET /api/v1/villages", "", "", "LFAAA"},
	{"POST /api/v1/villages", "", `{"name":"矩阵API村"}`, "LFFFA"},
	{"GET /api/v1/residents", "/api/v1/residents?village_id={village}", "", "LNNAA"},
	{"POST /api/v1/residents", "", `{"village_id":{village},"household_number":"JZ-3","name":"矩阵","gender":"F","birth_date":"{birth}","id_number":"{idnum}","relation":"户主"}`, "LNNAA"},
	{"GET /api/v1/residents/{id}", "/api/v1/residents/{neighbour}", "", "LNNAA"},
	{"PATCH /api/v1/residents/{id}", "/api/v1/residents/{neighbour}", `{"relation":"其他"}`, "LNNAA"},
	{"GET /api/v1/me", "", "", "LANNN"},

	// bank: resident pages
	{"GET /bank", "", "", "LARRR"},
	{"GET /bank/statement", "", "", "LARRR"},
	{"GET /bank/statement.xlsx", "", "", "LARRR"},
	{"GET /bank/rules", "", "", "LARRR"},
	{"GET /bank/shop", "", "", "LARRR"},
	{"POST /bank/shop", "", "item_id={item}&quantity=1&idempotency_key={key}&confirmed=1&reason=矩阵", "LARRR"},
	{"GET /bank/orders", "", "", "LARRR"},
	{"POST /bank/orders/{id}/cancel", "/bank/orders/{order}/cancel", "", "LNRAA"},
	{"GET /bank/rankings", "", "", "LAAAA"},
	{"GET /bank/claims", "", "", "LARRR"},
	{"GET /bank/claims/new", "", "", "LARRR"},
	{"POST /bank/claims", "", "rule_code=help&description=矩阵&happened_on={today}&confirm_duplicate=1", "LARRR"},
	{"GET /bank/claims/{id}/photos/{n}", "/bank/claims/{claim}/photos/1", "", "LNNAA"},
	{"POST /bank/claims/{id}/objections", "/bank/claims/{notice}/objections", "reason=矩阵异议", "LARRR"},
	{"GET /bank/notices", "", "", "LARRR"},
	{"GET /bank/card", "", "", "LARRR"},
	{"GET /bank/card.png", "", "", "LANNN"},
	{"POST /bank/card/lost", "", "confirmed=1&reason=矩阵", "LARRR"},

	// bank: staff pages
	{"GET /admin/bank", "", "", "LFAAA"},
	{"GET /admin/bank/rules", "", "", "LFAAA"},
	{"POST /admin/bank/rules", "", "class=villager&adopted_by=&adopted_on=&effective_from=", "LFFFA"},
	{"GET /admin/bank/award", "/admin/bank/award?resident_id={neighbour}", "", "LFNAA"},
	{"POST /admin/bank/award", "", "resident_id={neighbour}&rule_code=volunteer&reason=矩阵&idempotency_key={key}&confirm_duplicate=1", "LFNAA"},
	{"POST /admin/bank/award/bulk", "", "resident_ids={neighbour}&rule_code=volunteer&reason=矩阵&idempotency_key={key}&confirm_duplicate=1", "LFUAA"},
	{"GET /admin/bank/shop", "/admin/bank/shop?village_id={village}", "", "LFNAA"},
	{"POST /admin/bank/items", "", "kind=goods&name=矩阵商品&price=10", "LFFFA"},
	{"GET /admin/bank/items/{id}", "/admin/bank/items/{item}", "", "LFFFA"},
	{"POST /admin/bank/items/{id}", "/admin/bank/items/{item}", "kind=goods&name=矩阵商品&price=0", "LFFFA"},
	{"POST /admin/bank/stock", "", "item_id={item}&village_id={village}&quantity=1&source=purchase", "LFNAA"},
	{"GET /admin/bank/orders", "/admin/bank/orders?village_id={village}", "", "LFNAA"},
	{"POST /admin/bank/orders/{id}/fulfil", "/admin/bank/orders/{order}/fulfil", "", "LFNAA"},
	{"POST /admin/bank/orders/{id}/cancel", "/admin/bank/orders/{order}/cancel", "confirmed=1&reason=矩阵", "LFNAA"},
	{"GET /admin/bank/ledger", "/admin/bank/ledger?resident_id={neighbour}", "", "LFNAA"},
	{"POST /admin/bank/ledger/reverse", "", "transaction_id={txn}&resident_id={neighbour}&reason=矩阵冲正&confirmed=1", "LFNNA"},
	{"GET /admin/bank/claims", "/admin/bank/claims?village_id={village}", "", "LFNAA"},
	{"POST /admin/bank/claims/{id}/review", "/admin/bank/claims/{claim}/review", "approve=1", "LFNAA"},
	{"POST /admin/bank/objections/{id}", "/admin/bank/objections/{objection}", "uphold=0&decision=矩阵驳回", "LFNAA"},
	{"GET /admin/bank/cards", "/admin/bank/cards?village_id={village}", "", "LFNAA"},
	{"POST /admin/bank/cards", "", "resident_id={neighbour}", "LFNAA"},
	{"POST /admin/bank/cards/bulk", "", "village_id={village}&resident_id={neighbour}&confirmed=1", "LFNAA"},
	{"POST /admin/bank/cards/{id}/lost", "/admin/bank/cards/{card}/lost", "confirmed=1&reason=矩阵", "LFNAA"},
	{"POST /admin/bank/cards/{id}/reissue", "/admin/bank/cards/{card}/reissue", "", "LFNAA"},
	{"GET /admin/bank/cards/print", "/admin/bank/cards/print?village_id={village}", "", "LFNAA"},
	{"GET /admin/bank/plaques/print", "/admin/bank/plaques/print?village_id={village}", "", "LFNAA"},
	{"GET /admin/bank/counter", "/admin/bank/counter?card={cardno}", "", "LFNAA"},
	{"POST /admin/bank/counter", "", "card={cardno}&item_id={item}&quantity=1&idempotency_key={key}", "LFNAA"},

	// bank: API
	{"GET /api/v1/bank/rules", "/api/v1/bank/rules?resident_id={neighbour}", "", "LNNAA"},
	{"GET /api/v1/bank/items", "/api/v1/bank/items?village_id={village}", "", "LNNAA"},
	{"GET /api/v1/bank/accounts/{resident_id}", "/api/v1/bank/accounts/{neighbour}", "", "LNNAA"},
	{"GET /api/v1/bank/accounts/{resident_id}/entries", "/api/v1/bank/accounts/{neighbour}/entries", "", "LNNAA"},
	{"POST /api/v1/bank/awards", "", `{"resident_id":{neighbour},"rule_code":"volunteer","reason":"矩阵","idempotency_key":"{key}","confirm_duplicate":true}`, "LNNAA"},
	{"POST /api/v1/bank/redemptions", "", `{"item_id":{item},"quantity":1,"idempotency_key":"{key}"}`, "LAFFF"},
	{"POST /api/v1/bank/redemptions/{id}/cancel", "/api/v1/bank/redemptions/{order}/cancel", "", "LNNAA"},
	{"POST /api/v1/bank/redemptions/{id}/fulfil", "/api/v1/bank/redemptions/{order}/fulfil", "", "LNNAA"},
	{"POST /api/v1/bank/reversals", "", `{"transaction_id":{txn},"reason":"矩阵冲正"}`, "LNNNA"},
	{"GET /api/v1/bank/rankings", "/api/v1/bank/rankings?by=household", "", "LAAAA"},
	{"GET /api/v1/bank/figures", "", "", "LFAAA"},
	{"GET /api/v1/bank/cards/lookup", "/api/v1/bank/cards/lookup?card={cardno}", "", "LFNAA"},
	{"POST /api/v1/bank/counter/redemptions", "", `{"card":"{cardno}","item_id":{item},"quantity":1,"idempotency_key":"{key}"}`, "LFNAA"},
	{"POST /api/v1/bank/claims", "", `{"rule_code":"help","description":"矩阵","happened_on":"{today}","confirm_duplicate":true}`, "LAFFF"},
	{"GET /api/v1/bank/claims", "", "", "LAFFF"},
	{"GET /api/v1/bank/notices", "/api/v1/bank/notices?village_id={village}", "", "LNNAA"},
	{"POST /api/v1/bank/claims/{id}/objections", "/api/v1/bank/claims/{notice}/objections", `{"reason":"矩阵异议"}`, "LAFFF"},
	{"POST /api/v1/bank/claims/{id}/review", "/api/v1/bank/claims/{claim}/review", `{"approve":true}`, "LNNAA"},

	// notify
	{"GET /notifications", "", "", "LAFFF"},
	{"POST /notifications/read", "", "", "LAFFF"},
	{"POST /notifications/settings", "", "mode=daily", "LAFFF"},
	{"POST /settings/large-text", "", "on=0", "LAFFF"},
	{"GET /api/v1/notifications", "", "", "LAFFF"},

	// 微志愿: resident pages
	{"GET /volunteer", "", "", "LAAAA"},
	{"GET /volunteer/register", "", "", "LANNN"},
	{"POST /volunteer/register", "", "consent=1&skills=haircut", "LANNN"},
	{"GET /volunteer/posts/{id}", "/volunteer/posts/{post}", "", "LANNN"},
	{"POST /volunteer/shifts/{id}/signup", "/volunteer/shifts/{shift}/signup", "", "LANNN"},
	{"POST /volunteer/shifts/{id}/cancel", "/volunteer/shifts/{shift}/cancel", "", "LANNN"},
	{"GET /volunteer/shifts", "", "", "LANNN"},
	{"GET /volunteer/scan", "/volunteer/scan?t=x", "", "LAAAA"},
	{"POST /volunteer/scan", "", "t=x", "LAFFF"},
	{"GET /volunteer/record", "", "", "LAAAA"},
	{"POST /volunteer/certificates", "", "", "LANNN"},
	{"GET /volunteer/certificates/{id}", "/volunteer/certificates/{certificate}", "", "LNNAA"},
	{"GET /volunteer/needs", "", "", "LANNN"},
	{"POST /volunteer/needs", "", "category=repair&description=矩阵需求&urgency=normal&confirm_duplicate=1", "LANNN"},
	{"GET /volunteer/needs/{id}", "/volunteer/needs/{need}", "", "LNNAA"},
	{"POST /volunteer/needs/{id}", "/volunteer/needs/{need}", "action=rate&rating=5", "LNNAA"},

	// 微志愿: staff pages
	{"GET /admin/volunteer", "/admin/volunteer?village_id={village}", "", "LFNAA"},
	{"POST /admin/volunteer/teams/{id}/leaders", "/admin/volunteer/teams/{team}/leaders", "account_id={account}&village_id={village}", "LFNAA"},
	{"GET /admin/volunteer/posts", "/admin/volunteer/posts?village_id={village}", "", "LFNAA"},
	{"POST /admin/volunteer/posts", "", "team_id={team}&title=矩阵岗位&place=村委会&open_to=village&rule_code=volunteer&date={tomorrow}&start=14:00&end=16:00&capacity=3", "LFNAA"},
	{"GET /admin/volunteer/posts/{id}", "/admin/volunteer/posts/{post}", "", "LFNAA"},
	{"POST /admin/volunteer/posts/{id}/shifts", "/admin/volunteer/posts/{post}/shifts", "date={tomorrow}&start=16:00&end=17:00&capacity=3", "LFNAA"},
	{"POST /admin/volunteer/posts/{id}/close", "/admin/volunteer/posts/{closing}/close", "confirmed=1&reason=矩阵", "LFNAA"},
	{"GET /admin/volunteer/shifts/{id}", "/admin/volunteer/shifts/{shift}", "", "LFNAA"},
	{"GET /admin/volunteer/shifts/{id}/qr.png", "/admin/volunteer/shifts/{shift}/qr.png", "", "LFNAA"},
	{"POST /admin/volunteer/shifts/{id}/checkin", "/admin/volunteer/shifts/{shift}/checkin", "volunteer_number={volno}&action=in&at=09:00", "LFNAA"},
	{"POST /admin/volunteer/shifts/{id}/complete", "/admin/volunteer/shifts/{shift}/complete", "", "LFNAA"},
	{"POST /admin/volunteer/shifts/{id}/message", "/admin/volunteer/shifts/{shift}/message", "title=矩阵通知&body=明天见", "LFNAA"},
	{"GET /admin/volunteer/needs", "/admin/volunteer/needs?village_id={village}", "", "LFNAA"},
	{"POST /admin/volunteer/needs", "", "village_id={village}&category=repair&description=矩阵上门&for_name=王大爷&urgency=normal&confirm_duplicate=1", "LFNAA"},
	{"GET /admin/volunteer/needs/{id}", "/admin/volunteer/needs/{need}", "", "LFNAA"},
	{"POST /admin/volunteer/needs/{id}", "/admin/volunteer/needs/{need}", "action=assign&team_id={team}", "LFNAA"},
	{"GET /admin/volunteer/volunteers", "/admin/volunteer/volunteers?village_id={village}", "", "LFNAA"},
	{"GET /admin/volunteer/volunteers/{id}", "/admin/volunteer/volunteers/{volunteer}", "", "LFNAA"},
	{"GET /admin/volunteer/figures", "", "", "LFAAA"},

	// 微志愿: API
	{"GET /api/v1/volunteer/posts", "/api/v1/volunteer/posts?village_id={village}", "", "LANAA"},
	{"POST /api/v1/volunteer/posts", "", `{"team_id":{team},"title":"矩阵API岗位","place":"村委会","rule_code":"volunteer","shifts":[{"date":"{tomorrow}","start":"14:00","end":"16:00","capacity":3}]}`, "LNNAA"},
	{"GET /api/v1/volunteer/posts/{id}", "/api/v1/volunteer/posts/{post}", "", "LANAA"},
	{"POST /api/v1/volunteer/posts/{id}/shifts", "/api/v1/volunteer/posts/{post}/shifts", `{"shifts":[{"date":"{tomorrow}","start":"17:00","end":"18:00","capacity":3}]}`, "LNNAA"},
	{"POST /api/v1/volunteer/posts/{id}/close", "/api/v1/volunteer/posts/{closing}/close", "", "LNNAA"},
	{"GET /api/v1/volunteer/shifts/{id}", "/api/v1/volunteer/shifts/{shift}", "", "LANAA"},
	{"POST /api/v1/volunteer/shifts/{id}/signups", "/api/v1/volunteer/shifts/{shift}/signups", "", "LAFFF"},
	{"DELETE /api/v1/volunteer/shifts/{id}/signups/me", "/api/v1/volunteer/shifts/{shift}/signups/me", "", "LAFFF"},
	{"POST /api/v1/volunteer/shifts/{id}/checkins", "/api/v1/volunteer/shifts/{shift}/checkins", `{"volunteer_number":"{volno}","action":"in","at":"09:00"}`, "LNNAA"},
	{"POST /api/v1/volunteer/shifts/{id}/complete", "/api/v1/volunteer/shifts/{shift}/complete", "", "LNNAA"},
	{"POST /api/v1/volunteer/shifts/{id}/messages", "/api/v1/volunteer/shifts/{shift}/messages", `{"title":"矩阵通知","body":"明天见"}`, "LNNAA"},
	{"GET /api/v1/volunteer/me", "", "", "LANNN"},
	{"POST /api/v1/volunteer/me", "", `{"consent":true,"skills":["haircut"]}`, "LAFFF"},
	{"GET /api/v1/volunteer/me/record", "", "", "LANNN"},
	{"GET /api/v1/volunteer/teams", "/api/v1/volunteer/teams?village_id={village}", "", "LANAA"},
	{"GET /api/v1/volunteer/needs", "/api/v1/volunteer/needs?village_id={village}", "", "LANAA"},
	{"POST /api/v1/volunteer/needs", "", `{"village_id":{village},"category":"repair","description":"矩阵上门","for_name":"王大爷","urgency":"normal","confirm_duplicate":true}`, "LANAA"},
	{"GET /api/v1/volunteer/needs/{id}", "/api/v1/volunteer/needs/{need}", "", "LNNAA"},
	{"POST /api/v1/volunteer/needs/{id}/actions", "/api/v1/volunteer/needs/{need}/actions", `{"action":"assign","team_id":{team}}`, "LNNAA"},
	{"GET /api/v1/volunteer/figures", "", "", "LFAAA"},

	// 微党校: the menu
	{"GET /school", "", "", "LAAAA"},
	{"GET /school/courses/{id}", "/school/courses/{course}", "", "LAAAA"},
	{"GET /school/courses/{id}/material", "/school/courses/{course}/material", "", "LAAAA"},
	{"GET /school/experts/{id}/photo", "/school/experts/{expert}/photo", "", "LAAAA"},

	// 微党校: staff pages (the town's; a village admin reads the menu, to which /admin/school leads)
	{"GET /admin/school", "", "", "LFAAA"},
	{"POST /admin/school/categories", "", "name=矩阵类别", "LFFFA"},
	{"GET /admin/school/courses/new", "", "", "LFFFA"},
	{"POST /admin/school/courses", "", "title=矩阵课程&category_id={category}&minutes=60&format=online&expert_ids={expert}", "LFFFA"},
	{"GET /admin/school/courses/{id}", "/admin/school/courses/{course}", "", "LFFFA"},
	{"POST /admin/school/courses/{id}", "/admin/school/courses/{course}", "title=矩阵党课改&category_id={category}&minutes=90&format=both&expert_ids={expert}", "LFFFA"},
	{"POST /admin/school/courses/{id}/status", "/admin/school/courses/{course}/status", "status=offered", "LFFFA"},
	{"GET /admin/school/experts", "", "", "LFFFA"},
	{"GET /admin/school/experts/new", "", "", "LFFFA"},
	{"POST /admin/school/experts", "", "name=矩阵专家&affiliation=矩阵单位", "LFFFA"},
	{"GET /admin/school/experts/{id}", "/admin/school/experts/{expert}", "", "LFFFA"},
	{"POST /admin/school/experts/{id}", "/admin/school/experts/{expert}", "name=矩阵专家改&affiliation=矩阵单位", "LFFFA"},
	{"POST /admin/school/experts/{id}/retire", "/admin/school/experts/{retiring}/retire", "confirmed=1&reason=矩阵", "LFFFA"},
	{"GET /admin/school/me", "", "", "LFNNN"},
	{"POST /admin/school/me", "", "title=矩阵", "LFNNN"},

	// 微党校: API
	{"GET /api/v1/school/categories", "", "", "LAAAA"},
	{"GET /api/v1/school/experts", "", "", "LAAAA"},
	{"POST /api/v1/school/experts", "", `{"name":"矩阵API专家","affiliation":"矩阵单位"}`, "LFFFA"},
	{"GET /api/v1/school/courses", "", "", "LAAAA"},
	{"POST /api/v1/school/courses", "", `{"title":"矩阵API课程","category_id":{category},"minutes":60,"format":"online","expert_ids":[{expert}]}`, "LFFFA"},
	{"GET /api/v1/school/courses/{id}", "/api/v1/school/courses/{course}", "", "LAAAA"},
	{"POST /api/v1/school/courses/{id}/status", "/api/v1/school/courses/{course}/status", `{"status":"offered"}`, "LFFFA"},

	// 微党校: lesson orders (点单 by a village's admins for their branch, 派单 by the town) and lessons
	{"GET /school/orders", "", "", "LFAAA"},
	{"GET /school/courses/{id}/order", "/school/courses/{course}/order", "", "LFAAF"},
	{"POST /school/orders", "", "course_id={course}&dates={tomorrow}&mode=online", "LFAAF"},
	{"GET /school/orders/{id}", "/school/orders/{schoolOrder}", "", "LNNAA"},
	{"POST /school/orders/{id}/actions", "/school/orders/{schoolOrder}/actions", "action=assign&expert_id={expert}&date={tomorrow}&start=09:00", "LNNFA"},
	{"GET /admin/school/orders", "", "", "LFAAA"},
	{"GET /admin/school/me/lessons", "", "", "LFNNN"},
	{"GET /api/v1/school/orders", "", "", "LFAAA"},
	{"POST /api/v1/school/orders", "", `{"course_id":{course},"dates":["{tomorrow}"],"mode":"online"}`, "LFAAF"},
	{"GET /api/v1/school/orders/{id}", "/api/v1/school/orders/{schoolOrder}", "", "LNNAA"},
	{"POST /api/v1/school/orders/{id}/actions", "/api/v1/school/orders/{schoolOrder}/actions", `{"action":"assign","expert_id":{expert},"date":"{tomorrow}","start":"09:00"}`, "LNNFA"},
	{"GET /api/v1/school/lessons/{id}", "/api/v1/school/lessons/{lesson}", "", "LNNAA"},

	// 微党校: lessons (the {lesson} starts tomorrow: its roll is 前疃村's party members, a check-in is
	// too early, and its roll cannot be closed yet), a resident's lessons and record, coverage
	{"GET /school/lessons", "", "", "LAAAA"},
	{"GET /school/lessons/{id}", "/school/lessons/{lesson}", "", "LNNAA"},
	{"POST /school/lessons/{id}/checkins", "/school/lessons/{lesson}/checkins", "resident_id={neighbour}&method=roll", "LNNAA"},
	{"POST /school/lessons/{id}/sheet", "/school/lessons/{lesson}/sheet", "resident_ids={neighbour}", "LNNAA"},
	{"POST /school/lessons/{id}/invitations", "/school/lessons/{lesson}/invitations", "resident_id={neighbour}", "LNNAA"},
	{"POST /school/lessons/{id}/ratings", "/school/lessons/{lesson}/ratings", "rating=5", "LNNNN"},
	{"POST /school/lessons/{id}/close", "/school/lessons/{lesson}/close", "", "LNNAA"},
	{"GET /school/lessons/{id}/qr", "/school/lessons/{lesson}/qr", "", "LNNAA"},
	{"GET /school/lessons/{id}/qr.png", "/school/lessons/{lesson}/qr.png", "", "LNNAA"},
	{"GET /school/lessons/{id}/sheet", "/school/lessons/{lesson}/sheet", "", "LNNAA"},
	{"GET /school/checkin", "/school/checkin?t=AQ1.1.1.x", "", "LAAAA"},
	{"POST /school/checkin", "", "t=AQ1.1.1.x", "LAFFF"},
	{"GET /school/record", "", "", "LAFFF"},
	{"GET /admin/school/coverage", "", "", "LFAAA"},
	{"GET /admin/school/coverage/{id}", "/admin/school/coverage/{village}", "", "LFNAA"},
	{"GET /api/v1/school/lessons", "", "", "LAAAA"},
	{"POST /api/v1/school/lessons/{id}/checkins", "/api/v1/school/lessons/{lesson}/checkins", `{"resident_id":{neighbour},"method":"roll"}`, "LNNAA"},
	{"POST /api/v1/school/lessons/{id}/invitations", "/api/v1/school/lessons/{lesson}/invitations", `{"resident_id":{neighbour}}`, "LNNAA"},
	{"POST /api/v1/school/lessons/{id}/ratings", "/api/v1/school/lessons/{lesson}/ratings", `{"rating":5}`, "LNNNN"},
	{"POST /api/v1/school/lessons/{id}/close", "/api/v1/school/lessons/{lesson}/close", "", "LNNAA"},
	{"GET /api/v1/school/coverage", "", "", "LFAAA"},
	{"GET /api/v1/school/figures", "", "", "LFFFA"},
	{"GET /api/v1/school/record", "", "", "LAFFF"},

	// 微党校: demand surveys (问需), opened by the town to 前疃村 only, answered by the branch
	{"GET /school/surveys", "", "", "LFAAA"},
	{"GET /school/surveys/{id}", "/school/surveys/{survey}", "", "LNNAA"},
	{"POST /school/surveys/{id}/answers", "/school/surveys/{survey}/answers", "category_ids={category}&topics=矩阵主题", "LNNAF"},
	{"GET /admin/school/surveys", "", "", "LFAAA"},
	{"POST /admin/school/surveys", "", "title=矩阵问需&deadline={tomorrow}&village_ids={village}", "LFFFA"},
	{"GET /admin/school/surveys/{id}", "/admin/school/surveys/{survey}", "", "LFNAA"},
	{"POST /admin/school/surveys/{id}/close", "/admin/school/surveys/{survey}/close", "confirmed=1&reason=矩阵", "LFNFA"},
	{"GET /api/v1/school/surveys", "", "", "LFAAA"},
	{"POST /api/v1/school/surveys", "", `{"title":"矩阵API问需","deadline":"{tomorrow}","village_ids":[{village}]}`, "LFFFA"},
	{"GET /api/v1/school/surveys/{id}", "/api/v1/school/surveys/{survey}", "", "LNNAA"},
	{"POST /api/v1/school/surveys/{id}/answers", "/api/v1/school/surveys/{survey}/answers", `{"category_ids":[{category}],"topics":["矩阵主题"]}`, "LNNAF"},
}

// freshSession marks routes that change the caller's own session (ending it, or starting office
// mode): they are called with a session opened for the one call.
var freshSession = map[string]bool{"POST /logout": true, "POST /api/v1/auth/logout": true, "POST /admin/office/{id}": true}

// matrixFixture holds the 前疃村 objects the rows name.
type matrixFixture struct {
	env    *servertest.Env
	values map[string]string
	seq    int
}

func TestPermissionMatrix(t *testing.T) {
	declared := map[string]perm{}
	for _, p := range matrix {
		if _, dup := declared[p.route]; dup {
			t.Fatalf("%s is declared twice in the permission matrix", p.route)
		}
		if len(p.want) != len(matrixCallers) || strings.Trim(p.want, "ALFNRU") != "" {
			t.Fatalf("%s: want %q must be %d letters of A, L, F, N, R, U", p.route, p.want, len(matrixCallers))
		}
		declared[p.route] = p
	}
	servertest.Each(t, func(t *testing.T, env *servertest.Env) {
		d := env.Sys.DB
		app, err := env.Sys.App(slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		registered := map[string]bool{}
		var missing []string
		for _, rt := range app.Routes() {
			key := rt.Method + " " + rt.Path
			registered[key] = true
			if _, ok := declared[key]; !ok {
				missing = append(missing, key)
			}
		}
		for _, k := range missing {
			t.Errorf("route %s is not in the permission matrix: declare what each caller gets in internal/server/permissions_test.go", k)
		}
		for _, p := range matrix {
			if !registered[p.route] {
				t.Errorf("the permission matrix declares %s, which is no longer registered: remove its row", p.route)
			}
		}
		if t.Failed() {
			return
		}
		f := newMatrixFixture(t, env)
		phones := []string{"", demo.PhoneResident, demo.PhoneVillageAdmin2, demo.PhoneVillageAdmin, demo.PhoneTownAdmin}
		browsers, apis := make([]*caller, len(phones)), make([]*caller, len(phones))
		for i, ph := range phones {
			browsers[i], apis[i] = login(t, env, ph, false), login(t, env, ph, true)
		}
		print := os.Getenv("SIWEI_MATRIX_PRINT") != ""
		dp := newDBPrint(t, d)
		var cur snapshot // the database's fingerprint, when known to be unchanged since it was taken
		for _, rt := range app.Routes() {
			p := declared[rt.Method+" "+rt.Path]
			got := make([]byte, len(matrixCallers))
			var statuses []string
			for i := range matrixCallers {
				c := browsers[i]
				if rt.API {
					c = apis[i]
				}
				if freshSession[p.route] {
					c = login(t, env, phones[i], rt.API)
				}
				want := p.want[i]
				path, body := f.fill(t, p.path, rt.Path), f.fill(t, p.body, "")
				if strings.Contains(p.path+p.body, "{grant}") {
					cur = snapshot{} // fill wrote a grant
				}
				// A refused write must store nothing, unless the route's guard refused it before
				// any handler ran (anonymous callers, and residents on the staff console).
				guarded := (i == 0 && rt.Access >= web.LoggedIn) || (i == 1 && rt.Access == web.Staff)
				check := want != 'A' && rt.Method != "GET" && !guarded
				var before snapshot
				if check {
					if cur.sum == "" || (dp.conn != nil && !dp.unchanged(t, cur)) {
						cur = dp.take(t)
					}
					before = cur
				}
				if dp.conn == nil {
					cur = snapshot{} // PostgreSQL: nothing tells whether the next call writes
				}
				req, _ := http.NewRequest(rt.Method, env.URL+path, strings.NewReader(body))
				if body != "" && rt.API {
					req.Header.Set("Content-Type", "application/json")
				} else if body != "" {
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				}
				status, loc, text := c.do(t, req)
				got[i] = classify(status, loc)
				// An API answer on success is one the route documents (its OpenAPI responses).
				if rt.API && status >= 200 && status < 300 && !rt.OK(status) {
					t.Errorf("%s as %s: answered %d, which the route's Statuses do not document", p.route, matrixCallers[i], status)
				}
				statuses = append(statuses, fmt.Sprint(status, loc))
				if got[i] != want && !(want == 'U' && got[i] == 'A') && !print {
					t.Errorf("%s as %s: %s, want %s (%d %s %.200s)", p.route, matrixCallers[i], describe(got[i]), describe(want), status, loc, text)
				}
				if check {
					if dp.unchanged(t, before) {
						cur = before
					} else if cur = dp.take(t); cur.sum != before.sum {
						t.Errorf("%s as %s: refused with %d, but the database changed", p.route, matrixCallers[i], status)
					}
				}
			}
			if print {
				fmt.Printf("%-50s %s (declared %s) %v\n", p.route, got, p.want, statuses)
			}
		}
	})
}

// caller is one of the matrix's people: a browser with its session cookie, or an API client with
// a bearer token; anonymous when phone is empty. Redirects are not followed.
type caller struct {
	http  *http.Client
	token string
}

// login opens a session for phone through the login form or the API login.
func login(t *testing.T, env *servertest.Env, phone string, api bool) *caller {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &caller{http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if phone == "" {
		return c
	}
	var req *http.Request
	if api {
		req, _ = http.NewRequest("POST", env.URL+"/api/v1/auth/login", strings.NewReader(fmt.Sprintf(`{"phone":%q,"password":%q}`, phone, demo.DemoPassword)))
		req.Header.Set("Content-Type", "application/json")
	} else {
		req, _ = http.NewRequest("POST", env.URL+"/login", strings.NewReader(url.Values{"phone": {phone}, "password": {demo.DemoPassword}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	st, _, body := c.do(t, req)
	if api {
		var out struct{ Token string }
		json.Unmarshal([]byte(body), &out)
		c.token = out.Token
	}
	if (api && (st != 200 || c.token == "")) || (!api && st != http.StatusSeeOther) {
		t.Fatalf("login %s: %d %.200s", phone, st, body)
	}
	return c
}

// do sends a request and returns the status, the redirect target and the body.
func (c *caller) do(t *testing.T, req *http.Request) (int, string, string) {
	t.Helper()
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// classify reads a response as one of the matrix's letters, or X for anything else (a 500, a 405).
func classify(status int, location string) byte {
	switch {
	case status == http.StatusUnauthorized:
		return 'L'
	case status >= 300 && status < 400 && strings.HasPrefix(location, "/login?next="):
		return 'L'
	case status == http.StatusSeeOther && location == "/admin/bank":
		return 'R'
	case status == http.StatusForbidden:
		return 'F'
	case status == http.StatusNotFound:
		return 'N'
	case status >= 200 && status < 400, status == http.StatusBadRequest, status == http.StatusConflict, status == http.StatusUnprocessableEntity:
		return 'A'
	}
	return 'X'
}

func describe(c byte) string {
	switch c {
	case 'A':
		return "allowed"
	case 'L':
		return "sent to log in"
	case 'F':
		return "forbidden (403)"
	case 'N':
		return "hidden (404)"
	case 'R':
		return "sent to the staff console"
	case 'U':
		return "refused inside the answer"
	}
	return "an unexpected status"
}

// dbPrint fingerprints the database: every row of every table except those a refused request
// may write to (sessions, login attempts, the audit log). Rows are hashed one by one and the
// hashes added, so that the order a table is read in does not matter. On SQLite a connection of
// its own tells, by PRAGMA data_version, whether anything was committed since a snapshot, so
// that most refusals need no second reading.
type dbPrint struct {
	tables []string
	stmts  []*sql.Stmt
	conn   *sql.Conn // SQLite only
}

// snapshot is a fingerprint and, on SQLite, the data version it was taken at.
type snapshot struct {
	sum     string
	version int64
}

func newDBPrint(t *testing.T, d *db.DB) *dbPrint {
	t.Helper()
	ctx := context.Background()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`
	if d.Engine == db.Postgres {
		q = `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`
	}
	rows, err := d.Read().QueryContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	p := &dbPrint{}
	for rows.Next() {
		var n string
		rows.Scan(&n)
		if n != "sessions" && n != "login_attempts" && n != "audit_log" {
			p.tables = append(p.tables, n)
		}
	}
	rows.Close()
	for _, tb := range p.tables {
		st, err := d.Read().PrepareContext(ctx, `SELECT * FROM `+tb)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		p.stmts = append(p.stmts, st)
	}
	if d.Engine == db.SQLite {
		if p.conn, err = d.Read().Conn(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.conn.Close() })
	}
	return p
}

// version is SQLite's data version as seen from the print's own connection.
func (p *dbPrint) version(t *testing.T) int64 {
	t.Helper()
	var v int64
	if err := p.conn.QueryRowContext(context.Background(), `PRAGMA data_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// unchanged reports whether, on SQLite, nothing was committed since s was taken.
func (p *dbPrint) unchanged(t *testing.T, s snapshot) bool {
	return p.conn != nil && s.sum != "" && p.version(t) == s.version
}

// take reads the fingerprint.
func (p *dbPrint) take(t *testing.T) snapshot {
	t.Helper()
	var s snapshot
	if p.conn != nil {
		s.version = p.version(t)
	}
	var b strings.Builder
	for i, st := range p.stmts {
		rows, err := st.QueryContext(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		var n, sum uint64
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			h := fnv.New64a()
			for _, v := range vals {
				fmt.Fprintf(h, "%d:", len(v))
				h.Write(v)
			}
			n++
			sum += h.Sum64()
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		fmt.Fprintf(&b, "%s:%d:%x\n", p.tables[i], n, sum)
	}
	s.sum = b.String()
	return s
}

// newMatrixFixture finds and makes the objects of 前疃村 that the matrix acts on, through the
// API as the people concerned would.
func newMatrixFixture(t *testing.T, env *servertest.Env) *matrixFixture {
	t.Helper()
	f := &matrixFixture{env: env, values: map[string]string{}}
	// The bank's demo data: rule sets, a shop in every village, cards and some history.
	if err := demo.Bank(context.Background(), env.Sys.DB, env.Sys.People, env.Info, 1); err != nil {
		t.Fatal(err)
	}
	set := func(k string, v any) { f.values[k] = fmt.Sprint(v) }
	town, village := env.API(demo.PhoneTownAdmin), env.API(demo.PhoneVillageAdmin)
	resident, party := env.API(demo.PhoneResident), env.API(demo.PhonePartyMember)
	must := func(st int, body string) {
		t.Helper()
		if st < 200 || st > 299 {
			t.Fatalf("fixture: status %d: %s", st, body)
		}
	}
	var vs []people.VillageJSON
	must(town.JSON("GET", "/api/v1/villages", nil, &vs))
	for _, v := range vs {
		switch v.Name {
		case "前疃村":
			set("village", v.ID)
		case "东堡村":
			set("otherVillage", v.ID)
		}
	}
	var me people.ResidentJSON
	must(party.JSON("GET", "/api/v1/me", nil, &me))
	if f.values["village"] != fmt.Sprint(me.VillageID) || f.values["otherVillage"] == "" {
		t.Fatalf("fixture: the party member lives in village %d, not 前疃村 %s", me.VillageID, f.values["village"])
	}
	set("neighbour", me.ID)
	set("household", me.HouseholdID)
	today := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
	set("today", today)
	set("birth", "1980-01-01")

	// Points for an order, and one award to reverse.
	var award struct {
		TransactionID int64 `json:"transaction_id"`
	}
	for i := range 8 {
		must(town.JSON("POST", "/api/v1/bank/awards", map[string]any{"resident_id": me.ID, "rule_code": "volunteer", "reason": "矩阵准备",
			"idempotency_key": fmt.Sprintf("matrix:fixture:%d", i), "confirm_duplicate": true}, &award))
	}
	set("txn", award.TransactionID)
	var items []struct {
		ID    int64  `json:"id"`
		Name  string `json:"name"`
		Price int64  `json:"price"`
	}
	must(party.JSON("GET", "/api/v1/bank/items", nil, &items))
	for _, it := range items {
		if it.Name == "毛巾" {
			set("item", it.ID)
		}
	}
	var order struct {
		ID int64 `json:"id"`
	}
	must(party.JSON("POST", "/api/v1/bank/redemptions", map[string]any{"item_id": atoi(f.values["item"]), "quantity": 1, "idempotency_key": "matrix:order"}, &order))
	set("order", order.ID)

	// A claim with a photo awaiting review, and one on the notice board with an objection.
	var claim struct {
		ID int64 `json:"id"`
	}
	photo := base64.StdEncoding.EncodeToString(pngBytes(t))
	must(party.JSON("POST", "/api/v1/bank/claims", map[string]any{"rule_code": "help", "description": "帮邻居收玉米", "happened_on": today,
		"photos": []string{photo}}, &claim))
	set("claim", claim.ID)
	must(party.JSON("POST", "/api/v1/bank/claims", map[string]any{"rule_code": "help", "description": "帮五保户修屋顶", "happened_on": today, "confirm_duplicate": true}, &claim))
	set("notice", claim.ID)
	must(village.JSON("POST", fmt.Sprintf("/api/v1/bank/claims/%d/review", claim.ID), map[string]any{"approve": true}, nil))
	var objection struct {
		ID int64 `json:"id"`
	}
	must(resident.JSON("POST", fmt.Sprintf("/api/v1/bank/claims/%d/objections", claim.ID), map[string]any{"reason": "那天他在城里"}, &objection))
	set("objection", objection.ID)

	// 微志愿: two posts of a 前疃村 team with a shift tomorrow (one of them to be closed), both
	// residents registered and signed up, a need of the party member's and a certificate.
	tomorrow := time.Now().In(time.FixedZone("CST", 8*3600)).AddDate(0, 0, 1).Format("2006-01-02")
	set("tomorrow", tomorrow)
	var teams []struct {
		ID int64 `json:"id"`
	}
	must(village.JSON("GET", "/api/v1/volunteer/teams?village_id="+f.values["village"], nil, &teams))
	if len(teams) == 0 {
		t.Fatal("fixture: 前疃村 has no volunteer teams")
	}
	set("team", teams[0].ID)
	for _, k := range []string{"post", "closing"} {
		var post struct {
			ID int64 `json:"id"`
		}
		must(village.JSON("POST", "/api/v1/volunteer/posts", map[string]any{"team_id": teams[0].ID, "title": "矩阵岗位 " + k, "place": "村委会", "rule_code": "volunteer",
			"shifts": []map[string]any{{"date": tomorrow, "start": "09:00", "end": "11:00", "capacity": 5}}}, &post))
		set(k, post.ID)
	}
	var detail struct {
		Shifts []struct {
			ID int64 `json:"id"`
		} `json:"shifts"`
	}
	must(village.JSON("GET", "/api/v1/volunteer/posts/"+f.values["post"], nil, &detail))
	if len(detail.Shifts) != 1 {
		t.Fatalf("fixture: post has %d shifts", len(detail.Shifts))
	}
	set("shift", detail.Shifts[0].ID)
	var vol struct {
		ID     int64  `json:"id"`
		Number string `json:"number"`
	}
	must(resident.JSON("POST", "/api/v1/volunteer/me", map[string]any{"consent": true, "teams": []int64{teams[0].ID}}, nil))
	must(party.JSON("POST", "/api/v1/volunteer/me", map[string]any{"consent": true, "teams": []int64{teams[0].ID}}, &vol))
	set("volunteer", vol.ID)
	set("volno", vol.Number)
	must(party.JSON("POST", "/api/v1/volunteer/shifts/"+f.values["shift"]+"/signups", nil, nil))
	var need struct {
		ID int64 `json:"id"`
	}
	must(party.JSON("POST", "/api/v1/volunteer/needs", map[string]any{"category": "repair", "description": "院门坏了", "urgency": "normal"}, &need))
	set("need", need.ID)
	var cert int64
	if err := env.Sys.DB.Write().QueryRowContext(context.Background(), `INSERT INTO volunteer_certificates (volunteer_id, number, minutes, shifts, issued_by, created_at)
		VALUES ($1, $2, 120, 1, '矩阵', $3) RETURNING id`, vol.ID, "ZYZM-MATRIX-1", db.Now()).Scan(&cert); err != nil {
		t.Fatal(err)
	}
	set("certificate", cert)

	// 微党校: two experts of the town's pool (one to be retired), the first with a photo, and an
	// offered course of theirs with a PDF.
	for _, k := range []string{"expert", "retiring"} {
		var e struct {
			ID int64 `json:"id"`
		}
		must(town.JSON("POST", "/api/v1/school/experts", map[string]any{"name": "矩阵专家 " + k, "affiliation": "中共北京市委党校", "phone": "13811112222"}, &e))
		set(k, e.ID)
	}
	var cats []struct {
		ID int64 `json:"id"`
	}
	must(town.JSON("GET", "/api/v1/school/categories", nil, &cats))
	set("category", cats[0].ID)
	var course struct {
		ID int64 `json:"id"`
	}
	must(town.JSON("POST", "/api/v1/school/courses", map[string]any{"title": "矩阵党课", "category_id": cats[0].ID, "minutes": 90, "format": "both",
		"expert_ids": []int64{atoi(f.values["expert"])}}, &course))
	set("course", course.ID)
	must(town.JSON("POST", fmt.Sprintf("/api/v1/school/courses/%d/status", course.ID), map[string]any{"status": "offered"}, nil))
	if _, err := env.Sys.DB.Write().ExecContext(context.Background(), `INSERT INTO school_materials (course_id, file_name, size, data, uploaded_at) VALUES ($1, '矩阵.pdf', 9, $2, $3)`,
		course.ID, []byte("%PDF-1.4\n"), db.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Sys.DB.Write().ExecContext(context.Background(), `INSERT INTO school_expert_photos (expert_id, mime, width, height, data, updated_at) VALUES ($1, 'image/png', 64, 48, $2, $3)`,
		atoi(f.values["expert"]), pngBytes(t), db.Now()); err != nil {
		t.Fatal(err)
	}
	// 前疃村's admin orders the course twice: one order waits for the town, the other became a
	// lesson (written as accepting it would: the fixture's expert has no login to accept with).
	for _, k := range []string{"schoolOrder", "lessonOrder"} {
		var o struct {
			ID int64 `json:"id"`
		}
		must(village.JSON("POST", "/api/v1/school/orders", map[string]any{"course_id": course.ID, "dates": []string{tomorrow}, "mode": "offline", "place": "村委会"}, &o))
		set(k, o.ID)
	}
	var lesson int64
	if _, err := env.Sys.DB.Write().ExecContext(context.Background(), `UPDATE school_orders SET status = 'accepted', expert_id = $1 WHERE id = $2`,
		atoi(f.values["expert"]), atoi(f.values["lessonOrder"])); err != nil {
		t.Fatal(err)
	}
	if err := env.Sys.DB.Write().QueryRowContext(context.Background(), `INSERT INTO school_lessons (order_id, town_id, village_id, course_id, expert_id, starts_at, ends_at, mode, place, status, created_at)
		SELECT id, town_id, village_id, course_id, expert_id, $1, $2, mode, place, 'scheduled', $3 FROM school_orders WHERE id = $4 RETURNING id`,
		db.Now().Add(24*time.Hour), db.Now().Add(26*time.Hour), db.Now(), atoi(f.values["lessonOrder"])).Scan(&lesson); err != nil {
		t.Fatal(err)
	}
	set("lesson", lesson)
	// The town asks 前疃村's branch only what it needs (问需).
	var survey struct {
		ID int64 `json:"id"`
	}
	must(town.JSON("POST", "/api/v1/school/surveys", map[string]any{"title": "矩阵问需", "deadline": tomorrow, "village_ids": []int64{atoi(f.values["village"])}}, &survey))
	set("survey", survey.ID)

	// 微协商's objects, part by part (permissions_consult_*_test.go).
	for _, part := range []func(*testing.T){f.consultTopics, f.consultMeetings, f.consultReferrals, f.consultCare, f.consultOpen311, f.allianceUnits, f.allianceLists, f.allianceActivities, f.allianceDonations, f.allianceDisputes, f.honoursNotices, f.honoursRounds, f.honoursWall, f.honoursActions, f.honoursContests} {
		part(t)
	}

	// The party member's card and login.
	ctx, q := context.Background(), env.Sys.DB.Read()
	var card int64
	var number string
	err := q.QueryRowContext(ctx, `SELECT id, number FROM bank_cards WHERE resident_id = $1`, me.ID).Scan(&card, &number)
	if db.IsNoRows(err) {
		c, ierr := env.Sys.Bank.IssueCard(ctx, auth.System("matrix"), me.ID)
		card, number, err = c.ID, c.Number, ierr
	}
	if err != nil {
		t.Fatal(err)
	}
	set("card", card)
	set("cardno", number)
	var account int64
	if err := q.QueryRowContext(ctx, `SELECT id FROM accounts WHERE phone = $1`, demo.PhonePartyMember).Scan(&account); err != nil {
		t.Fatal(err)
	}
	set("account", account)
	return f
}

// fill replaces the placeholders of s (or of pattern when s is empty) with fixture values, making
// the per-call ones afresh.
func (f *matrixFixture) fill(t *testing.T, s, pattern string) string {
	t.Helper()
	if s == "" {
		s = pattern
	}
	f.seq++
	if strings.Contains(s, "{key}") {
		s = strings.ReplaceAll(s, "{key}", fmt.Sprintf("matrix:%d", f.seq))
	}
	if strings.Contains(s, "{phone}") {
		s = strings.ReplaceAll(s, "{phone}", fmt.Sprintf("1371234%04d", f.seq%10000))
	}
	if strings.Contains(s, "{idnum}") {
		s = strings.ReplaceAll(s, "{idnum}", idNumber("19800101", fmt.Sprintf("%03d", f.seq%1000)))
	}
	if strings.Contains(s, "{grant}") {
		s = strings.ReplaceAll(s, "{grant}", fmt.Sprint(f.newGrant(t)))
	}
	for k, v := range f.values {
		s = strings.ReplaceAll(s, "{"+k+"}", v)
	}
	return s
}

// newGrant gives the party member a reviewer grant in 前疃村 to be revoked by one call.
func (f *matrixFixture) newGrant(t *testing.T) int64 {
	t.Helper()
	ctx, d := context.Background(), f.env.Sys.DB
	var id int64
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM account_roles WHERE account_id = $1 AND role = $2`, atoi(f.values["account"]), string(auth.Reviewer)); err != nil {
			return err
		}
		if err := f.env.Sys.Auth.InsertGrant(ctx, tx, atoi(f.values["account"]), auth.Grant{Role: auth.Reviewer, TownID: f.env.Info.TownID, VillageID: atoi(f.values["village"])}); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT id FROM account_roles WHERE account_id = $1 AND role = $2`, atoi(f.values["account"]), string(auth.Reviewer)).Scan(&id)
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func atoi(s string) int64 {
	var n int64
	fmt.Sscan(s, &n)
	return n
}

// pngBytes is a small photo for a claim.
func pngBytes(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for x := range 64 {
		for y := range 48 {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 5), 90, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
