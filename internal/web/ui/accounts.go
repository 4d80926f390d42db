package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
)

type loginData struct {
	Next, Email string
	Expired     bool
	// SSOLabel and SSOLink are the single sign-on button; "": none.
	SSOLabel, SSOLink string
}

func (s *Server) uiLoginPage(w http.ResponseWriter, r *http.Request, _ *auth.Session) error {
	// Already signed in: straight on.
	if c, err := r.Cookie(sessionCookie); err == nil {
		if _, err := s.Sessions.Lookup(r.Context(), c.Value); err == nil {
			http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
			return nil
		}
	}
	return s.renderLogin(w, r, http.StatusOK, loginData{Next: r.URL.Query().Get("next"), Expired: r.URL.Query().Get("expired") != ""}, "")
}

// renderLogin shows the sign-in form with a fresh double-submit token: the
// form is posted before there is a session to hold a synchronizer token,
// and a forged sign-in (into the attacker's account) must fail too.
func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, status int, d loginData, msg string) error {
	if s.SSO != nil {
		d.SSOLabel, d.SSOLink = s.SSO.Label, ssoLink(d.Next)
	}
	token := newUIToken()
	http.SetCookie(w, &http.Cookie{Name: loginCSRFCookie, Value: token, Path: "/login", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.secure(r), MaxAge: 3600})
	p := s.newPage(r, nil, "Sign in", "")
	p.CSRF, p.Error, p.Data = token, msg, d
	return s.render(w, status, "login", p)
}

func (s *Server) uiLogin(w http.ResponseWriter, r *http.Request, _ *auth.Session) error {
	email := strings.TrimSpace(r.PostFormValue("email"))
	d := loginData{Next: r.PostFormValue("next"), Email: email}
	if !s.ui.limiter.Allow(s.clientIP(r), strings.ToLower(email)) {
		return s.renderLogin(w, r, http.StatusTooManyRequests, d, "Too many sign-in attempts. Wait a minute and try again.")
	}
	acc, err := s.Accounts.Authenticate(r.Context(), email, r.PostFormValue("password"))
	if errs.CodeOf(err) == errs.Unauthorized {
		return s.renderLogin(w, r, http.StatusUnauthorized, d, "Wrong email or password.")
	}
	if err != nil {
		return err
	}
	return s.signIn(w, r, acc, d.Next, "password")
}

// signIn starts a session for acc, sets its cookie and sends the browser
// on to next: the one way in, after a password or a single sign-on.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request, acc *auth.Account, next, method string) error {
	cookie, sess, err := s.Sessions.Start(r.Context(), acc)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: cookie, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.secure(r), Expires: sess.ExpiresAt})
	http.SetCookie(w, &http.Cookie{Name: loginCSRFCookie, Value: "", Path: "/login", MaxAge: -1})
	s.Logger.Info("signed in", "account", acc.Email, "method", method, "ip", s.clientIP(r))
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
	return nil
}

func (s *Server) uiLogout(w http.ResponseWriter, r *http.Request, _ *auth.Session) error {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := s.Sessions.End(r.Context(), c.Value); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secure(r)})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

type accountsData struct {
	Accounts []auth.Account
	Disabled []auth.Account
	Self     int64 // the signed-in admin, who cannot disable themselves
	Roles    []auth.Role
	// Shown once: the password of an account just created or reset.
	NewPassword, NewPasswordFor string
	Form                        struct{ Email, Name, Role string }
}

func (s *Server) accountsPage(w http.ResponseWriter, r *http.Request, sess *auth.Session, status int, fill func(*accountsData, *page)) error {
	list, err := s.Accounts.List(r.Context())
	if err != nil {
		return err
	}
	disabled, err := s.Accounts.Disabled(r.Context())
	if err != nil {
		return err
	}
	d := &accountsData{Accounts: list, Disabled: disabled, Self: sess.Account.ID, Roles: []auth.Role{auth.Admin, auth.Lead, auth.Viewer}}
	d.Form.Role = string(auth.Lead)
	p := s.newPage(r, sess, "Accounts", "accounts")
	if fill != nil {
		fill(d, p)
	}
	p.Data = d
	return s.render(w, status, "accounts", p)
}

func (s *Server) uiAccounts(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	return s.accountsPage(w, r, sess, http.StatusOK, nil)
}

func (s *Server) uiCreateAccount(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	email, name, role := r.PostFormValue("email"), r.PostFormValue("name"), r.PostFormValue("role")
	pw := r.PostFormValue("password")
	generated := pw == ""
	if generated {
		var err error
		if pw, err = auth.NewPassword(); err != nil {
			return err
		}
	}
	acc, err := s.Accounts.Create(r.Context(), email, name, auth.Role(role), pw)
	if err != nil {
		if errs.CodeOf(err) == errs.Internal {
			return err
		}
		return s.accountsPage(w, r, sess, statusOf[errs.CodeOf(err)], func(d *accountsData, p *page) {
			d.Form.Email, d.Form.Name, d.Form.Role = email, name, role
			p.Error, p.Field = errMessage(err), errField(err)
		})
	}
	s.Logger.Info("account created", "account", acc.Email, "role", acc.Role, "by", sess.Account.Email)
	return s.accountsPage(w, r, sess, http.StatusOK, func(d *accountsData, p *page) {
		p.Notice = "Account " + acc.Email + " created."
		if generated {
			d.NewPassword, d.NewPasswordFor = pw, acc.Email
		}
	})
}

