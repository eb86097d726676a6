package server_test

// honoursHomeMatrix holds the public side's rows for the landing pages and the photos. A
// resident opens the resident's door and not the staff's (403). No photo of the public side
// exists in the fixture: the photo route, public for the wall's photos, answers 404 to everyone.
var honoursHomeMatrix = []perm{
	{"GET /honours", "", "", "LAAAA"},
	{"GET /admin/honours", "", "", "LFAAA"},
	{"GET /honours/photos/{id}", "/honours/photos/999999", "", "NNNNN"},
}
