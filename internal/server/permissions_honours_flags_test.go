package server_test

// honoursFlagsMatrix holds the public side's rows for the 流动红旗, the 文明大户 lists and the media
// kit. The town's residents and every staff member of the town read the boards; only the town's
// admin awards, sets the formula, puts a list on notice and marks stories: a village's admin is
// refused (403). The awards and lists name 2000-01, a finished month in which nobody scored, so
// that the town's admin is answered 409 (or the confirmation page) and nothing is stored; no story
// is marked in the fixture, so taking one out is 404 to every staff member.
var honoursFlagsMatrix = []perm{
	{"GET /honours/flags", "", "", "LAAAA"},
	{"GET /admin/honours/flags", "", "", "LFFFA"},
	{"POST /admin/honours/flags", "", "month=2000-01", "LFFFA"},
	{"POST /admin/honours/flags/weights", "", "points=1&hours=0&lessons=0", "LFFFA"},
	{"GET /api/v1/flags", "", "", "LAAAA"},
	{"POST /api/v1/flags", "", `{"month":"2000-01","reason":"矩阵"}`, "LFFFA"},
	{"GET /honours/households", "", "", "LAAAA"},
	{"GET /admin/honours/households", "", "", "LFFFA"},
	{"POST /admin/honours/households", "", "month=2000-01&size=10", "LFFFA"},
	{"GET /api/v1/honours/households", "", "", "LAAAA"},
	{"POST /api/v1/honours/households", "", `{"month":"2000-01","size":10}`, "LFFFA"},
	{"GET /admin/honours/media", "", "", "LFFFA"},
	{"POST /admin/honours/media", "", "kind=wall&ref_id=0", "LFFFA"},
	{"POST /admin/honours/media/{id}/remove", "/admin/honours/media/999999/remove", "", "LFNNN"},
	{"GET /admin/honours/media/kit", "", "", "LFFFA"},
}
