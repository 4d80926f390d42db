package compose

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Every kind's data takes its recipient's copy: the zone at least.
func TestEveryKindIsAddressed(t *testing.T) {
	tokyo := mustZone(t, "Asia/Tokyo")
	for _, k := range Kinds() {
		data, err := NewData(k)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := data.(addressed); !ok {
			t.Errorf("%s: %T takes no recipient's copy (add its address method)", k, data)
			continue
		}
		Address(data, Copy{Name: "Ana", Zone: tokyo, To: "Exec team"})
		if z := reflect.ValueOf(data).Elem().FieldByName("Zone"); !z.IsValid() || z.Interface().(*time.Location) != tokyo {
			t.Errorf("%s: the copy is not in the recipient's zone", k)
		}
	}
}

// A message about one person, sent to another, keeps what it says about
// the first: the comms lead reads which group the stakeholder who asked is
// in, not the leads' thread; an improvement's owner stays its owner.
func TestAddressingNeverOverwritesWhoTheMessageIsAbout(t *testing.T) {
	r := newRenderer(t)
	q := SampleData(KindStakeholderReply).(StakeholderReplyData)
	q.Questions[0].From, q.Questions[0].Audience = "Catherine Osei <ceo@example.com>", "Executives"
	Address(&q, Copy{Name: "Lena Fischer", Zone: time.UTC, To: "INC-42 leads"})
	out, err := r.Render(KindStakeholderReply, &q)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.Text, "ceo@example.com> (Executives) replied") ||
		!strings.HasPrefix(out.Text, "*Question from Catherine Osei (Executives)*") || strings.Contains(out.Text, "INC-42 leads") {
		t.Errorf("the question forward names the asker's group:\n%s", out.Text)
	}

	d := SampleData(KindImprovementDue).(ImprovementDueData)
	d.Recipient = "Ben Okoro"
	Address(&d, Copy{Name: "Lena Fischer", Zone: time.UTC})
	if d.Recipient != "Ben Okoro" {
		t.Errorf("an improvement's owner became %q", d.Recipient)
	}

	h := SampleData(KindHeadsUp).(HeadsUpData)
	Address(&h, Copy{Name: "Ana Silva", Zone: time.UTC})
	out, err = r.Render(KindHeadsUp, &h)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.Text, "Hi Ana Silva,") || !Personal(KindHeadsUp) {
		t.Errorf("a heads-up greets its recipient and is personal:\n%s", out.Text)
	}
}

// A question forward or a bounce notice queued before an upgrade (its
// data stored in the old shape) is still delivered, and says the same.
func TestSnapshotsQueuedBeforeAnUpgradeStillRender(t *testing.T) {
	r := newRenderer(t)
	for kind, stored := range map[Kind]string{
		KindStakeholderReply: `{"Incident":{"ID":"INC-7","Title":"Checkout down"},"From":"Catherine Osei <ceo@example.com>","Audience":"Executives","Question":"Should we tell the board?"}`,
		KindBounceNotice:     `{"Incident":{"ID":"INC-7","Title":"Checkout down"},"Address":"mark@example.com","Group":"Executives","UpdateNumber":1}`,
	} {
		data, err := NewData(kind)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(stored), data); err != nil {
			t.Fatal(err)
		}
		out, err := r.Render(kind, data)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if !strings.Contains(out.Text, "Should we tell the board?") && !strings.Contains(out.Text, "Bounce: update 1 did not reach mark@example.com (Executives)") {
			t.Errorf("%s from an old snapshot:\n%s", kind, out.Text)
		}
	}
}
