package mailmsg

import (
	"regexp"
	"strings"
)

// ExtractReply returns the new part of a reply: the text with the quoted
// history and the signature removed. It works on plain text (the
// text/plain part, or HTML rendered as text, where blockquotes become
// "> " lines).
//
// The heuristic, line by line from the top:
//
//   - A line quoted with ">" is history and is dropped.
//   - An attribution line ("On <date>, <name> wrote:", and its German,
//     French, Spanish and Japanese forms, possibly wrapped over two lines)
//     is dropped.
//     If ">" lines follow it, the reply may be inline (answers between the
//     quoted lines), so unquoted lines after the quote are kept. If
//     unquoted text follows it, that text is history rendered without
//     quote marks, and everything from the attribution on is dropped.
//   - An Outlook separator ("-----Original Message-----" and its
//     translations, a forwarded-message line, or a "From:" line followed by
//     "Sent:"/"Date:" within a few lines, optionally under a line of
//     underscores) starts unquoted history: everything from there on is
//     dropped. Outlook's history cannot hold an inline answer we could tell
//     apart, so none is looked for.
//   - A signature, the RFC 3676 4.3 "-- " line or a mobile client's "Sent
//     from my iPhone" and the like, is dropped with the lines after it, up
//     to the next quoted line (an inline reply may sign in the middle).
//
// The result keeps the input's lines (trailing white space trimmed), with
// runs of blank lines collapsed to one and no blank lines at either end.
// It never adds text, so every line of the result is a line of the input.
func ExtractReply(text string) string {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	// probe holds the lines as the patterns read them (spaceFolder); the
	// result is made of lines, so that it never holds a changed line.
	probe := make([]string, len(lines))
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " \t\r")
		probe[i] = spaceFolder.Replace(lines[i])
	}

	var kept []string
	inSignature := false // after a signature, until the next quote
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		trimmed := strings.TrimSpace(probe[i])

		if isQuoted(trimmed) {
			inSignature = false
			continue
		}
		if n := attributionLines(probe, i); n > 0 {
			next := nextNonBlank(probe, i+n)
			if next < 0 || isQuoted(strings.TrimSpace(probe[next])) {
				// Quoted history follows: skip the attribution and go on,
				// keeping any inline answers after the quote.
				i += n - 1
				continue
			}
			break // unquoted history follows
		}
		if isOutlookSeparator(probe, i) {
			break
		}
		if isSignatureStart(trimmed) {
			inSignature = true
			continue
		}
		if inSignature {
			continue
		}
		if trimmed == "" {
			if len(kept) > 0 && kept[len(kept)-1] != "" {
				kept = append(kept, "")
			}
			continue
		}
		kept = append(kept, line)
	}

	for len(kept) > 0 && kept[len(kept)-1] == "" {
		kept = kept[:len(kept)-1]
	}
	return strings.Join(kept, "\n")
}

func isQuoted(trimmed string) bool { return strings.HasPrefix(trimmed, ">") }

// spaceFolder turns the spaces and colons that clients write in other
// languages into the ASCII ones the patterns spell: French puts a
// no-break space (U+00A0, or U+202F) before ":", Japanese text has
// full-width spaces and colons (U+3000, U+FF1A). Go's \s is ASCII only.
var spaceFolder = strings.NewReplacer("\u00a0", " ", "\u202f", " ", "\u3000", " ", "\uff1a", ":")

func nextNonBlank(lines []string, from int) int {
	for j := from; j < len(lines); j++ {
		if strings.TrimSpace(lines[j]) != "" {
			return j
		}
	}
	return -1
}

// attributionRE matches the line a client writes above the quote. Gmail:
// "On Tue, 24 Nov 2026 at 14:02, Alice <a@x> wrote:"; Apple Mail: "On 24
// Nov 2026, at 14:02, Alice <a@x> wrote:"; Thunderbird: "On 24/11/2026
// 14:02, Alice wrote:"; German "Am ... schrieb Alice <a@x>:" (Gmail, Apple,
// Thunderbird alike); French "Le ... a écrit :"; Spanish "El ... escribió:".
// Japanese starts with the date: Gmail "2026年3月3日(火) 15:30 Alice
// <a@x>:" (a date, a clock time and an address: a sentence that starts
// with a date and ends in ":" has no "<...@...>"), Thunderbird
// "2026/03/03 15:30 に Alice さんは書きました:", Apple Mail "2026/03/03
// 15:30、Alice <a@x>のメール:".
// The Japanese forms are a regexp of their own, chosen by the line's
// first byte: each line that starts like an attribution is matched, and
// the smaller program keeps that cheap.
var (
	attributionRE = regexp.MustCompile(`(?i)^(` +
		`on\s.{1,200}\swrote\s?:` +
		`|am\s.{1,200}\sschrieb\s?.{0,200}:` +
		`|le\s.{1,200}\sa\s+écrit\s?:` +
		`|el\s.{1,200}\sescribió\s?:` +
		`)$`)
	attributionJaRE = regexp.MustCompile(`(?i)^(` +
		`\d{4}年\d{1,2}月\d{1,2}日.{0,20}\d{1,2}:\d{2}.{1,200}<\s?[^<>\s]{1,200}@[^<>\s]{1,200}>\s?:` +
		`|\d{4}/\d{1,2}/\d{1,2}.{1,200}(さんは書きました|のメール|wrote)\s?:` +
		`)$`)
)