// uiSetDisabled disables an account (its sessions end at once) or enables it.
func (s *Server) uiSetDisabled(disabled bool) uiHandler {
	return func(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
		id, err := pathID(r, "account")
		if err != nil {
			return err
		}
		acc, err := s.Accounts.SetDisabled(r.Context(), sess.Account.ID, id, disabled)
		if err != nil {
			if c := errs.CodeOf(err); c == errs.Internal || c == errs.NotFound {
				return err
			}
			return s.accountsPage(w, r, sess, statusOf[errs.CodeOf(err)], func(d *accountsData, p *page) { p.Error = errMessage(err) })
		}
		verb := map[bool]string{true: "disabled", false: "enabled"}[disabled]
		s.Logger.Info("account "+verb, "account", acc.Email, "by", sess.Account.Email)
		return s.accountsPage(w, r, sess, http.StatusOK, func(d *accountsData, p *page) {
			p.Notice = "Account " + acc.Email + " " + verb + "."
			if disabled {
				p.Notice += " Its sessions have ended; it cannot sign in, by password or single sign-on."
			}
		})
	}
}

func pathID(r *http.Request, what string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errs.E(errs.NotFound, "no %s %q", what, r.PathValue("id"))
	}
	return id, nil
}

func (s *Server) uiSetRole(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	id, err := pathID(r, "account")
	if err != nil {
		return err
	}
	acc, err := s.Accounts.SetRole(r.Context(), id, auth.Role(r.PostFormValue("role")))
	if err != nil {
		if errs.CodeOf(err) == errs.Internal {
			return err
		}
		return s.accountsPage(w, r, sess, statusOf[errs.CodeOf(err)], func(d *accountsData, p *page) { p.Error = errMessage(err) })
	}
	s.Logger.Info("account role changed", "account", acc.Email, "role", acc.Role, "by", sess.Account.Email)
	return s.accountsPage(w, r, sess, http.StatusOK, func(d *accountsData, p *page) {
		p.Notice = acc.Email + " is now " + string(acc.Role) + "."
	})
}

func (s *Server) uiResetPassword(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	id, err := pathID(r, "account")
	if err != nil {
		return err
	}
	acc, err := s.Accounts.Get(r.Context(), id)
	if err != nil {
		return err
	}
	pw, err := auth.NewPassword()
	if err != nil {
		return err
	}
	if err := s.Accounts.SetPassword(r.Context(), id, pw); err != nil {
		return err
	}
	s.Logger.Info("account password reset", "account", acc.Email, "by", sess.Account.Email)
	if acc.ID == sess.Account.ID {
		// Resetting one's own password ends one's own session too.
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil
	}
	return s.accountsPage(w, r, sess, http.StatusOK, func(d *accountsData, p *page) {
		p.Notice = "Password of " + acc.Email + " reset; their sessions are signed out."
		d.NewPassword, d.NewPasswordFor = pw, acc.Email
	})
}

type tokensData struct {
	Tokens   []auth.Token
	Roles    []auth.Role
	NewToken string
	NewName  string
}

func (s *Server) tokensPage(w http.ResponseWriter, r *http.Request, sess *auth.Session, status int, fill func(*tokensData, *page)) error {
	list, err := s.Tokens.List(r.Context())
	if err != nil {
		return err
	}
	d := &tokensData{Tokens: list, Roles: []auth.Role{auth.Admin, auth.Lead, auth.Viewer}}
	p := s.newPage(r, sess, "API tokens", "tokens")
	if fill != nil {
		fill(d, p)
	}
	p.Data = d
	return s.render(w, status, "tokens", p)
}

func (s *Server) uiTokens(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	return s.tokensPage(w, r, sess, http.StatusOK, nil)
}

func (s *Server) uiCreateToken(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	role, err := auth.ParseRole(r.PostFormValue("role"))
	var plain string
	var tok *auth.Token
	if err == nil {
		plain, tok, err = s.Tokens.Create(r.Context(), r.PostFormValue("name"), role)
	}
	if err != nil {
		if errs.CodeOf(err) == errs.Internal {
			return err
		}
		return s.tokensPage(w, r, sess, statusOf[errs.CodeOf(err)], func(d *tokensData, p *page) { p.Error, p.Field = errMessage(err), errField(err) })
	}
	s.Logger.Info("API token created", "token", tok.Name, "role", tok.Role, "by", sess.Account.Email)
	return s.tokensPage(w, r, sess, http.StatusCreated, func(d *tokensData, p *page) {
		d.NewToken, d.NewName = plain, tok.Name
	})
}

func (s *Server) uiRevokeToken(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	id, err := pathID(r, "token")
	if err != nil {
		return err
	}
	if err := s.Tokens.Revoke(r.Context(), id); err != nil {
		return err
	}
	s.Logger.Info("API token revoked", "id", id, "by", sess.Account.Email)
	return s.tokensPage(w, r, sess, http.StatusOK, func(d *tokensData, p *page) { p.Notice = "Token revoked." })
}

func errMessage(err error) string {
	var e *errs.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

func errField(err error) string {
	var e *errs.Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}
