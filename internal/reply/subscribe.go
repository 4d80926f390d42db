package reply

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/mailmsg"
)

// actOnSubscribe carries out a "subscribe" or "unsubscribe" reply for its
// sender, who must be authenticated by a trusted server: a forged From
// would otherwise subscribe (or unsubscribe) someone else. Refused or
// done, the reply goes on the timeline saying so; nobody is mailed (an
// answer to a forged sender would be backscatter).
func (s *Service) actOnSubscribe(ctx context.Context, id int64, m *mailmsg.Message, inc *incident.Incident, sc mailmsg.SubscribeCommand,
	out mailmsg.Outcome, log *slog.Logger) error {
	verb := "subscribe"
	if sc.Unsubscribe {
		verb = "unsubscribe"
	}
	target := sc.Target
	if sc.Kind == "incident" {
		target = inc.Ref
	}
	extra := map[string]any{"command": verb, "kind": sc.Kind, "target": target}
	var refused string
	if v := mailmsg.CheckAuthentication(m, s.TrustedAuthServIDs); !v.Pass {
		refused = "the sender could not be authenticated: " + v.Reason
	} else {
		var done string
		var err error
		if sc.Unsubscribe {
			done, err = s.Subscriptions.UnsubscribeByReply(ctx, out.Sender, sc.Kind, target)
		} else {
			done, err = s.Subscriptions.SubscribeByReply(ctx, out.Sender, sc.Kind, target)
		}
		switch {
		case err != nil && errs.CodeOf(err) == errs.Internal:
			return err
		case err != nil:
			refused = err.Error()
		default:
			out.Action = verb + " by reply: " + done
		}
	}
	out.State = mailmsg.StateProcessed
	if refused != "" {
		out.Action, out.Err = "on the timeline; "+verb+" refused", verb+" refused: "+refused
		extra["refused"] = refused
		log.Info(verb+" by reply refused", "incident", inc.Ref, "from", out.Sender, "reason", refused)
	} else {
		log.Info(verb+" by reply", "incident", inc.Ref, "from", out.Sender, "kind", sc.Kind, "target", target)
	}
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		if err := s.replyEvent(ctx, tx, id, inc, out, extra); err != nil {
			return err
		}
		return s.Inbox.Finish(ctx, tx, id, out)
	})
	if errors.Is(err, mailmsg.ErrAlreadyDone) {
		return nil
	}
	return err
}
