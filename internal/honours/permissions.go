package honours

import "siwei/internal/auth"

// The public side's actions, each checked in the scope of the town or village a record belongs to.
const (
	PermManage  auth.Action = "honours.manage"  // the town's bank (镇级总行): rounds, anomaly review and voiding votes, actions, contests and their judges, flags and 文明大户 lists, notices and objections, the media kit
	PermVillage auth.Action = "honours.village" // a village's staff: nominate, cast a villager's vote at the office, count contributions, enter households in contests
	PermJoin    auth.Action = "honours.join"    // a resident: nominate, consent, vote, take part, enter a contest, object to a list on notice
	PermJudge   auth.Action = "honours.judge"   // a contest's judge (评审官): score the entries assigned to them, and nothing else
	PermPay     auth.Action = "honours.pay"     // pay the points being chosen, taking part and winning earn, through the bank
)

// Permissions are the public side's rows in the permission table. The town's admins run it; a
// village's admins take the village's side; residents take part; a judge scores only the contests
// they are named to judge (contests.go checks the panel). A district admin, as everywhere, may do
// all of it.
var Permissions = auth.Allow(map[auth.Action][]auth.Role{
	PermManage:  {auth.TownAdmin},
	PermVillage: {auth.TownAdmin, auth.VillageAdmin},
	PermJoin:    {auth.ResidentRole},
	PermJudge:   {auth.Judge},
	PermPay:     {auth.TownAdmin, auth.VillageAdmin},
})

// The permission that pays the public side's events (keys honours:…), which the bank asks for.
var _ = auth.AllowPay("honours", PermPay)
