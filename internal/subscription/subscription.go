// Package subscription lets people follow incidents themselves: everything,
// one system, or one incident. A subscriber receives the same status emails
// as the status groups, in the stakeholders' thread, and leaves with one
// click that touches only their own subscription, never a distribution
// group (one member of a list must not be able to silence the list).
//
// Who may subscribe: a person in the directory, or (when configured) any
// address in the allowed domains after double opt-in: a confirmation link
// mailed to the address, valid once and for a limited time. Nothing that
// arrives unauthenticated subscribes anyone.
//
// The package owns the subscriptions and subscription_confirmations tables.
package subscription

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// Kinds of subscription: what a subscriber follows.
const (
	All      = "all"      // every incident
	System   = "system"   // incidents that affect one system (Target: "checkout")
	Incident = "incident" // one incident (Target: "INC-42")
	// Public is a customer following the public status page: its updates'
	// public wording alone, in a message of its own (compose.KindPublicStatus).
	// Never an internal follower: the followers query does not name it.
	Public = "public"
	// Component is a customer following one public component of the
	// public status page (Target: its name, "Online shop"): the public
	// wording of the incidents that affect its systems.
	Component = "component"
)

// Subscription is one person following one thing.
type Subscription struct {
	ID     int64  `json:"id"`
	Email  string `json:"email"`
	Kind   string `json:"kind"`             // All, System or Incident
	Target string `json:"target,omitempty"` // the system or the incident's ref; "" for All
	// Confirmed is false while a double opt-in waits for its link to be
	// followed; an unconfirmed subscription receives nothing.
	Confirmed bool `json:"confirmed"`
	// Source says how it was made: "page", "api", "cli", "reply".
	Source    string    `json:"source"`
	CreatedAt time.Time `json:"created_at"`
}

// Request asks for a subscription.
type Request struct {
	Email  string `json:"email"`
	Kind   string `json:"kind"`
	Target string `json:"target,omitempty"`
	// Source: see Subscription.Source.
	Source string `json:"-"`
	// Verified says the caller has proven Email is theirs (a signed-in
	// person subscribing themselves, an authenticated reply from the
	// address). An unverified request for an address outside the
	// directory starts a double opt-in, whoever asks: not even an admin
	// can say that another address wants these emails.
	Verified bool `json:"-"`
}

// Directory is what subscriptions need of the directory: who is in it,
// and the systems (the escalation list's keys).
type Directory interface {
	Current() *directory.Directory
}

// Incidents finds an incident by its ref, to refuse a subscription to
// one that does not exist.
type Incidents interface {
	Get(ctx context.Context, ref string) (*incident.Incident, error)
}

// Mailer queues the confirmation email.
type Mailer interface {
	Queue(ctx context.Context, tx *sql.Tx, req compose.Outgoing) (*compose.Message, error)
}

// Service is the subscriptions use case. The methods below are the
// contract the web pages, the API, the CLI and the reply handler build on.
type Service struct {
	DB        *store.DB
	Directory Directory
	Incidents Incidents
	Mail      Mailer
	Logger    *slog.Logger
	Now       func() time.Time

	// PublicURL is where the confirmation and unsubscribe links point
	// ("https://sitrep.example.com"); the links are <PublicURL>/subscriptions/confirm/<token>
	// and <PublicURL>/unsubscribe/<token>.
	PublicURL string
	// AllowedDomains are the domains (lower case, "partner.example")
	// whose addresses may subscribe after double opt-in, beside the
	// directory's people. None: only the directory's people.
	AllowedDomains []string
	// ConfirmFor is how long a confirmation link works (default 48 h).
	ConfirmFor time.Duration
	// ConfirmationsPerDay caps the confirmation emails to one address in
	// 24 hours (default 3), so that the form cannot mail-bomb anyone.
	ConfirmationsPerDay int
	// SweepBatch is how many rows one statement of Sweep deletes
	// (default DefaultSweepBatch).
	SweepBatch int

	// PublicOpen lets anyone subscribe to the public status page's updates
	// (status_page.public.subscriptions), always by double opt-in.
	PublicOpen bool
	// PublicSiteURL is the public status page's address
	// (status_page.public.url): customers' confirmation and unsubscribe
	// links point there, since they cannot reach the web UI.
	PublicSiteURL string
	// PublicComponents are the public page's components
	// (status_page.public.components), which customers may follow one by one.
	PublicComponents []incident.PublicComponent
}