func isAttribution(s string) bool {
	if !strings.HasSuffix(s, ":") {
		return false // every form ends so; most lines are passed over here
	}
	if s[0] >= '0' && s[0] <= '9' {
		return attributionJaRE.MatchString(s)
	}
	return attributionRE.MatchString(s)
}

var attributionStartRE = regexp.MustCompile(`(?i)^((on|am|le|el)\s|\d{4}[年/])`)

// attributionLines reports how many lines (1 or 2) form an attribution
// starting at lines[i], or 0. Gmail wraps long attributions, often inside
// the "<address>".
func attributionLines(lines []string, i int) int {
	first := strings.TrimSpace(lines[i])
	if !attributionStartRE.MatchString(first) {
		return 0
	}
	if isAttribution(first) {
		return 1
	}
	if i+1 < len(lines) {
		second := strings.TrimSpace(lines[i+1])
		// The second line must not be an attribution on its own: then the
		// first is the reply's last line ("On my side it works.").
		if second != "" && !isQuoted(second) && !isAttribution(second) && isAttribution(first+" "+second) {
			return 2
		}
	}
	return 0
}

var (
	// "-----Original Message-----" in Outlook's languages, and the
	// forwarded-message separators of Gmail, Outlook and Apple Mail.
	// Thunderbird writes "-------- Original Message --------" and its
	// translations ("Message original", "元のメッセージ"); Apple Mail
	// "Begin forwarded message:" and its translations.
	originalMessageRE = regexp.MustCompile(`(?i)^-{2,}\s*(original message|ursprüngliche nachricht|message d'origine|message original|mensaje original|forwarded message|weitergeleitete nachricht|message transféré|mensaje reenviado|元のメッセージ|転送メッセージ)\s*-{2,}$|^(begin forwarded message|anfang der weitergeleiteten nachricht|début du message réexpédié|inicio del mensaje reenviado|転送されたメッセージ)\s?:$`)
	underscoreRE      = regexp.MustCompile(`^_{20,}$`)
	// Outlook's header block: "From:" then "Sent:" (desktop) or "Date:"
	// (web, Mac), in English, German, French, Spanish, Japanese (and
	// Italian, Dutch). Spanish desktop Outlook writes "Enviado el:",
	// Japanese "差出人:" then "送信日時:".
	// html2text renders the bold labels as "*From:*", so asterisks are allowed.
	outlookFromRE = regexp.MustCompile(`(?i)^\**\s*(from|von|de|da|van|差出人|送信者)\s*:\**\s*\S`)
	outlookSentRE = regexp.MustCompile(`(?i)^\**\s*(sent|date|gesendet|datum|envoyé|envoyé le|date d'envoi|enviado|enviado el|fecha|inviato|verzonden|送信日時|日時|日付)\s*:\**\s*\S`)
)

// isOutlookSeparator reports whether unquoted history starts at lines[i].
func isOutlookSeparator(lines []string, i int) bool {
	t := strings.TrimSpace(lines[i])
	if originalMessageRE.MatchString(t) {
		return true
	}
	if underscoreRE.MatchString(t) {
		j := nextNonBlank(lines, i+1)
		return j >= 0 && j <= i+3 && outlookFromRE.MatchString(strings.TrimSpace(lines[j])) && hasSentLine(lines, j)
	}
	return outlookFromRE.MatchString(t) && hasSentLine(lines, i)
}

// hasSentLine looks for the "Sent:" of a header block within the four
// lines after its "From:" (the From line may wrap once).
func hasSentLine(lines []string, from int) bool {
	for j := from + 1; j < len(lines) && j <= from+4; j++ {
		if outlookSentRE.MatchString(strings.TrimSpace(lines[j])) {
			return true
		}
	}
	return false
}

// mobileSignatureRE matches the one-line signatures mobile clients add.
// Japanese: "iPhoneから送信", "Outlook for iOS を入手".
var mobileSignatureRE = regexp.MustCompile(`(?i)^(sent from my \S+|sent from (mail|outlook) for \S+|sent from outlook|sent from yahoo mail|get outlook for (ios|android)|von meinem \S+ gesendet|gesendet von meinem \S+|von outlook für (ios|android) gesendet|envoyé de mon \S+|envoyé à partir de outlook pour (ios|android)|obtenir outlook pour (ios|android)|enviado desde mi \S+|obtener outlook para (ios|android)|[^\s<>]{1,30}から送信|outlook for (ios|android) を入手)([\s<].*)?$`)

func isSignatureStart(trimmed string) bool {
	// RFC 3676 4.3: the signature delimiter is "-- ". Many clients and
	// html2text drop the trailing space, so "--" alone counts too.
	return trimmed == "--" || mobileSignatureRE.MatchString(trimmed)
}
