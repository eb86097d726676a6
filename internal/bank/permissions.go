package bank

import "siwei/internal/auth"

// The bank's actions, each checked in the scope of the record it touches.
const (
	PermRules   auth.Action = "bank.rules"   // adopt rule versions
	PermAward   auth.Action = "bank.award"   // award points directly or in bulk
	PermReview  auth.Action = "bank.review"  // approve or reject claims, decide objections
	PermShop    auth.Action = "bank.shop"    // manage items and stock
	PermFulfil  auth.Action = "bank.fulfil"  // fulfil and cancel orders at the counter
	PermReverse auth.Action = "bank.reverse" // reverse a transaction
	PermLedger  auth.Action = "bank.ledger"  // read accounts, statements, figures
)

// Permissions are the bank's rows in the permission table: who may take each action within their
// scope (a district admin may take any, anywhere).
var Permissions = auth.Allow(map[auth.Action][]auth.Role{
	PermRules:   {auth.TownAdmin, auth.VillageAdmin},
	PermAward:   {auth.TownAdmin, auth.VillageAdmin},
	PermReview:  {auth.TownAdmin, auth.VillageAdmin, auth.Reviewer},
	PermShop:    {auth.TownAdmin, auth.VillageAdmin, auth.Shopkeeper},
	PermFulfil:  {auth.TownAdmin, auth.VillageAdmin, auth.Shopkeeper},
	PermReverse: {auth.TownAdmin},
	PermLedger:  {auth.TownAdmin, auth.VillageAdmin, auth.Reviewer, auth.Shopkeeper},
})
