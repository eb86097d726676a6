package web

import (
	"net/http"
	"strconv"
	"time"

	"siwei/internal/auth"
)

// LoginRequest is the body of POST /api/v1/auth/login.
type LoginRequest struct {
	Phone    string `json:"phone"`
	Password string `json:"password"`
}

// LoginResponse carries a bearer token.
type LoginResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// TrustProxy makes rate limits use X-Forwarded-For (set when behind a load balancer).
var TrustProxy bool

// RegisterSession adds login, logout and password change, for pages and the API.
func (a *App) RegisterSession() {
	a.Handle(Route{Method: "GET", Path: "/login", Access: Public, Summary: "login page"}, a.loginPage)
	a.Handle(Route{Method: "POST", Path: "/login", Access: Public, Summary: "log in"}, a.loginPost)
	a.Handle(Route{Method: "POST", Path: "/logout", Access: LoggedIn, Summary: "log out"}, a.logout)
	a.Handle(Route{Method: "GET", Path: "/password", Access: LoggedIn, Summary: "change password page"}, a.passwordPage)
	a.Handle(Route{Method: "POST", Path: "/password", Access: LoggedIn, Summary: "change password"}, a.passwordPost)
	a.Handle(Route{Method: "POST", Path: "/api/v1/auth/login", Access: Public, Summary: "log in and get a bearer token",
		Request: LoginRequest{}, Response: LoginResponse{}}, a.apiLogin)
	a.Handle(Route{Method: "POST", Path: "/api/v1/auth/logout", Statuses: []int{http.StatusNoContent}, Access: LoggedIn, Summary: "end this token's session"}, func(w http.ResponseWriter, r *http.Request) {
		if err := a.Auth.Logout(r.Context(), auth.From(r.Context())); err != nil {
			a.Error(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func (a *App) loginPage(w http.ResponseWriter, r *http.Request) {
	p := a.NewPage(r, "login.title", nil)
	p.Form = r.URL.Query()
	a.Render(w, r, http.StatusOK, "login.html", p)
}

func (a *App) loginPost(w http.ResponseWriter, r *http.Request) {
	if _, ok := a.Form(w, r); !ok {
		return
	}
	sess, err := a.Auth.LoginWith(r.Context(), a.loginInput(r, r.PostForm.Get("phone"), r.PostForm.Get("password"), "web"))
	if err != nil {
		retryAfter(w, err)
		p := a.NewPage(r, "login.title", nil)
		p.Form = r.PostForm
		p.Form.Del("password")
		status, err := a.FormErrors(p, err)
		if err != nil {
			a.Error(w, r, err)
			return
		}
		a.Render(w, r, status, "login.html", p)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: sess.Token, Path: "/", Expires: sess.ExpiresAt,
		HttpOnly: true, Secure: a.HTTPS(r), SameSite: http.SameSiteLaxMode})
	a.setDevice(w, r, sess)
	next := r.PostForm.Get("next")
	if next == "" {
		// The session was made a moment ago; if it cannot be read back, the home page sends staff on.
		actor, err := a.Auth.Authenticate(r.Context(), sess.Token)
		if err != nil {
			a.Log.Warn("login: read back the new session", "err", err)
		}
		next = "/"
		if actor.IsStaff() {
			next = "/admin"
		}
	}
	http.Redirect(w, r, LocalPath(next), http.StatusSeeOther)
}

func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	if err := a.Auth.Logout(r.Context(), auth.From(r.Context())); err != nil {
		a.Error(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: a.HTTPS(r), SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (a *App) passwordPage(w http.ResponseWriter, r *http.Request) {
	a.Render(w, r, http.StatusOK, "password.html", a.NewPage(r, "password.title", nil))
}

func (a *App) passwordPost(w http.ResponseWriter, r *http.Request) {
	if _, ok := a.Form(w, r); !ok {
		return
	}
	err := a.Auth.ChangePassword(r.Context(), auth.From(r.Context()), r.PostForm.Get("old_password"), r.PostForm.Get("new_password"))
	if err != nil {
		retryAfter(w, err)
		p := a.NewPage(r, "password.title", nil)
		status, err := a.FormErrors(p, err)
		if err != nil {
			a.Error(w, r, err)
			return
		}
		a.Render(w, r, status, "password.html", p)
		return
	}
	Redirect(w, r, "/?flash=flash.password_changed")
}

func (a *App) apiLogin(w http.ResponseWriter, r *http.Request) {
	var in LoginRequest
	if err := Decode(r, &in); err != nil {
		a.Error(w, r, err)
		return
	}
	sess, err := a.Auth.LoginWith(r.Context(), a.loginInput(r, in.Phone, in.Password, "api"))
	if err != nil {
		retryAfter(w, err)
		a.Error(w, r, err)
		return
	}
	JSON(w, http.StatusOK, LoginResponse{Token: sess.Token, ExpiresAt: sess.ExpiresAt})
}

// loginInput is a login attempt from r, with the browser's device cookie if it sent one.
func (a *App) loginInput(r *http.Request, phone, password, kind string) auth.LoginInput {
	in := auth.LoginInput{Phone: phone, Password: password, Addr: ClientAddr(r, TrustProxy), Kind: kind}
	if c, err := r.Cookie(auth.DeviceCookie); err == nil {
		in.Device = c.Value
	}
	return in
}

// setDevice gives the browser that logged in its device cookie, so that its next logins to the
// phone count against its own allowance. Only /login reads it; logging out keeps it.
func (a *App) setDevice(w http.ResponseWriter, r *http.Request, sess auth.Session) {
	if sess.Device == "" {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: auth.DeviceCookie, Value: sess.Device, Path: "/login", Expires: sess.DeviceExpires,
		HttpOnly: true, Secure: a.HTTPS(r), SameSite: http.SameSiteLaxMode})
}

// retryAfter tells a client refused for too many attempts, or a busy server, when to come back.
func retryAfter(w http.ResponseWriter, err error) {
	if d, ok := auth.RetryAfter(err); ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(max(1, (d+time.Second-1)/time.Second))))
	}
}
