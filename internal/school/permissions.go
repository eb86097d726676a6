package school

import "siwei/internal/auth"

// 微党校's actions, each checked in the scope of the town whose school it touches.
const (
	PermManage auth.Action = "school.manage" // experts, categories and courses of a town
	PermMenu   auth.Action = "school.menu"   // read a town's offered menu and its experts
	PermTeach  auth.Action = "school.teach"  // an expert's own record, the orders assigned to them and their lessons
	PermOrder  auth.Action = "school.order"  // order lessons for a village's party branch (点单), and cancel them
)

// Permissions are 微党校's rows in the permission table. The town's party-building staff
// (school_admin) and its admins manage; residents and village admins (the branches) read the
// menu; an expert's login is the expert. A village's admins are its branch: they order lessons. A district admin, as everywhere, may do all of it.
var Permissions = auth.Allow(map[auth.Action][]auth.Role{
	PermManage: {auth.TownAdmin, auth.SchoolAdmin},
	PermMenu:   {auth.TownAdmin, auth.SchoolAdmin, auth.VillageAdmin, auth.ResidentRole},
	PermTeach:  {auth.Expert},
	PermOrder:  {auth.VillageAdmin},
	PermRoll:   {auth.TownAdmin, auth.SchoolAdmin, auth.VillageAdmin},
})

// PermRoll runs a lesson's roll: calls it (点名), types back the sign-in sheet, invites others and
// ends the check-in, which pays the party members who attended through the bank (auth.AllowPay):
// the branch's village admins for their village, the town's school staff for the town.
const PermRoll auth.Action = "school.roll"

var _ = auth.AllowPay("school", PermRoll)
