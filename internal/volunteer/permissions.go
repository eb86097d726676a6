package volunteer

import "siwei/internal/auth"

// 微志愿's actions, each checked in the scope of the team, post or resident it touches.
const (
	PermLead auth.Action = "volunteer.lead" // posts, shifts, attendance, completion, needs, figures
	PermPay  auth.Action = "volunteer.pay"  // pay volunteers the points their shifts earned
)

// Permissions are 微志愿's rows in the permission table. Team leaders lead a village's teams.
var Permissions = auth.Allow(map[auth.Action][]auth.Role{
	PermLead: {auth.TownAdmin, auth.VillageAdmin, auth.TeamLeader},
	PermPay:  {auth.TownAdmin, auth.VillageAdmin, auth.TeamLeader},
})

// volunteer.pay is the permission the bank asks for before it pays a volunteer:* event.
var _ = auth.AllowPay("volunteer", PermPay)
