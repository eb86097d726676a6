package alliance

import "siwei/internal/auth"

// 微联盟's actions, each checked in the scope of the town or village a record belongs to.
const (
	PermManage  auth.Action = "alliance.manage"  // a town's member units, the three lists and matching, activities, donations and their allocation
	PermVillage auth.Action = "alliance.village" // a village's side: post needs, agree to and rate projects, check people in, hand donations out
	PermUnit    auth.Action = "alliance.unit"    // a member unit's login: its own unit's resources, projects, activities and donations only
	PermJoin    auth.Action = "alliance.join"    // a resident: register for activities, check in, see what they received
	PermPay     auth.Action = "alliance.pay"     // pay residents' activity points through the bank
	PermDispute auth.Action = "dispute.handle"   // the dispute centre's staff: consultations and cases, which nobody else sees
)

// Permissions are 微联盟's rows in the permission table. The town's admins and its alliance staff
// manage the units and the lists; a village's admins take the village's side; a unit's liaison
// its unit's; residents take part; the dispute centre's staff alone handle its cases. A district
// admin, as everywhere, may do all of it except read cases, which the centre keeps to its staff
// (disputes.go asks for the role itself).
var Permissions = auth.Allow(map[auth.Action][]auth.Role{
	PermManage:  {auth.TownAdmin, auth.AllianceAdmin},
	PermVillage: {auth.TownAdmin, auth.AllianceAdmin, auth.VillageAdmin},
	PermUnit:    {auth.UnitLiaison},
	PermJoin:    {auth.ResidentRole},
	PermPay:     {auth.TownAdmin, auth.AllianceAdmin, auth.VillageAdmin},
	PermDispute: {auth.DisputeStaff},
})

// The permission that pays 微联盟's events (keys alliance:…), which the bank asks for.
var _ = auth.AllowPay("alliance", PermPay)
