package microsoft365

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/calendar"
)

// getSchedule's documented limits ("Get free/busy schedule of Outlook
// calendar users and resources"): up to 20 addresses at once, a period
// shorter than 62 days. The interval only shapes availabilityView, which
// sitrep does not read; 30 minutes is the default.
const (
	scheduleBatch        = 20
	schedulePeriod       = 61 * 24 * time.Hour
	availabilityInterval = 30
)

type scheduleInformation struct {
	ScheduleID    string `json:"scheduleId"`
	ScheduleItems []struct {
		Status string           `json:"status"`
		Start  dateTimeTimeZone `json:"start"`
		End    dateTimeTimeZone `json:"end"`
	} `json:"scheduleItems"`
	Error *struct {
		Message      string `json:"message"`
		ResponseCode string `json:"responseCode"`
	} `json:"error"`
}

type dateTimeTimeZone struct {
	DateTime string `json:"dateTime"`
	TimeZone string `json:"timeZone"`
}

// busyStatus says which free/busy statuses keep a slot: busy, out of
// office, and tentative (a meeting not yet answered is tentative in
// Exchange; sitrep does not book over it). free, workingElsewhere (0 in
// Graph's own availabilityView: "free or working elsewhere") and unknown
// do not. Graph's guide shows the statuses capitalised ("Busy") and the
// reference lower case; both are read.
func busyStatus(status string) bool {
	switch strings.ToLower(status) {
	case "busy", "oof", "tentative":
		return true
	}
	return false
}

// Busy asks getSchedule, through the organizer's calendar, for the
// free/busy of people and rooms, 20 addresses and less than 62 days at a
// time, with times in UTC (Prefer: outlook.timezone="UTC"). An address
// Exchange cannot resolve (getSchedule answers it with an error, not an
// HTTP failure) maps to no intervals, as calendar.FreeBusy says, and is
// logged. The map is keyed by the addresses as given.
func (c *Calendar) Busy(ctx context.Context, emails []string, from, to time.Time) (map[string][]calendar.Interval, error) {
	out := map[string][]calendar.Interval{}
	var uniq []string
	given := map[string]string{}
	for _, e := range emails {
		k := strings.ToLower(strings.TrimSpace(e))
		if k == "" || given[k] != "" {
			continue
		}
		given[k] = e
		uniq = append(uniq, e)
	}
	for ws := from; ws.Before(to); {
		we := ws.Add(schedulePeriod)
		if we.After(to) {
			we = to
		}
		for i := 0; i < len(uniq); i += scheduleBatch {
			batch := uniq[i:min(i+scheduleBatch, len(uniq))]
			infos, err := c.schedule(ctx, batch, ws, we)
			if err != nil {
				return nil, c.explain("free/busy", err)
			}
			for _, info := range infos {
				key := given[strings.ToLower(info.ScheduleID)]
				if key == "" {
					c.log.Warn("calendar: microsoft365: getSchedule answered an address not asked for", "address", info.ScheduleID)
					continue
				}
				if info.Error != nil {
					c.log.Warn("calendar: microsoft365: no free/busy for an address; taken as free", "address", key,
						"code", info.Error.ResponseCode, "message", info.Error.Message)
					continue
				}
				for _, it := range info.ScheduleItems {
					if !busyStatus(it.Status) {
						continue
					}
					s, err1 := it.Start.time()
					e, err2 := it.End.time()
					if err1 != nil || err2 != nil {
						return nil, fmt.Errorf("calendar: microsoft365: free/busy of %s: bad item %+v–%+v: %v", key, it.Start, it.End, firstErr(err1, err2))
					}
					out[key] = append(out[key], calendar.Interval{Start: s, End: e})
				}
			}
		}
		ws = we
	}
	return out, nil
}

// schedule is one getSchedule call.
func (c *Calendar) schedule(ctx context.Context, emails []string, from, to time.Time) ([]scheduleInformation, error) {
	body := map[string]any{
		"schedules":                emails,
		"startTime":                dateTimeTZ(from),
		"endTime":                  dateTimeTZ(to),
		"availabilityViewInterval": availabilityInterval,
	}
	var page struct {
		Value []scheduleInformation `json:"value"`
	}
	err := c.do(ctx, request{method: http.MethodPost, path: c.userPath("/calendar/getSchedule"), body: body, prefer: `outlook.timezone="UTC"`}, &page)
	return page.Value, err
}

// time reads a dateTimeTimeZone: "2026-03-10T14:00:00.0000000" in
// timeZone, UTC as asked for (an IANA name is read too).
func (d dateTimeTimeZone) time() (time.Time, error) {
	loc := time.UTC
	if d.TimeZone != "" && !strings.EqualFold(d.TimeZone, "UTC") {
		l, err := time.LoadLocation(d.TimeZone)
		if err != nil {
			return time.Time{}, fmt.Errorf("time zone %q, though UTC was asked for", d.TimeZone)
		}
		loc = l
	}
	t, err := time.ParseInLocation("2006-01-02T15:04:05", d.DateTime, loc)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
