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
	"context"
	"time"
)

// Kinds of subscription: what a subscriber follows.
const (
	All      = "all"      // every incident
	System   = "system"   // incidents that affect one system (Target: "checkout")
	Incident = "incident" // one incident (Target: "INC-42")
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
	// address, an admin through the API). An unverified request for an
	// address outside the directory starts a double opt-in.
	Verified bool `json:"-"`
}

// Service is the subscriptions use case. The methods below are the
// contract the web pages, the API, the CLI and the reply handler build on.
type Service struct{}

// Subscribe records req. For an address the directory knows, or a
// verified one, the subscription is confirmed at once. For another
// address in an allowed domain, it waits for the confirmation link mailed
// to it (pending is true). An address outside the allowed domains, an
// unknown system or incident, or an unknown kind is an errs.Invalid
// error, with nothing changed. Subscribing twice to the same thing
// returns the existing subscription.
func (s *Service) Subscribe(ctx context.Context, actor string, req Request) (sub *Subscription, pending bool, err error) {
	panic("not implemented")
}

// Confirm follows a double opt-in link. A reused, expired or unknown
// token is an errs.Invalid (or errs.NotFound) error, with nothing changed.
func (s *Service) Confirm(ctx context.Context, token string) (*Subscription, error) {
	panic("not implemented")
}

// Unsubscribe removes one subscription of email's. It never touches a
// distribution group.
func (s *Service) Unsubscribe(ctx context.Context, actor, email string, id int64) error {
	panic("not implemented")
}

// UnsubscribeToken removes the subscription an unsubscribe link (in a
// subscriber's email, or its List-Unsubscribe header) names: one click,
// that person only.
func (s *Service) UnsubscribeToken(ctx context.Context, token string) (*Subscription, error) {
	panic("not implemented")
}

// List lists email's subscriptions; email "" lists everyone's (admins).
func (s *Service) List(ctx context.Context, email string) ([]Subscription, error) {
	panic("not implemented")
}