// unsubscribeFor is how long a follower's unsubscribe link works: long
// enough for anyone who reads an old update.
const unsubscribeFor = 180 * 24 * time.Hour

// maxEmail is RFC 5321 4.5.3.1.3's limit on a path, which an address
// cannot exceed.
const maxEmail = 254

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// normalize checks req and returns it in canonical form (lower-case
// address, the incident's own ref), or an errs.Invalid naming the field.
func (s *Service) normalize(ctx context.Context, req Request) (Request, error) {
	email, err := checkEmail(req.Email)
	if err != nil {
		return req, err
	}
	req.Email = email
	req.Kind = strings.ToLower(strings.TrimSpace(req.Kind))
	req.Target = strings.TrimSpace(req.Target)
	switch req.Kind {
	case All:
		if req.Target != "" {
			return req, errs.InvalidField("target", "a subscription to all incidents names no target")
		}
	case System:
		target := strings.ToLower(req.Target)
		systems := s.Directory.Current().Systems()
		if !slices.Contains(systems, target) {
			if req.Target == "" {
				return req, errs.InvalidField("target", "name the system; the systems are %s", strings.Join(systems, ", "))
			}
			return req, errs.InvalidField("target", "unknown system %q; the systems are %s", req.Target, strings.Join(systems, ", "))
		}
		req.Target = target
	case Incident:
		if req.Target == "" {
			return req, errs.InvalidField("target", "name the incident (INC-42)")
		}
		inc, err := s.Incidents.Get(ctx, req.Target)
		if errs.Is(err, errs.NotFound) || errs.Is(err, errs.Invalid) {
			return req, errs.InvalidField("target", "unknown incident %q", req.Target)
		}
		if err != nil {
			return req, err
		}
		req.Target = inc.Ref
	case Public, Component:
		// Customers subscribe on the public page, always by double opt-in
		// (SubscribePublic); the internal API and replies do not.
		return req, errs.InvalidField("kind", "public notices are subscribed to on the public status page")
	case "":
		return req, errs.InvalidField("kind", "is required: all, system or incident")
	default:
		return req, errs.InvalidField("kind", "unknown kind %q: all, system or incident", req.Kind)
	}
	return req, nil
}

// checkEmail returns email in canonical form (lower case), or an
// errs.Invalid naming the field.
func checkEmail(raw string) (string, error) {
	email := strings.ToLower(strings.TrimSpace(raw))
	if email == "" {
		return "", errs.InvalidField("email", "is required")
	}
	if len(email) > maxEmail {
		return "", errs.InvalidField("email", "is %d characters; an address has at most %d", len(email), maxEmail)
	}
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || a.Name != "" {
		return "", errs.InvalidField("email", "%q is not an email address", raw)
	}
	return email, nil
}

// May says whether email may subscribe at all, and whether only by double
// opt-in: a person in the directory may; another address only in an
// allowed domain. It is an errs.Invalid error otherwise.
func (s *Service) May(email string) (optIn bool, err error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if _, ok := s.Directory.Current().Person(email); ok {
		return false, nil
	}
	at := strings.LastIndexByte(email, '@')
	if at >= 0 && slices.Contains(s.allowedDomains(), email[at+1:]) {
		return true, nil
	}
	if len(s.AllowedDomains) == 0 {
		return false, errs.InvalidField("email", "%s is not in the directory; only the directory's people may subscribe", email)
	}
	return false, errs.InvalidField("email", "%s is not in the directory nor in an allowed domain (%s)", email, strings.Join(s.allowedDomains(), ", "))
}

