package school

import (
	"fmt"
	"net/http"
	"net/url"

	"siwei/internal/auth"
	"siwei/internal/errs"
	"siwei/internal/people"
	"siwei/internal/web"
)

// registerOrders adds the pages and API of lesson orders and lessons.
func (h *Handlers) registerOrders() {
	a := h.App
	a.Handle(web.Route{Method: "GET", Path: "/school/orders", Access: web.LoggedIn, Summary: "a branch's lesson orders (点单), phone-first"}, h.branchOrders)
	a.Handle(web.Route{Method: "GET", Path: "/school/courses/{id}/order", Access: web.LoggedIn, Summary: "the form to order a course for a branch"}, h.orderForm)
	a.Handle(web.Route{Method: "POST", Path: "/school/orders", Access: web.LoggedIn, Summary: "order a course for a branch"}, h.placeOrder)
	a.Handle(web.Route{Method: "GET", Path: "/school/orders/{id}", Access: web.LoggedIn, Summary: "an order with its timeline and what the person may do with it"}, h.orderPage)
	a.Handle(web.Route{Method: "POST", Path: "/school/orders/{id}/actions", Access: web.LoggedIn, Summary: "assign, accept, decline or cancel an order (cancel asks first)"}, h.orderAct)
	a.Handle(web.Route{Method: "GET", Path: "/admin/school/orders", Access: web.Staff, Summary: "the town's lesson orders by status, overdue first; an expert's orders assigned to them"}, h.adminOrders)
	a.Handle(web.Route{Method: "GET", Path: "/admin/school/me/lessons", Access: web.Staff, Summary: "an expert's lessons (我的课程)"}, h.myLessons)

	a.Handle(web.Route{Method: "GET", Path: "/api/v1/school/orders", Access: web.LoggedIn,
		Summary: "the lesson orders the caller is a party to (status): the town's for its staff, a branch's for its village staff, an expert's own", Response: []Order{}}, h.apiOrders)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/school/orders", Statuses: []int{http.StatusCreated}, Access: web.LoggedIn,
		Summary: "order an offered course for a branch (village staff; 201)", Request: OrderInput{}, Response: Order{}}, h.apiPlaceOrder)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/school/orders/{id}", Access: web.LoggedIn,
		Summary: "an order with its timeline, due time and the caller's actions", Response: Order{}}, h.apiOrder)
	a.Handle(web.Route{Method: "POST", Path: "/api/v1/school/orders/{id}/actions", Access: web.LoggedIn,
		Summary: "assign (expert_id, date, start), accept (link for online), decline (reason), cancel (reason) or rate (rating 1–5, reason as the comment, applied: up to 3 lines of 学后转化; once the lesson has ended, closing its roll) an order", Request: OrderAction{}, Response: Order{}}, h.apiOrderAct)
	a.Handle(web.Route{Method: "GET", Path: "/api/v1/school/lessons/{id}", Access: web.LoggedIn,
		Summary: "a lesson an accepted order became, with its attendance: the roll for the staff who run it, their own entry and rating for those on it", Response: LessonView{}}, h.apiLesson)
}

// ordersView is a list of orders: a branch's, the town's by status, or an expert's.
type ordersView struct {
	Orders   []Order
	Status   string
	Statuses []string
	Expert   bool // the expert's 我的派单
	Branch   bool // a branch's phone page
}

func (h *Handlers) branchOrders(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	if !h.S.MayOrder(a, 0) && (h.S.MayManage(a, 0) == nil || a.Has(auth.Expert)) {
		http.Redirect(w, r, "/admin/school/orders", http.StatusSeeOther) // the town and the experts have theirs in the console
		return
	}
	list, err := h.S.Orders(r.Context(), a, OrderFilter{})
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "admin_school_orders.html", "school.orders.branch_title", ordersView{Orders: list, Branch: true}, nil, nil)
}

func (h *Handlers) adminOrders(w http.ResponseWriter, r *http.Request) {
	a := auth.From(r.Context())
	v := ordersView{Status: r.URL.Query().Get("status"), Statuses: OrderStatuses, Expert: h.S.MayManage(a, 0) != nil}
	if v.Expert && h.S.MayOrder(a, 0) {
		http.Redirect(w, r, "/school/orders", http.StatusSeeOther) // a branch's orders are on its phone pages
		return
	}
	if v.Expert && !a.Has(auth.Expert) {
		h.App.Error(w, r, h.S.MayManage(a, 0))
		return
	}
	if v.Expert {
		v.Statuses = OrderStatuses[1:] // an order reaches an expert once it is assigned
	}
	var err error
	if v.Orders, err = h.S.Orders(r.Context(), a, OrderFilter{Status: v.Status}); err != nil {
		h.App.Error(w, r, err)
		return
	}
	title := "school.orders.title"
	if v.Expert {
		title = "school.orders.mine_title"
	}
	p := h.App.NewPage(r, title, v)
	if id := p.FlashID(); id != 0 {
		if o, err := h.S.DeclinedBy(r.Context(), a, id); err == nil {
			p.Flashed("flash.school_order_declined", o.CourseTitle, o.VillageName)
		}
	}
	h.App.RenderPage(w, r, "admin_school_orders.html", p, nil)
}

