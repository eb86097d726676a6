package server_test

// allianceFiguresMatrix holds 微联盟's rows for its figures: the town's alliance staff (here its
// admin) read the town's, a unit's liaison their unit's share (alliance's figures_http_test.go);
// a village's admins and residents are refused (403), since the figures are the town's.
var allianceFiguresMatrix = []perm{
	{"GET /admin/alliance/figures", "", "", "LFFFA"},
	{"GET /api/v1/alliance/figures", "", "", "LFFFA"},
}