func (s *Service) allowedDomains() []string {
	out := make([]string, 0, len(s.AllowedDomains))
	for _, d := range s.AllowedDomains {
		out = append(out, strings.ToLower(strings.TrimPrefix(strings.TrimSpace(d), "@")))
	}
	return out
}

// Subscribe records req. For an address the directory knows, or a
// verified one, the subscription is confirmed at once. For another
// address in an allowed domain, it waits for the confirmation link mailed
// to it (pending is true). An address outside the allowed domains, an
// unknown system or incident, or an unknown kind is an errs.Invalid
// error, with nothing changed. Subscribing twice to the same thing
// returns the existing subscription.
func (s *Service) Subscribe(ctx context.Context, actor string, req Request) (sub *Subscription, pending bool, err error) {
	if req, err = s.normalize(ctx, req); err != nil {
		return nil, false, err
	}
	optIn, err := s.May(req.Email)
	if err != nil {
		return nil, false, err
	}
	confirmNow := !optIn || req.Verified
	now := s.now()
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		existing, err := scanOne(tx.QueryRowContext(ctx, queries.Get("find"), req.Email, req.Kind, req.Target))
		switch {
		case err == nil && existing.Confirmed:
			sub = existing
			return nil
		case err == nil && confirmNow:
			if _, err := tx.ExecContext(ctx, queries.Get("confirm"), now, existing.ID); err != nil {
				return fmt.Errorf("subscription: confirm %d: %w", existing.ID, err)
			}
			existing.Confirmed, sub = true, existing
			return nil
		case err == nil:
			// Still waiting: a new link, within the rate limit.
			sub, pending = existing, true
			return s.sendConfirmation(ctx, tx, sub, now)
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("subscription: find: %w", err)
		}
		sub = &Subscription{Email: req.Email, Kind: req.Kind, Target: req.Target, Confirmed: confirmNow,
			Source: cmp.Or(req.Source, "api"), CreatedAt: now}
		var confirmedAt *time.Time
		if confirmNow {
			confirmedAt = &now
		}
		if err := tx.QueryRowContext(ctx, queries.Get("insert"), sub.Email, sub.Kind, sub.Target, sub.Confirmed, sub.Source, actor,
			now, store.NullTime(confirmedAt)).Scan(&sub.ID); err != nil {
			if store.IsUniqueViolation(err) {
				return errs.E(errs.Conflict, "%s is subscribing to this at the same time; try again", sub.Email)
			}
			return fmt.Errorf("subscription: insert: %w", err)
		}
		if confirmNow {
			return nil
		}
		pending = true
		return s.sendConfirmation(ctx, tx, sub, now)
	})
	if err != nil {
		return nil, false, err
	}
	s.logger().Info("subscription", "id", sub.ID, "kind", sub.Kind, "target", sub.Target, "pending", pending, "source", sub.Source, "actor", actor)
	return sub, pending, nil
}

// sendConfirmation mails sub's address a single-use link, unless the
// address has had ConfirmationsPerDay of them in the last 24 hours.
func (s *Service) sendConfirmation(ctx context.Context, tx *sql.Tx, sub *Subscription, now time.Time) error {
	limit := cmp.Or(s.ConfirmationsPerDay, 3)
	var sent int
	if err := tx.QueryRowContext(ctx, queries.Get("recent-confirmations"), sub.Email, now.Add(-24*time.Hour)).Scan(&sent); err != nil {
		return fmt.Errorf("subscription: rate limit: %w", err)
	}
	if sent >= limit {
		return errs.E(errs.RateLimited, "%d confirmation emails went to %s in the last 24 hours; follow one of them, or try again tomorrow", sent, sub.Email)
	}
	expires := now.Add(cmp.Or(s.ConfirmFor, 48*time.Hour))
	token, err := s.newToken(ctx, tx, "confirm", sub.Email, []int64{sub.ID}, now, expires)
	if err != nil {
		return err
	}
	data := compose.SubscriptionConfirmData{Email: sub.Email, Kind: sub.Kind, Target: sub.Target,
		URL: s.linkFor(sub.Kind, "/subscriptions/confirm/"+token), ExpiresAt: expires, Now: now}
	_, err = s.Mail.Queue(ctx, tx, compose.Outgoing{
		Thread: compose.Thread{Audience: "subscribers", Ref: "subscription", ToName: "Incident updates"}, Kind: compose.KindSubscribeConfirm,
		People: []string{sub.Email}, Data: data, Actor: "sitrep"})
	if err != nil {
		return fmt.Errorf("subscription: confirmation email: %w", err)
	}
	return nil
}