// orderFormView is the order form of a course: its formats, and the branch's party members.
type orderFormView struct {
	Course    Course
	Members   int
	Village   string
	Villages  []people.Village // to choose from, for staff of several villages
	VillageID int64
	Modes     []string
	Dates     []string // the rows of preferred days
}

func (h *Handlers) orderForm(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	h.renderOrderForm(w, r, id, url.Values{}, nil)
}

func (h *Handlers) renderOrderForm(w http.ResponseWriter, r *http.Request, courseID int64, f url.Values, ferr error) {
	d, err := h.S.OrderDesk(r.Context(), auth.From(r.Context()), courseID, web.FormID(f.Get("village_id")))
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	c := d.Course
	v := orderFormView{Course: c, Modes: Modes, Village: d.Village.Name, Members: d.Members, Villages: d.Villages, VillageID: web.FormID(f.Get("village_id"))}
	v.Dates = append(f["dates"], "", "", "")[:maxDates]
	if f.Get("mode") == "" {
		f.Set("mode", map[Format]string{Online: "online"}[c.Format])
		if f.Get("mode") == "" {
			f.Set("mode", "offline")
		}
	}
	p := h.App.NewPage(r, "school.order.title", v)
	p.Form = f
	h.App.RenderPage(w, r, "school_order_form.html", p, ferr)
}

// orderInput reads the order form.
func orderInput(f url.Values) OrderInput {
	return OrderInput{CourseID: web.FormID(f.Get("course_id")), VillageID: web.FormID(f.Get("village_id")), Dates: f["dates"],
		Mode: f.Get("mode"), Place: f.Get("place"), Others: web.FormInt(f.Get("others")), Note: f.Get("note")}
}

func (h *Handlers) placeOrder(w http.ResponseWriter, r *http.Request) {
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	o, err := h.S.PlaceOrder(r.Context(), auth.From(r.Context()), orderInput(f))
	if err != nil {
		h.renderOrderForm(w, r, web.FormID(f.Get("course_id")), f, err)
		return
	}
	web.Redirect(w, r, web.FlashURL(fmt.Sprintf("/school/orders/%d", o.ID), "flash.school_order_placed", 0))
}

// orderView is an order's page: what the person may do (Can), and for the town the experts it
// may assign, by name.
type orderView struct {
	Order    Order
	Can      map[string]bool
	Experts  []Expert
	ExpertID int64 // chosen in the form
	Lesson   *Lesson
	Applied  []string // the 评单 form's three lines of 学后转化
}

func (h *Handlers) orderPage(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	h.renderOrder(w, r, id, nil, nil)
}

func (h *Handlers) renderOrder(w http.ResponseWriter, r *http.Request, id int64, f url.Values, ferr error) {
	ctx, a := r.Context(), auth.From(r.Context())
	o, p, err := h.S.orderFor(ctx, a, id)
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	v := orderView{Order: o, Can: OrderFlow.Can(o.Status, p)}
	if v.Can["assign"] {
		if v.Experts, err = h.S.AssignChoices(ctx, a, o); err != nil {
			h.App.Error(w, r, err)
			return
		}
	}
	if o.LessonID != 0 {
		l, err := h.S.Lesson(ctx, a, o.LessonID)
		if err != nil {
			h.App.Error(w, r, err)
			return
		}
		v.Lesson = &l
	}
	if f == nil {
		f = url.Values{"start": {"09:00"}}
		if len(o.Dates) > 0 {
			f.Set("date", o.Dates[0])
		}
		if o.Status == OrderAssigned && !o.StartsAt.IsZero() {
			// 改派 starts from the present assignment.
			if loc, err := h.S.People.Zone(ctx, o.TownID); err == nil {
				f = url.Values{"date": {o.StartsAt.In(loc).Format("2006-01-02")}, "start": {o.StartsAt.In(loc).Format("15:04")}, "expert_id": {fmt.Sprint(o.ExpertID)}}
			}
		}
	}
	v.ExpertID = web.FormID(f.Get("expert_id"))
	v.Applied = append(append([]string{}, f["applied"]...), "", "", "")[:maxApplied]
	page := h.App.NewPage(r, "school.order.page_title", v)
	page.Form = f
	page.Flashed("flash.school_order_placed", o.CourseTitle, o.VillageName)
	page.Flashed("flash.school_order_assigned", o.CourseTitle, o.ExpertName)
	page.Flashed("flash.school_order_accepted", o.CourseTitle, o.VillageName)
	page.Flashed("flash.school_order_declined", o.CourseTitle, o.VillageName)
	page.Flashed("flash.school_order_cancelled", o.CourseTitle, o.VillageName, o.Reason)
	if v.Lesson != nil {
		page.Flashed("flash.school_order_rated", o.CourseTitle, v.Lesson.BranchRating)
	}
	h.App.RenderPage(w, r, "school_order.html", page, ferr)
}

