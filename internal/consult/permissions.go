package consult

import "siwei/internal/auth"

// 微协商's actions, each checked in the scope of the town or village a record belongs to.
const (
	PermManage  auth.Action = "consult.manage"  // a town's departments, care team, care intervals and Open311 clients
	PermHost    auth.Action = "consult.host"    // topics and meetings of a village (village staff) or of the town (town staff): accept, decline, merge, hold, close, refer
	PermPropose auth.Action = "consult.propose" // propose and support topics, register for meetings, rate referrals and visits: a resident of the scope
	PermRespond auth.Action = "consult.respond" // a department's login: its own referrals only
	PermCare    auth.Action = "consult.care"    // a care-team member: the households assigned to them and their visits
)

// Permissions are 微协商's rows in the permission table. The town's admins manage the directory
// and the care team and host the town's meetings; a village's admins host their village's topics
// and meetings; residents propose and support; a department's login answers its referrals; a
// care-team member visits. A district admin, as everywhere, may do all of it.
var Permissions = auth.Allow(map[auth.Action][]auth.Role{
	PermManage:  {auth.TownAdmin},
	PermHost:    {auth.TownAdmin, auth.VillageAdmin},
	PermPropose: {auth.ResidentRole},
	PermRespond: {auth.DeptResponder},
	PermCare:    {auth.CareTeam, auth.TownAdmin},
})