func (s *Service) link(path string) string {
	return strings.TrimSuffix(s.PublicURL, "/") + path
}

// linkFor is a link for a subscription of kind: a customer's goes to the
// public status page's listener, which serves the same paths.
func (s *Service) linkFor(kind, path string) string {
	if kind == Public || kind == Component {
		return strings.TrimSuffix(s.PublicSiteURL, "/") + path
	}
	return s.link(path)
}

// newToken stores the hash of a new random token and returns the token.
// 32 random bytes: unguessable, and the database holds only its hash, so
// a copy of it cannot unsubscribe or confirm anyone.
func (s *Service) newToken(ctx context.Context, q store.Querier, purpose, email string, ids []int64, now, expires time.Time) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("subscription: token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(b[:])
	if _, err := q.ExecContext(ctx, queries.Get("insert-token"), hash(token), purpose, email, store.JSON(ids), now, expires); err != nil {
		return "", fmt.Errorf("subscription: store token: %w", err)
	}
	return token, nil
}

func hash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// maxToken bounds a token from a URL before it is hashed or looked up.
const maxToken = 100

// What is wrong with a link, as the errs.Invalid error on field "token"
// says it; LinkProblem names them for a page written in the reader's
// language.
const (
	msgLinkInvalid   = "this link is not valid"
	msgLinkUsed      = "this link was already used"
	msgLinkExpired   = "this link expired; ask again"
	msgLinkWithdrawn = "this subscription was withdrawn"
)

// Problems of a link, from LinkProblem.
const (
	LinkInvalid   = "invalid"
	LinkUsed      = "used"
	LinkExpired   = "expired"
	LinkWithdrawn = "withdrawn"
)

// LinkProblem says what was wrong with a link that Confirm or
// UnsubscribeToken refused: LinkInvalid, LinkUsed, LinkExpired or
// LinkWithdrawn; "" for any other error.
func LinkProblem(err error) string {
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != errs.Invalid || e.Field != "token" {
		return ""
	}
	switch e.Message {
	case msgLinkInvalid:
		return LinkInvalid
	case msgLinkUsed:
		return LinkUsed
	case msgLinkExpired:
		return LinkExpired
	case msgLinkWithdrawn:
		return LinkWithdrawn
	}
	return ""
}

// LinkLanguage is the language of the reader of a link (a confirmation
// or unsubscribe token), without spending it: the directory's language
// for its address (their own, their group's, else the organisation's),
// "" when the address is no person of the directory (an allowed domain's,
// a customer's) or the token is unknown. The page the link opens is
// written in it; "" leaves the choice to the browser's Accept-Language.
func (s *Service) LinkLanguage(ctx context.Context, token string) string {
	token = strings.TrimSpace(token)
	if token == "" || len(token) > maxToken || s.Directory == nil {
		return ""
	}
	var purpose, email, list string
	var expires time.Time
	var used sql.NullTime
	if err := s.DB.QueryRowContext(ctx, queries.Get("token"), hash(token)).Scan(&purpose, &email, &list, &expires, &used); err != nil {
		return ""
	}
	return s.languageOf(email)
}

