package people

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"

	"siwei/internal/auth"
	"siwei/internal/web"
)

// SetLargeText switches 大字模式 (适老化: large text, higher contrast, fewer items per screen) on or
// off for the resident the actor acts as: themself, or the resident a staff member serves in
// office mode. It is kept on the resident, so it follows them to any phone.
func (s *Service) SetLargeText(ctx context.Context, a *auth.Actor, on bool) error {
	self := a.Self()
	if err := auth.Can(a, auth.SelfWrite, auth.Scope{ResidentID: self}); err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE residents SET large_text = $1 WHERE id = $2`, on, self); err != nil {
			return fmt.Errorf("people: large text: %w", err)
		}
		return nil
	})
}

// registerDisplay adds the resident's display settings.
func (h *Handlers) registerDisplay() {
	h.App.Handle(web.Route{Method: "POST", Path: "/settings/large-text", Access: web.LoggedIn, Summary: "switch 大字模式 on or off"}, h.largeText)
}

func (h *Handlers) largeText(w http.ResponseWriter, r *http.Request) {
	f, ok := h.App.Form(w, r)
	if !ok {
		return
	}
	on := f.Get("on") == "1"
	if err := h.S.SetLargeText(r.Context(), auth.From(r.Context()), on); err != nil {
		h.App.Error(w, r, err)
		return
	}
	flash := "flash.large_text_off"
	if on {
		flash = "flash.large_text_on"
	}
	web.Redirect(w, r, "/?flash="+flash)
}
