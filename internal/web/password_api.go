package web

import (
	"net/http"

	"siwei/internal/auth"
)

// PasswordChangeRequest is the body of POST /api/v1/auth/password.
type PasswordChangeRequest struct {
	OldPassword string `json:"old_password"`
	NewPassword string `json:"new_password"`
}

// registerPasswordAPI adds the API twin of the password form: an API client whose password is
// one-time is refused everything else until it has called this.
func (a *App) registerPasswordAPI() {
	a.Handle(Route{Method: "POST", Path: "/api/v1/auth/password", Access: LoggedIn, Summary: "change the password (ends the account's other sessions)",
		Request: PasswordChangeRequest{}, Statuses: []int{http.StatusNoContent}}, a.apiPassword)
}

func (a *App) apiPassword(w http.ResponseWriter, r *http.Request) {
	var in PasswordChangeRequest
	if err := Decode(r, &in); err != nil {
		a.Error(w, r, err)
		return
	}
	if err := a.Auth.ChangePassword(r.Context(), auth.From(r.Context()), in.OldPassword, in.NewPassword); err != nil {
		a.Error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
