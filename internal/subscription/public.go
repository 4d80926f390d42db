package subscription

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// Customers' subscriptions to the public status page: any address, always
// by double opt-in, links to the public page's listener, and a message of
// their own (the update's public wording), never the internal one.

var _ incident.PublicFollowers = (*Service)(nil)

// SubscribePublic asks for email to receive the public page's updates (of
// every component, or of the component named, "Online shop"). It
// mails a confirmation link to the address, and nothing else happens
// until the link is followed. The answer is the same whether the address
// was already subscribed, waiting, or new, and when the address has had
// its day's confirmation emails (then nothing is stored or sent): the
// form must not tell a stranger who subscribes. Public subscriptions off,
// a malformed address, or an unknown component: an errs.Invalid error,
// nothing changed.
func (s *Service) SubscribePublic(ctx context.Context, email, component string) error {
	if !s.PublicOpen {
		return errs.E(errs.Invalid, "email subscriptions to this status page are off")
	}
	email, err := checkEmail(email)
	if err != nil {
		return err
	}
	kind, target := Public, ""
	if component = strings.TrimSpace(component); component != "" {
		kind = Component
		if target = s.component(component); target == "" {
			return errs.InvalidField("component", "there is no component %q on this page", component)
		}
	}
	now := s.now()
	var pending bool
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		existing, err := scanOne(tx.QueryRowContext(ctx, queries.Get("find"), email, kind, target))
		switch {
		case err == nil && existing.Confirmed:
			return nil // subscribed already: no mail, the same answer
		case err == nil:
			pending = true
			return s.sendConfirmation(ctx, tx, existing, now)
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("subscription: find: %w", err)
		}
		sub := &Subscription{Email: email, Kind: kind, Target: target, Source: "public page", CreatedAt: now}
		if err := tx.QueryRowContext(ctx, queries.Get("insert"), sub.Email, sub.Kind, sub.Target, false, sub.Source, "public page",
			now, store.NullTime(nil)).Scan(&sub.ID); err != nil {
			if store.IsUniqueViolation(err) {
				return nil // the same address at the same time: that request mails it
			}
			return fmt.Errorf("subscription: insert: %w", err)
		}
		pending = true
		return s.sendConfirmation(ctx, tx, sub, now)
	})
	if errs.Is(err, errs.RateLimited) {
		// Rolled back: nothing stored, nothing sent, and the same answer.
		s.logger().Info("public subscription: confirmation limit reached", "source", "public page")
		return nil
	}
	if err != nil {
		return err
	}
	s.logger().Info("public subscription asked", "pending", pending)
	return nil
}

// ConfirmPublic follows a customer's confirmation link: Confirm, with no
// detail in the answer that the public page would show.
func (s *Service) ConfirmPublic(ctx context.Context, token string) error {
	_, err := s.Confirm(ctx, token)
	return err
}

// UnsubscribePublic follows a customer's unsubscribe link: UnsubscribeToken.
func (s *Service) UnsubscribePublic(ctx context.Context, token string) error {
	_, err := s.UnsubscribeToken(ctx, token)
	return err
}

// LinkProblem is the package's LinkProblem, for the public page, which
// knows the subscriptions by their interface alone.
func (s *Service) LinkProblem(err error) string { return LinkProblem(err) }

// component is the configured name of the component named name (any
// case), "" for none.
func (s *Service) component(name string) string {
	for _, c := range s.PublicComponents {
		if strings.EqualFold(c.Name, name) {
			return c.Name
		}
	}
	return ""
}

// touches says whether the component named name stands for one of systems.
// A component no longer configured touches nothing.
func (s *Service) touches(name string, systems []string) bool {
	for _, c := range s.PublicComponents {
		if c.Name != name {
			continue
		}
		for _, sys := range c.Systems {
			if slices.ContainsFunc(systems, func(t string) bool { return strings.EqualFold(sys, t) }) {
				return true
			}
		}
	}
	return false
}

// PublicFollowers is who receives an update's public wording about an
// incident affecting systems: the confirmed public subscriptions to every
// component, or to one that stands for one of systems, each with a new one-click unsubscribe
// link to the public page, stored in q (the transaction that queues the
// email) so that a link never names an email that was not sent.
func (s *Service) PublicFollowers(ctx context.Context, q store.Querier, systems []string) (compose.FollowerSet, error) {
	return s.publicFollowers(ctx, q, systems, true)
}

// PublicFollowersPreview is PublicFollowers for a dry run: nothing is
// stored, each link is a placeholder (see FollowersPreview).
func (s *Service) PublicFollowersPreview(ctx context.Context, systems []string) (compose.FollowerSet, error) {
	return s.publicFollowers(ctx, s.DB, systems, false)
}

func (s *Service) publicFollowers(ctx context.Context, q store.Querier, systems []string, persist bool) (compose.FollowerSet, error) {
	keep := func(_, kind, target string) bool { return kind != Component || s.touches(target, systems) }
	link := func(path string) string { return s.linkFor(Public, path) }
	return s.followersBy(ctx, q, "public followers", keep, link, persist, queries.Get("public-followers"))
}