// languageOf is the directory's language for email, "" for someone the
// directory does not know.
func (s *Service) languageOf(email string) string {
	if s.Directory == nil {
		return ""
	}
	r, ok := s.Directory.Current().Reader(email)
	if !ok {
		return ""
	}
	return r.Language
}

// spend takes a token of purpose: its address and subscription ids, once.
// A reused, expired or unknown token is an errs.Invalid error, with
// nothing changed.
func (s *Service) spend(ctx context.Context, tx *sql.Tx, purpose, token string) (email string, ids []int64, err error) {
	token = strings.TrimSpace(token)
	if token == "" || len(token) > maxToken {
		return "", nil, errs.InvalidField("token", msgLinkInvalid)
	}
	var gotPurpose, list string
	var expires time.Time
	var used sql.NullTime
	err = tx.QueryRowContext(ctx, queries.Get("token"), hash(token)).Scan(&gotPurpose, &email, &list, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && gotPurpose != purpose) {
		return "", nil, errs.InvalidField("token", msgLinkInvalid)
	}
	if err != nil {
		return "", nil, fmt.Errorf("subscription: token: %w", err)
	}
	if used.Valid {
		return "", nil, errs.InvalidField("token", msgLinkUsed)
	}
	now := s.now()
	if !now.Before(expires) {
		return "", nil, errs.InvalidField("token", msgLinkExpired)
	}
	res, err := tx.ExecContext(ctx, queries.Get("spend-token"), now, hash(token))
	if err != nil {
		return "", nil, fmt.Errorf("subscription: spend token: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return "", nil, errs.InvalidField("token", msgLinkUsed)
	}
	if err := json.Unmarshal([]byte(list), &ids); err != nil {
		return "", nil, fmt.Errorf("subscription: token's subscriptions: %w", err)
	}
	return email, ids, nil
}

// Confirm follows a double opt-in link. A reused, expired or unknown
// token is an errs.Invalid (or errs.NotFound) error, with nothing changed.
func (s *Service) Confirm(ctx context.Context, token string) (*Subscription, error) {
	var sub *Subscription
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		_, ids, err := s.spend(ctx, tx, "confirm", token)
		if err != nil {
			return err
		}
		if len(ids) != 1 {
			return fmt.Errorf("subscription: a confirmation names %d subscriptions", len(ids))
		}
		if sub, err = scanOne(tx.QueryRowContext(ctx, queries.Get("get"), ids[0])); errors.Is(err, sql.ErrNoRows) {
			return errs.InvalidField("token", msgLinkWithdrawn)
		} else if err != nil {
			return fmt.Errorf("subscription: get: %w", err)
		}
		if _, err := tx.ExecContext(ctx, queries.Get("confirm"), s.now(), sub.ID); err != nil {
			return fmt.Errorf("subscription: confirm: %w", err)
		}
		sub.Confirmed = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.logger().Info("subscription confirmed", "id", sub.ID)
	return sub, nil
}

// Unsubscribe removes one subscription of email's. It never touches a
// distribution group. email "" (an admin) removes anyone's.
func (s *Service) Unsubscribe(ctx context.Context, actor, email string, id int64) error {
	email = strings.ToLower(strings.TrimSpace(email))
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		sub, err := scanOne(tx.QueryRowContext(ctx, queries.Get("get"), id))
		if errors.Is(err, sql.ErrNoRows) || (err == nil && email != "" && sub.Email != email) {
			// Someone else's subscription is none of the caller's business:
			// the same answer as none at all.
			return errs.E(errs.NotFound, "no subscription %d", id)
		}
		if err != nil {
			return fmt.Errorf("subscription: get: %w", err)
		}
		if _, err := tx.ExecContext(ctx, queries.Get("delete"), id); err != nil {
			return fmt.Errorf("subscription: delete: %w", err)
		}
		s.logger().Info("unsubscribed", "id", id, "actor", actor)
		return nil
	})
}