// orderFlash names each action as done, for the flash on the order's page after it.
var orderFlash = map[string]string{"assign": "flash.school_order_assigned", "accept": "flash.school_order_accepted",
	"decline": "flash.school_order_declined", "cancel": "flash.school_order_cancelled", "rate": "flash.school_order_rated"}

func (h *Handlers) orderAct(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	ctx, a := r.Context(), auth.From(r.Context())
	in := OrderAction{Action: f.Get("action"), Reassign: f.Get("reassign") == "1", ExpertID: web.FormID(f.Get("expert_id")), Date: f.Get("date"), Start: f.Get("start"),
		Link: f.Get("link"), Reason: f.Get("reason"), Rating: web.FormInt(f.Get("rating")), Applied: f["applied"]}
	back := fmt.Sprintf("/school/orders/%d", id)
	if in.Action == "cancel" {
		// The question names the order; it is asked only of those who may cancel it.
		o, err := h.S.MayAct(ctx, a, id, in.Action)
		if errs.Is(err, errs.NotFound) {
			h.App.Error(w, r, err)
			return
		}
		if err != nil {
			h.renderOrder(w, r, id, nil, err)
			return
		}
		reason, ok := h.App.Confirmed(w, r, f, web.Question{Title: "school.confirm_cancel", What: "school.confirm_cancel_what", Args: []any{o.CourseTitle, o.VillageName}, Back: back})
		if !ok {
			return
		}
		in.Reason = reason
	}
	if _, err := h.S.Act(ctx, a, id, in); err != nil {
		h.renderOrder(w, r, id, f, err)
		return
	}
	if in.Action == "decline" {
		// The order is back with the town: the expert lands on their orders.
		web.Redirect(w, r, web.FlashURL("/admin/school/orders", orderFlash[in.Action], id))
		return
	}
	web.Redirect(w, r, web.FlashURL(back, orderFlash[in.Action], 0))
}

func (h *Handlers) myLessons(w http.ResponseWriter, r *http.Request) {
	list, err := h.S.MyLessons(r.Context(), auth.From(r.Context()))
	if err != nil {
		h.App.Error(w, r, err)
		return
	}
	h.App.RenderForm(w, r, "admin_school_lessons.html", "school.lessons.mine_title", list, nil, nil)
}

// ---- API

func (h *Handlers) apiOrders(w http.ResponseWriter, r *http.Request) {
	list, err := h.S.Orders(r.Context(), auth.From(r.Context()), OrderFilter{Status: r.URL.Query().Get("status")})
	h.App.Reply(w, r, http.StatusOK, list, err)
}

func (h *Handlers) apiPlaceOrder(w http.ResponseWriter, r *http.Request) {
	var in OrderInput
	if !h.App.DecodeJSON(w, r, &in) {
		return
	}
	o, err := h.S.PlaceOrder(r.Context(), auth.From(r.Context()), in)
	h.App.Reply(w, r, http.StatusCreated, o, err)
}

func (h *Handlers) apiOrder(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	o, err := h.S.Order(r.Context(), auth.From(r.Context()), id)
	h.App.Reply(w, r, http.StatusOK, o, err)
}

func (h *Handlers) apiOrderAct(w http.ResponseWriter, r *http.Request) {
	var in OrderAction
	id, ok := h.App.PathID(w, r)
	if !ok || !h.App.DecodeJSON(w, r, &in) {
		return
	}
	o, err := h.S.Act(r.Context(), auth.From(r.Context()), id, in)
	h.App.Reply(w, r, http.StatusOK, o, err)
}

func (h *Handlers) apiLesson(w http.ResponseWriter, r *http.Request) {
	id, ok := h.App.PathID(w, r)
	if !ok {
		return
	}
	l, err := h.S.LessonView(r.Context(), auth.From(r.Context()), id)
	h.App.Reply(w, r, http.StatusOK, l, err)
}
