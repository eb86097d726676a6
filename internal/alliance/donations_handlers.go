package alliance

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/errs"
	"siwei/internal/web"
)

// donationFormRows is how many item rows the donation form offers.
const donationFormRows = 5

// DonationMeasures are the measure words the form offers (a donation may name another).
var DonationMeasures = []string{"件", "本", "箱", "袋", "瓶", "盒", "套", "包", "个", "桶"}

// registerDonations adds the pages and API of donations: the town's register and receipts, each
// donation's allocations and handovers, and a resident's received donations.
func (h *Handlers) registerDonations() {
	a := h.App
	a.Handle(web.Route{Method: "GET", Path: "/admin/alliance/donations", Access: web.Staff, Summary: "the town's donations (a village's: those that reached it; a liaison: their unit's), with the form to record one"}, h.donationsPage)
	a.Handle(web.Route{Method: "POST", Path: "/admin/alliance/donations", Access: web.Staff, Summary: "record a donation: the donor, money and items; goods for the points shop go into its stock"}, h.donationCreate)
	a.Handle(web.Route{Method: "GET", Path: "/admin/alliance/donations/{id}", Access: web.Staff, Summary: "a donation: what is left at each step, its allocations and handovers (a donor's liaison: villages and counts only)"}, h.donationPage)
	a.Handle(web.Route{Method: "GET", Path: "/admin/alliance/donations/{id}/receipt", Access: web.Staff, Summary: "a donation's receipt (捐赠收据), an A4 page to print"}, h.donationReceipt)
	a.Handle(web.Route{Method: "POST", Path: "/admin/alliance/donations/{id}/allocations", Access: web.Staff, Summary: "allocate a share of a donation's item to a village"}, h.donationAllocate)
	a.Handle(web.Route{Method: "POST", Path: "/admin/alliance/donations/{id}/handovers", Access: web.Staff, Summary: "record a handover from a village's share to a resident, with a signature photo or the staff's confirmation"}, h.donationHandover)
	a.Handle(web.Route{Method: "GET", Path: "/alliance/donations", Access: web.LoggedIn, Summary: "what the resident received from donations"}, h.donationsMine)

	a.Handle(web.Route{Method: "GET", Path: "/api/v1/alliance/donations", Access: web.LoggedIn, API: true,
		Summary: "the town's donations as the caller may see them", Response: []Donation{}}, h.apiDonations)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/alliance/donations", Access: web.LoggedIn, API: true, Statuses: []int{http.StatusCreated},
		Summary: "record a donation (the town's alliance staff; 201)", Request: DonationInput{}, Response: DonationDetail{}}, h.apiDonationCreate)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/alliance/donations/{id}", Access: web.LoggedIn, API: true,
		Summary: "a donation with its allocations, and its handovers for staff", Response: DonationDetail{}}, h.apiDonation)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/alliance/donations/{id}/allocations", Access: web.LoggedIn, API: true, Statuses: []int{http.StatusCreated},
		Summary: "allocate a share of an item to a village (409 beyond what is left; 201)", Request: AllocationInput{}, Response: Allocation{}}, h.apiAllocate)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/alliance/donations/{id}/handovers", Access: web.LoggedIn, API: true,
		Statuses: []int{http.StatusCreated, http.StatusOK}, Summary: "record a handover confirmed by the caller (409 beyond the village's share; 201, or 200 with the first handover for a resent idempotency_key)", Request: HandoverInput{}, Response: Handover{}}, h.apiHandover)
}

// donationsView is the register page.
type donationsView struct {
	Donations []Donation
	Manage    bool
	Units     []Unit
	ShopItems []bank.Item
	Villages  []Named
	Measures  []string
	Rows      []int
}

func (h *Handlers) donationsPage(w http.ResponseWriter, r *http.Request) {
	h.renderDonations(w, r, nil, nil)
}

func (h *Handlers) renderDonations(w http.ResponseWriter, r *http.Request, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	list, err := h.S.Donations(ctx, a, a.TownID)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := donationsView{Donations: list, Manage: manages(a, a.TownID), Measures: DonationMeasures}
	if v.Manage {
		for i := range donationFormRows {
			v.Rows = append(v.Rows, i)
		}
		if v.Units, err = h.S.Units(ctx, a, a.TownID, UnitFilter{}); err != nil {
			h.App.Error(w, r, err)
			return
		}
		if v.Villages, err = h.S.townVillages(r.Context(), a.TownID); err != nil {
			h.App.Error(w, r, err)
			return
		}
		items, err := h.S.Bank.Items(ctx, a.TownID, 0)
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		for _, it := range items {
			if it.Kind == "goods" {
				v.ShopItems = append(v.ShopItems, it)
			}
		}
	}
	p := h.App.NewPage(r, "alliance.donation.list_title", v)
	p.Form = f
	if id := p.FlashID(); id != 0 {
		for _, d := range list {
			if d.ID == id {
				p.Flashed("flash.alliance_donation_created", d.DonorName, d.ReceiptNo)
			}
		}
	}
	h.App.RenderPage(w, r, "alliance_donations.html", p, ferr)
}