// UnsubscribeToken removes the subscription an unsubscribe link (in a
// subscriber's email, or its List-Unsubscribe header) names: one click,
// that person only. The link names the subscriptions that sent that
// email, so that the next update of that incident does not come either;
// the address's other subscriptions stay.
func (s *Service) UnsubscribeToken(ctx context.Context, token string) (*Subscription, error) {
	var first *Subscription
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		email, ids, err := s.spend(ctx, tx, "unsubscribe", token)
		if err != nil {
			return err
		}
		for _, id := range ids {
			sub, err := scanOne(tx.QueryRowContext(ctx, queries.Get("get"), id))
			if errors.Is(err, sql.ErrNoRows) {
				continue // already gone
			}
			if err != nil {
				return fmt.Errorf("subscription: get: %w", err)
			}
			if sub.Email != email {
				continue // never someone else's, whatever the row says
			}
			if _, err := tx.ExecContext(ctx, queries.Get("delete"), id); err != nil {
				return fmt.Errorf("subscription: delete: %w", err)
			}
			if first == nil {
				first = sub
			}
		}
		if first == nil {
			return errs.E(errs.NotFound, "already unsubscribed")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.logger().Info("unsubscribed by link", "id", first.ID)
	return first, nil
}

// List lists email's subscriptions; email "" lists everyone's (admins).
func (s *Service) List(ctx context.Context, email string) ([]Subscription, error) {
	rows, err := s.DB.QueryContext(ctx, queries.Get("list"), strings.ToLower(strings.TrimSpace(email)))
	if err != nil {
		return nil, fmt.Errorf("subscription: list: %w", err)
	}
	defer rows.Close()
	out := []Subscription{}
	for rows.Next() {
		sub, err := scanOne(rows)
		if err != nil {
			return nil, fmt.Errorf("subscription: list: %w", err)
		}
		out = append(out, *sub)
	}
	return out, rows.Err()
}

// Followers is who follows the incident ref (affecting systems) beside
// its groups: the addresses of the confirmed subscriptions to all
// incidents, to it, or to one of its systems, each with what of theirs
// sent it and a new one-click unsubscribe link of its own, stored in q
// (the transaction that queues the email) so that a link never names an
// email that was not sent.
func (s *Service) Followers(ctx context.Context, q store.Querier, ref string, systems []string) (compose.FollowerSet, error) {
	return s.followers(ctx, q, ref, systems, true)
}

// FollowersPreview is Followers for a dry run: the same people and what
// they follow, read from the database and nothing stored; each link is a
// placeholder (PreviewLink), since a link made for a preview would be a
// live one nobody was sent.
func (s *Service) FollowersPreview(ctx context.Context, ref string, systems []string) (compose.FollowerSet, error) {
	return s.followers(ctx, s.DB, ref, systems, false)
}

// PreviewLink is the last part of the unsubscribe link a preview shows in
// place of each follower's own.
const PreviewLink = "each-follower-gets-their-own-link"

func (s *Service) followers(ctx context.Context, q store.Querier, ref string, systems []string, persist bool) (compose.FollowerSet, error) {
	keep := func(email, kind, target string) bool {
		if kind == System && !slices.Contains(systems, target) {
			return false
		}
		// Someone who has left the directory (or whose domain is no
		// longer allowed) stops receiving at once; the row stays for the
		// audit and for their return.
		_, err := s.May(email)
		return err == nil
	}
	return s.followersBy(ctx, q, "followers", keep, s.link, persist, queries.Get("followers"), ref)
}

// followersBy is the addresses of the confirmed subscriptions query
// returns (id, email, kind, target) that keep accepts, in order, each
// with what it follows and one new one-click unsubscribe link (made into
// a URL by link) that ends all of its subscriptions there, stored in q.
// Without persist (a preview) nothing is written and each link is
// PreviewLink.
func (s *Service) followersBy(ctx context.Context, q store.Querier, what string, keep func(email, kind, target string) bool,
	link func(path string) string, persist bool, query string, args ...any) (compose.FollowerSet, error) {
	var set compose.FollowerSet
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return set, fmt.Errorf("subscription: %s: %w", what, err)
	}
	byEmail := map[string][]int64{}
	follows := map[string][]compose.Followed{}
	var order []string
	for rows.Next() {
		var id int64
		var email, kind, target string
		if err := rows.Scan(&id, &email, &kind, &target); err != nil {
			rows.Close()
			return set, fmt.Errorf("subscription: %s: %w", what, err)
		}
		if !keep(email, kind, target) {
			continue
		}
		if _, ok := byEmail[email]; !ok {
			order = append(order, email)
		}
		byEmail[email] = append(byEmail[email], id)
		follows[email] = append(follows[email], compose.Followed{Kind: kind, Target: target})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return set, fmt.Errorf("subscription: %s: %w", what, err)
	}
	set = compose.FollowerSet{Emails: order, Unsubscribe: make(map[string]string, len(order)), Follows: follows}
	if !persist {
		for _, email := range order {
			set.Unsubscribe[email] = link("/unsubscribe/" + PreviewLink)
		}
		return set, nil
	}
	now := s.now()
	// Spent and expired links are dropped by Sweep, in batches, not here
	// in the transaction that queues an email.
	for _, email := range order {
		token, err := s.newToken(ctx, q, "unsubscribe", email, byEmail[email], now, now.Add(unsubscribeFor))
		if err != nil {
			return set, err
		}
		set.Unsubscribe[email] = link("/unsubscribe/" + token)
	}
	return set, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanOne(r scanner) (*Subscription, error) {
	var sub Subscription
	if err := r.Scan(&sub.ID, &sub.Email, &sub.Kind, &sub.Target, &sub.Confirmed, &sub.Source, &sub.CreatedAt); err != nil {
		return nil, err
	}
	sub.CreatedAt = sub.CreatedAt.UTC()
	return &sub, nil
}

//go:embed queries.sql
var queryFiles embed.FS

var queries = store.MustQueries(queryFiles)
var _ incident.Followers = (*Service)(nil)

// SubscribeByReply subscribes the authenticated sender of a reply (the
// reply handler checked the sender); it says what was done.
func (s *Service) SubscribeByReply(ctx context.Context, sender, kind, target string) (string, error) {
	sub, _, err := s.Subscribe(ctx, sender, Request{Email: sender, Kind: kind, Target: target, Source: "reply", Verified: true})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s follows %s (subscription %d)", sub.Email, describe(sub), sub.ID), nil
}

// UnsubscribeByReply ends the sender's subscription to kind and target:
// the sender's own, never a group's. None is an errs.NotFound error.
func (s *Service) UnsubscribeByReply(ctx context.Context, sender, kind, target string) (string, error) {
	req, err := s.normalize(ctx, Request{Email: sender, Kind: kind, Target: target})
	if err != nil {
		return "", err
	}
	sub, err := scanOne(s.DB.QueryRowContext(ctx, queries.Get("find"), req.Email, req.Kind, req.Target))
	if errors.Is(err, sql.ErrNoRows) {
		return "", errs.E(errs.NotFound, "%s has no subscription to %s; distribution groups are changed in the directory, not by reply", req.Email, describe(&Subscription{Kind: req.Kind, Target: req.Target}))
	}
	if err != nil {
		return "", fmt.Errorf("subscription: find: %w", err)
	}
	if err := s.Unsubscribe(ctx, sender, sub.Email, sub.ID); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s no longer follows %s", sub.Email, describe(sub)), nil
}

// describe says what a subscription follows, for people.
func describe(sub *Subscription) string {
	switch sub.Kind {
	case System:
		return "incidents affecting " + sub.Target
	case Incident:
		return sub.Target
	case Public:
		return "the public status page"
	case Component:
		return "the public status page's " + sub.Target
	}
	return "every incident"
}
