package compose

import (
	"strings"
	"time"
)

// Copy is what differs between the copies of one message: each recipient
// gets it in their own zone, addressed as their copy's To: shows it.
type Copy struct {
	// Name is the recipient's display name ("" when the directory does
	// not know them).
	Name string
	Zone *time.Location
	// To is how the copy is addressed: the group's display name, or the
	// thread's name for mail to named people ("INC-42 leads").
	To string
	// Language is the recipient's BCP 47 tag ("de", "en-US"); "" is the
	// organisation's default. The copy is rendered with RenderIn(Language).
	Language string
	// Group is the group the recipient is reached through ("customer-service"),
	// "" for named people: the key of wording written for one audience.
	Group string
}

// Address fills data (a pointer to one kind's struct) for one recipient's
// copy. Each kind takes only the fields it documents as the recipient's:
// a field about someone else (the person who asked a question, the owner
// of an improvement) is the sender's to fill and is never overwritten.
func Address(data any, c Copy) {
	if a, ok := data.(addressed); ok {
		a.address(c)
	}
}

// Personal reports whether the copies of kind differ by more than the
// zone (they greet the recipient by name), so that they cannot share one
// SMTP transaction.
func Personal(kind Kind) bool {
	switch kind {
	case KindHeadsUp:
		return true
	}
	return false
}

type addressed interface{ address(Copy) }

func (d *HeadsUpData) address(c Copy) { d.Recipient, d.Zone = c.Name, c.Zone }
func (d *StatusData) address(c Copy) {
	d.Zone, d.Audience = c.Zone, c.To
	// Wording written for the reader's group comes first: it says what
	// that audience needs (what to tell customers), and the lead wrote it
	// in the language that group reads.
	if s := d.ForGroups[c.Group]; c.Group != "" && strings.TrimSpace(s) != "" {
		d.Status = s
		return
	}
	if s, ok := translation(d.Translations, c.Language); ok {
		d.Status = s
	}
}

// translation is the version written for tag: its own ("de-CH") or its
// language's ("de").
func translation(ts map[string]string, tag string) (string, bool) {
	for tag != "" {
		if s, ok := ts[tag]; ok && strings.TrimSpace(s) != "" {
			return s, true
		}
		i := strings.LastIndex(tag, "-")
		if i < 0 {
			break
		}
		tag = tag[:i]
	}
	return "", false
}
func (d *ReminderData) address(c Copy)         { d.Zone = c.Zone }
func (d *ResolvedData) address(c Copy)         { d.Zone, d.Audience = c.Zone, c.To }
func (d *ConfirmData) address(c Copy)          { d.Zone = c.Zone }
func (d *SummaryData) address(c Copy)          { d.Zone, d.Audience = c.Zone, c.To }
func (d *TimelineData) address(c Copy)         { d.Zone = c.Zone }
func (d *CommandRefusedData) address(c Copy)   { d.Zone = c.Zone }
func (d *RootCauseDueData) address(c Copy)     { d.Zone = c.Zone }
func (d *BounceNoticeData) address(c Copy)     { d.Zone = c.Zone }
func (d *UnverifiedBounceData) address(c Copy) { d.Zone = c.Zone }
func (d *StakeholderReplyData) address(c Copy) { d.Zone = c.Zone }
func (d *QuestionDueData) address(c Copy)      { d.Zone = c.Zone }
func (d *DraftAlertData) address(c Copy)       { d.Zone = c.Zone }
func (d *AnswerData) address(c Copy)           { d.Zone = c.Zone }
func (d *PostmortemInviteData) address(c Copy) { d.Zone = c.Zone }
func (d *PostmortemReportData) address(c Copy) { d.Zone = c.Zone }
func (d *ImprovementDueData) address(c Copy)   { d.Zone = c.Zone }
