package compose

import "time"

// SampleData returns realistic data for kind, with every field set. New
// renders each template with it at start-up to catch misspelt fields;
// the web UI can use it to preview a template. Nil for an unknown kind.
func SampleData(kind Kind) any {
	now := time.Date(2026, 3, 3, 14, 5, 0, 0, time.UTC)
	zone := time.FixedZone("CET", 3600)
	inc := IncidentView{
		ID:                 "INC-42",
		Title:              "Checkout unavailable",
		ThreadTitle:        "Checkout unavailable",
		Severity:           "SEV1",
		State:              "investigating",
		DetectedVia:        "customer reports",
		DetectionDetail:    "12 tickets in 10 minutes",
		Verified:           true,
		VerificationDetail: "reproduced by support",
		Extent:             "subset",
		Segments:           []string{"EU customers", "mobile app"},
		FirstFailureAt:     now.Add(-70 * time.Minute),
		DetectedAt:         now.Add(-55 * time.Minute),
		ResolvedAt:         now.Add(10 * time.Minute),
		Systems:            []string{"checkout-api", "payments"},
		Teams:              []string{"Payments", "SRE"},
		IncidentLead:       "Sam Rivera",
		CommsLead:          "Alex Chen",
		URL:                "https://sitrep.example.com/incidents/INC-42",
		Reports:            "12 reports from 9 people in berlin, paris via mobile app",
		ReportFacts:        &ReportFacts{Reports: 12, Reporters: 9, Locations: []string{"berlin", "paris"}, Access: []string{"mobile app"}, Isolated: IsolatedPlace},
	}
	switch kind {
	case KindHeadsUp:
		return HeadsUpData{Incident: inc, Recipient: "Jo Park", Now: now, Zone: zone}
	case KindStatus:
		return StatusData{Incident: inc, Status: "Payments fail for **EU** cards.\nWe are rolling back release 2026.03.2.",
			NextUpdateAt: now.Add(30 * time.Minute), Holding: false, Now: now, Zone: zone, Audience: "Exec team", UpdateNumber: 2}
	case KindReminder, KindOverdue, KindPublicReminder, KindPublicOverdue:
		due := now.Add(10 * time.Minute)
		if kind == KindOverdue || kind == KindPublicOverdue {
			due = now.Add(-12 * time.Minute)
		}
		return ReminderData{Incident: inc, DueAt: due, Now: now, Zone: zone, Overdue: kind == KindOverdue || kind == KindPublicOverdue, ReplyHint: ""}
	case KindResolved:
		return ResolvedData{Incident: inc, RestoredAt: now, Duration: 70 * time.Minute,
			Impact: "About 8% of EU checkouts failed.", RootCause: "A release changed the card token format.",
			RootCauseUnknown: false, WriteUpBy: now.Add(48 * time.Hour), Now: now, Zone: zone, Audience: "Exec team"}
	case KindConfirm:
		return ConfirmData{Incident: inc, Recipient: "Jo Park", Reporter: true, ReportedAt: now.Add(-60 * time.Minute),
			RestoredAt: now, Now: now, Zone: zone}
	case KindSummary:
		return SummaryData{Incident: inc, Summary: "## Summary\n\nCheckout failed for EU cards.\n\n| When | What |\n|---|---|\n| 12:55 | Release |\n",
			Now: now, Zone: zone, Audience: "Engineering"}
	case KindTimeline:
		return TimelineData{Incident: inc, Entries: []TimelineEntry{
			{At: now.Add(-70 * time.Minute), What: "Release 2026.03.2 deployed", Who: "Payments"},
			{At: now.Add(-55 * time.Minute), What: "Support escalates card failures", Who: "Support"},
		}, Communication: []string{"First status update: 6 min after the declaration (14:06 UTC).", "The 14:20 UTC promise was met 6 min late (status update 2)."},
			PostMortemAt: now.Add(48 * time.Hour), Location: "Room Ada",
			VideoLink: "https://meet.example.com/inc-42", Now: now, Zone: zone}
	case KindCommandRefused:
		return CommandRefusedData{Incident: inc, Subject: "Re: [INC-42] Update due at 15:15 CET", Command: "resolve",
			From:   "Sam Ortiz <sam@example.com>",
			Reason: "only the incident lead can resolve", UpdateAllowed: true, Allowed: []string{"hold 30m"},
			Now: now, Zone: zone}
	case KindSubscribeConfirm:
		return SubscriptionConfirmData{Email: "dana@partner.example", Kind: "system", Target: "checkout",
			URL: "https://sitrep.example.com/subscriptions/confirm/3q2-7ZKmXf0", ExpiresAt: now.Add(48 * time.Hour), Now: now, Zone: zone}
	case KindRootCauseDue:
		resolved := inc
		resolved.State, resolved.ResolvedAt = "monitoring", now.Add(-26*time.Hour)
		return RootCauseDueData{Incident: resolved, Now: now, Zone: zone}
	case KindBounceNotice:
		return BounceNoticeData{Incident: inc, Address: "ceo@example.com", Group: "Exec team", BouncedKind: KindStatus, Position: 2,
			Reason: "mailbox full", Permanent: false, At: now, Now: now, Zone: zone}
	case KindUnverifiedBounce:
		return UnverifiedBounceData{Incident: inc, From: "MAILER-DAEMON@mx.example.net", Recipients: []string{"ceo@example.com"},
			Cause: UnverifiedNotToBounceAddress, At: now, Now: now, Zone: zone}
	case KindStakeholderReply:
		return StakeholderReplyData{Incident: inc, Questions: []Question{{From: "Dana Lee <dana@example.com>", Audience: "Customer service",
			Subject: "Re: [INC-42] Checkout unavailable", Text: "Can we tell customers to retry?\nThanks", ReceivedAt: now}},
			Now: now, Zone: zone}
	case KindQuestionDue:
		return QuestionDueData{Incident: inc, Questions: []Question{{From: "Dana Lee <dana@example.com>", Audience: "Customer service",
			Subject: "Re: [INC-42] Checkout unavailable", Text: "Can we tell customers to retry?\nThanks", ReceivedAt: now.Add(-17 * time.Minute)}},
			Within: 15 * time.Minute, Now: now, Zone: zone}
	case KindStillBroken:
		return AnswerData{Incident: inc, From: "Dana Fox <dana@example.com>", Answer: "No, checkout still fails for me with error 502.", ReceivedAt: now, Now: now, Zone: zone}
	case KindUnclearAnswer:
		return AnswerData{Incident: inc, From: "Dana Fox <dana@example.com>", Answer: "Checkout works again, but the order page is slow.\nShould we retry the failed orders?", ReceivedAt: now, Now: now, Zone: zone}
	case KindWriteUpDue:
		return ReminderData{Incident: inc, DueAt: now.Add(2 * time.Hour), Now: now, Zone: zone}
	case KindPostmortemInvite:
		return PostmortemInviteData{Incident: inc, Start: now.Add(48 * time.Hour), End: now.Add(49 * time.Hour), Location: "Ada, HQ, floor 3",
			VideoLink: "https://meet.example.com/inc-42", Facilitator: "Alex Chen", Method: "REQUEST", Sequence: 1,
			Entries:       []TimelineEntry{{At: now.Add(-70 * time.Minute), What: "Release 2026.03.2 deployed", Who: "Payments"}},
			Communication: []string{"Next-update promises kept: 3 of 4."},
			Now:           now, Zone: zone}
	case KindPostmortemReport:
		return PostmortemReportData{Incident: inc, HeldAt: now.Add(48 * time.Hour), Facilitator: "Alex Chen",
			Issues:       []PostmortemIssue{{Ref: "I1", Text: "The release pipeline did not run the card-token contract tests."}},
			Improvements: []PostmortemImprovement{{Ref: "M1", Text: "Run the contract tests on every release", Owner: "Jo Park", DueOn: now.Add(14 * 24 * time.Hour), Issue: "I1"}, {Ref: "M2", Text: "Alert on checkout error rate per region"}},
			Unowned:      1, Now: now, Zone: zone}
	case KindImprovementDue:
		return ImprovementDueData{Incident: inc, Recipient: "Jo Park", Improvement: "Run the contract tests on every release",
			Issue: "The release pipeline did not run the card-token contract tests.", DueOn: now.Add(48 * time.Hour), Overdue: false, Now: now, Zone: zone}
	case KindMaintenance:
		return MaintenanceData{Ref: "MAINT-7", Title: "Database upgrade", Step: MaintenanceAnnounced, Systems: []string{"checkout", "payments"},
			Details: "PostgreSQL 16 to 17.\nCheckout may refuse orders for a few minutes.", URL: "https://wiki.example.com/maint/7",
			Start: now.Add(24 * time.Hour), End: now.Add(26 * time.Hour), Now: now, Zone: zone, Audience: "Customer service"}
	case KindPublicStatus:
		return PublicStatusData{Site: "Example Corp status", Ref: "INC-42", Components: []string{"Checkout", "Payments"},
			Status:       "Some customers cannot complete orders. We have found the cause and are fixing it.",
			NextUpdateAt: now.Add(60 * time.Minute), URL: "https://status.example.com/incidents/INC-42.html", Now: now, Zone: zone}
	case KindPublicResolved:
		return PublicStatusData{Site: "Example Corp status", Ref: "INC-42", Components: []string{"Checkout", "Payments"},
			Status: "Orders work again for every customer. Orders that failed were not charged.",
			URL:    "https://status.example.com/incidents/INC-42.html", Now: now, Zone: zone}
	case KindDraftAlert:
		return DraftAlertData{Incident: inc, Draft: "Rollback done; watching error rates.", DraftedBy: "Sam Rivera",
			Audiences: []string{"Exec team", "Customer service"}, DueAt: now.Add(10 * time.Minute), Now: now, Zone: zone,
			AlertKey: "checkout-5xx", SuggestedSeverity: "SEV2", Fired: 3, LastFiredAt: now.Add(-2 * time.Minute),
			DraftPage: "https://sitrep.example.com/drafts/DRAFT-12", DraftNumber: 12}
	}
	return nil
}
