package mailmsg

import (
	"regexp"
	"strings"
)

// Confirmation is how someone answered "is the service restored for you?".
type Confirmation string

const (
	Confirmed   Confirmation = "confirmed"    // it works for them
	StillBroken Confirmation = "still_broken" // it does not
	Ambiguous   Confirmation = "ambiguous"    // a person should read it
)

// The signals, in English. Each is matched on word boundaries in the
// lower-cased answer with apostrophes normalised.
var (
	// Phrases that look negative but are praise; removed before anything
	// else is looked at ("no problems", "no more errors").
	negatedNegativeRE = regexp.MustCompile(`\bno (more )?(problems?|issues?|errors?|complaints?)\b|\bnot (broken|down)( anymore| any more)?\b|\bno longer (broken|down|failing|seeing (it|the error|errors?|the problem))\b|\bnot (seeing|getting) (it|the error|errors?|the problem|the issue|any errors?) (anymore|any more|now)\b|\bno longer (an )?issue\b`)
	// Positive words under a negation: "not fixed", "doesn't work",
	// "isn't restored", "not working", "never came back".
	negatedPositiveRE = regexp.MustCompile(`\b(not|isn't|isnt|aren't|arent|doesn't|doesnt|does not|don't|dont|do not|hasn't|hasnt|has not|haven't|havent|have not|won't|wont|can't|cant|cannot|never|nothing)( (yet|really|quite|fully|seem to|seems to|been|be|to be|is|it|be|working))* (fixed|restored|resolved|work|works|working|back|up|good|ok|okay|better|loading|load|connect|connecting)\b`)
	negativeRE        = regexp.MustCompile(`^(no|nope|nah|negative)\b|\bstill (broken|down|failing|fails|not|no|erroring|getting|seeing|see|have|having|get|an issue|a problem|the same|same|timing out|unable|can't|cannot|dead|slow)\b|\bsame (error|problem|issue|thing|message)\b|\b(broken|down|failing|fails|failed|erroring|timing out|times out|outage|unreachable|unavailable)\b|\berror\b|\bno luck\b|\bnot yet\b|\bunable to\b|\bcan't (log|sign|connect|access|reach|get|open|load)\b|\bcannot (log|sign|connect|access|reach|get|open|load)\b`)
	positiveRE        = regexp.MustCompile(`^(yes|yep|yeah|yup|yea|y|ok|okay|confirmed|confirm|correct|affirmative|sure|indeed)\b|\b(works|working|restored|fixed|resolved|confirmed|back up|back online|back to normal|all good|looks good|all fine|fine now|ok now|okay now|good now|running again|up again|up and running|loads now|loading now|is back|it's back|its back|seems fine|seems ok|all clear|no problems|perfect|thanks, it works)\b|\bcan (log|sign) (in|on)\b|\bcan (connect|access it|reach it) (again|now)\b`)
	// Hedges: the person is not sure, or it is partly working.
	hedgeRE = regexp.MustCompile(`\b(partially|partly|mostly|sometimes|intermittent(ly)?|some of|slow|slower|sluggish|i think|i guess|maybe|not sure|unsure|don't know|dont know|can't tell|cant tell|no idea|haven't (checked|tried|tested)|havent (checked|tried|tested)|will (check|test|try)|let me (check|test|try)|not sure yet|hard to say|kind of|kinda|sort of)\b`)
)

// ClassifyConfirmation reads a short answer to "is the service restored
// for you?". It decides only when the answer is clear; a mix of signals,
// a hedge or a question is Ambiguous, so that a person reads it. "Yes, it
// is still broken" is StillBroken: the negative detail outweighs the
// polite "yes", and a wrong Confirmed would close an incident early.
func ClassifyConfirmation(newText string) Confirmation {
	s := normaliseAnswer(newText)
	if s == "" {
		return Ambiguous
	}
	if hedgeRE.MatchString(s) {
		return Ambiguous
	}

	praise := negatedNegativeRE.MatchString(s)
	s = negatedNegativeRE.ReplaceAllString(s, " fine now ")
	negated := negatedPositiveRE.MatchString(s)
	s = negatedPositiveRE.ReplaceAllString(s, " broken ")

	neg := negated || negativeRE.MatchString(s)
	pos := praise || positiveRE.MatchString(s)

	// A question back ("is it supposed to work now?") is not an answer,
	// unless it also reports a failure.
	if strings.Contains(s, "?") && !neg {
		return Ambiguous
	}
	switch {
	case neg && !pos:
		return StillBroken
	case pos && !neg:
		return Confirmed
	case neg && pos && bareAgreement(s):
		return StillBroken
	}
	return Ambiguous
}

// bareAgreementRE: the only positive signal is a leading "yes"-like word,
// as in "yes it's still broken". Then the rest of the sentence carries the
// meaning.
var bareAgreementRE = regexp.MustCompile(`^(yes|yep|yeah|yup|yea|y|ok|okay|sure)\b`)

func bareAgreement(s string) bool {
	if !bareAgreementRE.MatchString(s) {
		return false
	}
	rest := bareAgreementRE.ReplaceAllString(s, "")
	return !positiveRE.MatchString(strings.TrimLeft(rest, " ,.!-"))
}

// normaliseAnswer lower-cases, unifies apostrophes and white space, and
// keeps the first 500 bytes: the answer is at the top, a sign-off or a
// long story below it should not outvote it.
func normaliseAnswer(s string) string {
	s = strings.ToLower(s)
	s = strings.NewReplacer("\u2019", "'", "\u2018", "'", "`", "'").Replace(s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 500 {
		s = s[:500]
	}
	return strings.TrimSpace(s)
}