// donationInput reads the donation form: a unit or a person's name, and up to five item rows
// (a row without a name is skipped).
func donationInput(f url.Values) DonationInput {
	in := DonationInput{UnitID: web.FormID(f.Get("unit_id")), DonorName: f.Get("donor_name"), DonatedOn: f.Get("donated_on"), Note: f.Get("note")}
	if m := f.Get("money_yuan"); m != "" {
		n, err := strconv.ParseInt(m, 10, 64)
		if err != nil {
			n = -1
		}
		in.MoneyYuan = n
	}
	for i := range donationFormRows {
		p := fmt.Sprintf("items.%d.", i)
		if f.Get(p+"name") == "" && f.Get(p+"quantity") == "" {
			continue
		}
		q, err := strconv.Atoi(f.Get(p + "quantity"))
		if err != nil {
			q = -1
		}
		in.Items = append(in.Items, DonationItemInput{Name: f.Get(p + "name"), Measure: f.Get(p + "measure"), Quantity: q,
			ShopItemID: web.FormID(f.Get(p + "shop_item_id")), ShopVillageID: web.FormID(f.Get(p + "shop_village_id"))})
	}
	return in
}

func (h *Handlers) donationCreate(w http.ResponseWriter, r *http.Request) {
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	d, err := h.S.CreateDonation(r.Context(), auth.From(r.Context()), donationInput(f))
	if err != nil {
		if e, ok := errs.As(err); ok && len(e.Fields) > 0 {
			h.renderDonations(w, r, f, err)
			return
		}
		h.App.Error(w, r, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/alliance/donations/%d", d.ID), "flash.alliance_donation_created", d.ID))
}

// donationView is a donation's page: where it stands, the forms of the next step, and the
// residents found for a handover.
type donationView struct {
	DonationDetail
	Villages []Named
	Q        string
	Found    []ResidentChoice
	Today    string
	// Open are the shares the reader may hand out from, with something left.
	Open []Allocation
	// Key is the idempotency key of this rendering's handover forms: sent twice, recorded once.
	Key string
}

func (h *Handlers) donationPage(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	h.renderDonation(w, r, id, nil, nil)
}

func (h *Handlers) renderDonation(w http.ResponseWriter, r *http.Request, id int64, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	d, err := h.S.Donation(ctx, a, id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := donationView{DonationDetail: d, Q: r.URL.Query().Get("q"), Key: newKey()}
	if f != nil && f.Get("idempotency_key") != "" {
		// A refused form keeps its key (its part before the resident's): nothing was recorded under it.
		v.Key, _, _ = strings.Cut(f.Get("idempotency_key"), "-")
	}
	if f != nil && f.Get("q") != "" {
		v.Q = f.Get("q")
	}
	if d.Manage {
		if v.Villages, err = h.S.townVillages(r.Context(), d.TownID); err != nil {
			h.App.Error(w, r, err)
			return
		}
	}
	for _, x := range d.Allocations {
		if x.Left > 0 && slices.Contains(d.HandVillages, x.VillageID) {
			v.Open = append(v.Open, x)
		}
	}
	if v.Q != "" {
		if v.Found, err = h.S.FindHandoverResidents(ctx, a, id, v.Q); err != nil {
			h.App.Error(w, r, err)
			return
		}
	}
	if v.Today, err = h.S.townToday(ctx, d.TownID); err != nil {
		h.App.Error(w, r, err)
		return
	}
	p := h.App.NewPage(r, "alliance.donation.title", v)
	p.Title = p.T("alliance.donation.title_of", d.DonorName, d.ReceiptNo)
	p.Form = f
	p.Flashed("flash.alliance_donation_created", d.DonorName, d.ReceiptNo)
	for _, x := range d.Allocations {
		if x.ID == p.FlashID() {
			p.Flashed("flash.alliance_donation_allocated", x.ItemName, x.Quantity, x.Measure, x.VillageName)
		}
	}
	for _, x := range d.Handovers {
		if x.ID == p.FlashID() {
			p.Flashed("flash.alliance_donation_handed", x.ResidentName, x.ItemName, x.Quantity, x.Measure)
		}
	}
	h.App.RenderPage(w, r, "alliance_donation.html", p, ferr)
}

func (h *Handlers) donationReceipt(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	d, err := h.S.Donation(ctx, a, id)
	if err == nil && !d.Manage {
		err = notFound // the town issues the receipt; others read the donation's page
	}
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	town, err := h.S.People.Town(ctx, d.TownID)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	p := h.App.NewPage(r, "alliance.donation.receipt_title", struct {
		DonationDetail
		Town string
	}{d, town.Name})
	h.App.Render(w, r, http.StatusOK, "alliance_donation_receipt.html", p)
}

func (h *Handlers) donationAllocate(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	q, err := strconv.Atoi(f.Get("quantity"))
	if err != nil {
		q = -1
	}
	al, err := h.S.Allocate(r.Context(), auth.From(r.Context()), id, AllocationInput{ItemID: web.FormID(f.Get("item_id")), VillageID: web.FormID(f.Get("village_id")), Quantity: q})
	if err != nil {
		h.donationRefused(w, r, id, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/alliance/donations/%d", id), "flash.alliance_donation_allocated", al.ID))
}

// donationRefused shows a refused form on the donation's page, or the refusal alone when the
// donation is not the caller's to see.
func (h *Handlers) donationRefused(w http.ResponseWriter, r *http.Request, id int64, f url.Values, err error) {
	if e, ok := errs.As(err); ok && len(e.Fields) > 0 && e.Code != errs.NotFound {
		h.renderDonation(w, r, id, f, err)
		return
	}
	if e, ok := errs.As(err); ok && e.Code == errs.NotFound && len(e.Fields) > 0 {
		if _, derr := h.S.Donation(r.Context(), auth.From(r.Context()), id); derr == nil {
			h.renderDonation(w, r, id, f, err)
			return
		}
	}
	h.App.Error(w, r, err)
}

func (h *Handlers) donationHandover(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, photos, err := web.ReadPhotoForm(w, r, maxHandoverPhotos, bank.MaxPhotoBytes)
	var ho Handover
	if err == nil {
		q, cerr := strconv.Atoi(f.Get("quantity"))
		if cerr != nil {
			q = -1
		}
		ho, _, err = h.S.Handover(r.Context(), auth.From(r.Context()), id, HandoverInput{IdempotencyKey: f.Get("idempotency_key"), AllocationID: web.FormID(f.Get("allocation_id")), ResidentID: web.FormID(f.Get("resident_id")),
			Quantity: q, HandedOn: f.Get("handed_on"), Confirmed: f.Get("confirmed") == "1", Photos: photos})
	}
	if err != nil {
		h.donationRefused(w, r, id, f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/admin/alliance/donations/%d", id), "flash.alliance_donation_handed", ho.ID))
}

func (h *Handlers) donationsMine(w http.ResponseWriter, r *http.Request) {
	list, err := h.S.MyReceived(r.Context(), auth.From(r.Context()))
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.Render(w, r, http.StatusOK, "alliance_donations_mine.html", h.App.NewPage(r, "alliance.donation.mine_title", list))
}

// ---- API

func (h *Handlers) apiDonations(w http.ResponseWriter, r *http.Request) {
	list, err := h.S.Donations(r.Context(), auth.From(r.Context()), web.FormID(r.URL.Query().Get("town_id")))
	h.App.Reply(w, r, http.StatusOK, list, err)
}

func (h *Handlers) apiDonationCreate(w http.ResponseWriter, r *http.Request) {
	var in DonationInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	d, err := h.S.CreateDonation(r.Context(), auth.From(r.Context()), in)
	h.App.Reply(w, r, http.StatusCreated, d, err)
}

func (h *Handlers) apiDonation(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	d, err := h.S.Donation(r.Context(), auth.From(r.Context()), id)
	h.App.Reply(w, r, http.StatusOK, d, err)
}

func (h *Handlers) apiAllocate(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	var in AllocationInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	out, err := h.S.Allocate(r.Context(), auth.From(r.Context()), id, in)
	h.App.Reply(w, r, http.StatusCreated, out, err)
}

func (h *Handlers) apiHandover(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	var in HandoverInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	out, replayed, err := h.S.Handover(r.Context(), auth.From(r.Context()), id, in)
	status := http.StatusCreated
	if replayed {
		status = http.StatusOK
	}
	h.App.Reply(w, r, status, out, err)
}

// newKey is a fresh idempotency key for a form.
func newKey() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
