package server_test

// reportMatrix holds the dashboard's rows, on 前疃村's figures: its own admin and the town's see
// them, 东堡村's admin does not (404, as if missing), a resident is refused. The monthly report is
// the town's, which no village's admin sees.
var reportMatrix = []perm{
	{"GET /admin/report", "/admin/report?scope=village&id={village}", "", "LFNAA"},
	{"GET /admin/report/monthly", "", "", "LFNNA"},
	{"GET /admin/report/monthly.xlsx", "", "", "LFNNA"},
	{"GET /api/v1/report/figures", "/api/v1/report/figures?scope=village&id={village}", "", "LFNAA"},
}
