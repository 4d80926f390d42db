package ui

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/subscription"
)

// Following from the status page: a signed-in person follows every
// incident, a system, or one incident, sees what they follow and stops
// following, all for themselves alone (internal/subscription: never a
// distribution group). Without Subscriptions the page offers none of it.

// Subscriptions is what the status page needs of internal/subscription;
// *subscription.Service is one.
type Subscriptions interface {
	Subscribe(ctx context.Context, actor string, req subscription.Request) (sub *subscription.Subscription, pending bool, err error)
	Unsubscribe(ctx context.Context, actor, email string, id int64) error
	List(ctx context.Context, email string) ([]subscription.Subscription, error)
}

var _ Subscriptions = (*subscription.Service)(nil)

// followView is the follow card of a status page.
type followView struct {
	// SignIn: the reader is not signed in; the card only says how to follow.
	SignIn string
	Email  string
	CSRF   string
	Next   string // the page to come back to
	Notice string
	Mine   []followed
	// Offers are what this page offers to follow, the ones already
	// followed left out.
	Offers []followOffer
	// Systems are every system, for the page's system menu (status page
	// only), the ones already followed left out.
	Systems []string
}

// followed is one of the reader's subscriptions, with what it follows in words.
type followed struct {
	subscription.Subscription
	Label string
}

// followOffer is one "Follow ..." button.
type followOffer struct {
	Kind, Target, Label string
}

// describeSubscription says what a subscription follows, in words.
func describeSubscription(sub subscription.Subscription) string {
	switch sub.Kind {
	case subscription.All:
		return "All incidents"
	case subscription.System:
		return "Incidents affecting " + sub.Target
	case subscription.Incident:
		return sub.Target
	}
	return sub.Kind + " " + sub.Target
}

// followView is the follow card for ref's page (systems: its affected
// systems), or the status page's (ref ""); nil when following is not wired.
func (s *Server) followView(ctx context.Context, r *http.Request, rd statusReader, ref string, systems []string) (*followView, error) {
	if s.Subscriptions == nil {
		return nil, nil
	}
	if rd.sess == nil {
		return &followView{SignIn: "/login?next=" + url.QueryEscape(r.URL.Path)}, nil
	}
	email := rd.sess.Account.Email
	mine, err := s.Subscriptions.List(ctx, email)
	if err != nil {
		return nil, err
	}
	v := &followView{Email: email, CSRF: rd.sess.CSRF, Next: r.URL.Path, Notice: statusNotice(r, email)}
	for _, m := range mine {
		v.Mine = append(v.Mine, followed{Subscription: m, Label: describeSubscription(m)})
	}
	has := func(kind, target string) bool {
		for _, m := range mine {
			if m.Kind == kind && strings.EqualFold(m.Target, target) {
				return true
			}
		}
		return false
	}
	if ref != "" && !has(subscription.Incident, ref) {
		v.Offers = append(v.Offers, followOffer{subscription.Incident, ref, "Follow " + ref})
	}
	for _, sys := range systems {
		if !has(subscription.System, sys) {
			v.Offers = append(v.Offers, followOffer{subscription.System, sys, "Follow all incidents of " + sys})
		}
	}
	if !has(subscription.All, "") {
		v.Offers = append(v.Offers, followOffer{subscription.All, "", "Follow all incidents"})
	}
	if ref == "" && s.Directory != nil {
		for _, sys := range s.Directory.Current().Systems() {
			if !has(subscription.System, sys) {
				v.Systems = append(v.Systems, sys)
			}
		}
		sort.Strings(v.Systems)
	}
	return v, nil
}

// statusBack is where a follow form returns: a status page, with done.
func statusBack(next, done string) string {
	if next != "/status" && !strings.HasPrefix(next, "/status/") || strings.Contains(next, "..") || strings.ContainsAny(next, "?#\\") {
		next = "/status"
	}
	return next + "?done=" + done + "#follow"
}

// uiStatusFollow (POST /status/follow) subscribes the signed-in person.
func (s *Server) uiStatusFollow(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if s.Subscriptions == nil {
		return errs.E(errs.NotFound, "following is not available here")
	}
	kind := strings.TrimSpace(r.PostFormValue("kind"))
	target := strings.TrimSpace(r.PostFormValue("target"))
	if kind == subscription.All {
		target = ""
	}
	if kind == subscription.System && target == "" {
		return errs.InvalidField("target", "choose a system to follow")
	}
	_, pending, err := s.Subscriptions.Subscribe(r.Context(), sess.Account.Email, subscription.Request{
		Email: sess.Account.Email, Kind: kind, Target: target, Source: "page", Verified: true})
	if err != nil {
		return err
	}
	done := "followed"
	if pending {
		done = "pending"
	}
	http.Redirect(w, r, statusBack(r.PostFormValue("next"), done), http.StatusSeeOther)
	return nil
}

// uiStatusUnfollow (POST /status/follow/{id}/remove) ends one of the
// signed-in person's own subscriptions; the service refuses another's.
func (s *Server) uiStatusUnfollow(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if s.Subscriptions == nil {
		return errs.E(errs.NotFound, "following is not available here")
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return errs.E(errs.NotFound, "no subscription %q", r.PathValue("id"))
	}
	if err := s.Subscriptions.Unsubscribe(r.Context(), sess.Account.Email, sess.Account.Email, id); err != nil {
		return err
	}
	http.Redirect(w, r, statusBack(r.PostFormValue("next"), "unfollowed"), http.StatusSeeOther)
	return nil
}
