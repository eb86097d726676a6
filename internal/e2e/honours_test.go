package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/demo"
	"siwei/internal/honours"
	"siwei/internal/notify"
	"siwei/internal/people"
	"siwei/internal/web"
)

// TestHonoursJourney is the honour roll's path from a neighbour's word to the public wall, as
// issue 17's journey has it, in five browsers: the resident, on a 360 px phone, nominates the
// party member of 前疃村 with a story (refused by name without one); the party member consents on
// their phone; 前疃村's admin admits the nomination; the town opens a round of 前疃村 with it; the
// resident votes on the phone and sees the vote counted; the round's time runs out and the town
// closes it (asked first), which puts the chosen on the 公示栏; the resident reads the list there;
// the notice runs out and the town publishes it (asked first); and anyone, without logging in,
// finds the party member on 前疃村's 名录墙 with the story.
func TestHonoursJourney(t *testing.T) {
	s := startServer(t, serverOpts{Demo: true})
	party := whoami(t, login(t, s, demo.PhonePartyMember))
	resident := whoami(t, login(t, s, demo.PhoneResident))
	townAPI := login(t, s, demo.PhoneTownAdmin)
	story := "每天清晨帮独居的王奶奶挑水、买菜，十年没有间断过。"

	// 推荐: the resident finds the neighbour by name, picks the category and tells the story.
	res := honoursBrowser(t, s, true)
	res.login(demo.PhoneResident, demo.DemoPassword, resident.Name)
	res.visit("/honours/nominate?q="+party.Name, res.T("honours.nomination.story"))
	nf := `form[action="/honours/nominate"][method=post]`
	res.pick(nf+` select[name=resident_id]`, party.Name)
	res.pick(nf+` select[name=category_id]`, res.T("honours.category.helping"))
	res.click(nf + ` button.primary`)
	res.see(res.T("field.required"))
	res.pick(nf+` select[name=resident_id]`, party.Name)
	res.pick(nf+` select[name=category_id]`, res.T("honours.category.helping"))
	res.fill(nf+` textarea[name=story]`, story)
	res.click(nf + ` button.primary`)
	res.see(res.T("flash.honours_nominated", party.Name))
	res.narrow()
	res.shot("honours-nominated")
	var noms []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	townAPI.must(t, 200, "GET", "/api/v1/honours/nominations", nil, &noms)
	var nomination int64
	for _, n := range noms {
		if n.Name == party.Name {
			nomination = n.ID
		}
	}
	if nomination == 0 {
		t.Fatalf("the town does not see the nomination of %s: %+v", party.Name, noms)
	}

	// 同意: the party member consents on their phone.
	pm := honoursBrowser(t, s, true)
	pm.login(demo.PhonePartyMember, demo.DemoPassword, party.Name)
	pm.visit(fmt.Sprintf("/honours/nominations/%d", nomination), story)
	pm.click(fmt.Sprintf(`form[action="/honours/nominations/%d/consent"]:has(input[name=consent][value="1"]) button`, nomination))
	pm.see(pm.T("flash.honours_consented", party.Name))

	// 纳入评议: 前疃村's admin admits it.
	adm := honoursBrowser(t, s, false)
	adm.login(demo.PhoneVillageAdmin, demo.DemoPassword, adm.T("dashboard.title"))
	adm.visit("/admin/honours/nominations", party.Name)
	adm.click(fmt.Sprintf(`form[action="/admin/honours/nominations/%d/admit"] button`, nomination))
	adm.see(adm.T("flash.honours_admitted", party.Name))

	// The town opens a round of 前疃村 with the nominee, voting from today.
	var round struct {
		ID    int64  `json:"id"`
		Title string `json:"title"`
	}
	title := "前疃村身边好人评议（旅程）"
	townAPI.must(t, 201, "POST", "/api/v1/honours/rounds", map[string]any{"village_id": party.VillageID, "title": title, "year": time.Now().Year(),
		"opens_on": townDay(0), "closes_on": townDay(7), "nomination_ids": []int64{nomination}, "seats": 1, "votes_per_voter": 1, "rule": "votes"}, &round)
	townAPI.must(t, 200, "POST", fmt.Sprintf("/api/v1/honours/rounds/%d/open", round.ID), nil, nil)

	// 投票 on the phone.
	res.visit(fmt.Sprintf("/honours/rounds/%d", round.ID), title, party.Name, story)
	res.click(fmt.Sprintf(`form[action="/honours/rounds/%d/votes"] button`, round.ID))
	res.see(res.T("flash.honours_voted", 0), res.T("honours.vote.mine"))
	res.narrow()
	res.shot("honours-voted")

	// The round's time runs out; the town closes it, asked first, and the chosen go on notice.
	s = moveHonours(t, s, `UPDATE honours_rounds SET closes_at = $1 WHERE id = $2`, round.ID)
	town := honoursBrowser(t, s, false)
	town.login(demo.PhoneTownAdmin, demo.DemoPassword, town.T("dashboard.title"))
	town.visit(fmt.Sprintf("/admin/honours/rounds/%d", round.ID), title, town.T("honours.admin.no_officials"))
	town.click(fmt.Sprintf(`form[action="/admin/honours/rounds/%d/close"] button`, round.ID))
	town.click(`form input[name=confirmed] ~ p button.primary`)
	town.see(town.T("flash.honours_round_closed", title))
	town.shot("honours-round-closed")
	var n struct {
		ID int64 `json:"id"`
	}
	var notices []struct {
		ID    int64  `json:"id"`
		Kind  string `json:"kind"`
		RefID int64  `json:"ref_id"`
	}
	townAPI.on(s).must(t, 200, "GET", "/api/v1/honours/notices", nil, &notices)
	for _, x := range notices {
		if x.Kind == honours.NoticeRound && x.RefID == round.ID {
			n.ID = x.ID
		}
	}
	if n.ID == 0 {
		t.Fatalf("closing the round put nothing on notice: %+v", notices)
	}

	// 公示: the resident reads the list on the board on the phone.
	res2 := honoursBrowser(t, s, true)
	res2.login(demo.PhoneResident, demo.DemoPassword, resident.Name)
	res2.visit("/honours/notices", title)
	res2.visit(fmt.Sprintf("/honours/notices/%d", n.ID), title, res2.T("honours.notices.object"))
	res2.narrow()
	res2.shot("honours-notice")

	// The notice runs out with no objection; the town publishes the list, asked first.
	s = moveHonours(t, s, `UPDATE honours_notices SET notice_until = $1 WHERE id = $2`, n.ID)
	town = honoursBrowser(t, s, false)
	town.login(demo.PhoneTownAdmin, demo.DemoPassword, town.T("dashboard.title"))
	town.visit(fmt.Sprintf("/admin/honours/notices/%d", n.ID), title, town.T("honours.notices.due"))
	town.click(fmt.Sprintf(`form[action="/admin/honours/notices/%d/publish"] button`, n.ID))
	town.see(town.T("honours.notices.confirm_publish"))
	town.click(`form input[name=confirmed] ~ p button.primary`)
	town.see(town.T("flash.honours_notice_published", title, 1))
	town.shot("honours-published")

	// 名录墙: anyone, without logging in, finds the party member on 前疃村's wall with the story.
	res3 := honoursBrowser(t, s, true)
	res3.login(demo.PhoneResident, demo.DemoPassword, resident.Name)
	res3.visit("/honours/wall", party.Name)
	wall, err := eval[string](res3.browser, `location.pathname`)
	if err != nil {
		t.Fatal(err)
	}
	anon := honoursBrowser(t, s, true)
	anon.visit(fmt.Sprintf("%s?village_id=%d&year=%d", wall, party.VillageID, time.Now().Year()), party.Name, story, party.Village)
	anon.narrow()
	anon.shot("honours-wall")
}

// honoursTab is a browser that knows the public side's messages.
type honoursTab struct{ *consultTab }

func honoursBrowser(t *testing.T, s *server, phone bool) *honoursTab {
	t.Helper()
	b := newBrowser(t, s, phone)
	cat, err := web.LoadCatalog(people.Messages, bank.Messages, notify.Messages, honours.Messages)
	if err != nil {
		t.Fatal(err)
	}
	b.cat = cat
	if phone {
		b.do("narrow the phone", chromedp.EmulateViewport(consultPhoneW, phoneH, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait, chromedp.EmulateScale(2)))
	}
	return &honoursTab{&consultTab{b}}
}

// moveHonours stops the server, sets a moment of one record (query's $1, a minute ago) to let the
// journey past a period that would otherwise take days (a round's voting, a notice's three days),
// and starts the server again on the same data.
func moveHonours(t *testing.T, s *server, query string, id int64) *server {
	t.Helper()
	s.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := db.Open(ctx, s.opts.DB, s.opts.Data)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Write().ExecContext(ctx, query, time.Now().Add(-time.Minute).UTC(), id); err != nil {
		t.Fatalf("%s (%d): %v", query, id, err)
	}
	return s.restart()
}
