package mailmsg

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// Confirmation is how someone answered "is the service restored for you?".
type Confirmation string

const (
	Confirmed   Confirmation = "confirmed"    // it works for them
	StillBroken Confirmation = "still_broken" // it does not
	Ambiguous   Confirmation = "ambiguous"    // a person should read it
)

// answerSignals are the signals of one language. Each is matched in the
// normalised answer (normaliseAnswer: lower case, apostrophes unified,
// accents folded, so that "réparé" and "repare" are one word and Go's
// ASCII \b works for German, French and Spanish). Japanese has no spaces
// and no word boundaries, so its patterns are plain phrases; they are
// long enough (verb and ending) not to occur inside other words.
type answerSignals struct {
	// praise: phrases that look negative but are praise ("no more
	// errors", "keine Fehler mehr", "ne se produit plus", "ya no se
	// produce", "エラーが出なくなりました"), with the noun they negate;
	// replaced by " fine now " before anything else is looked at.
	praise *regexp.Regexp
	// negatedPositive: positive words under a negation ("not fixed",
	// "geht immer noch nicht", "ne marche toujours pas", "sigue sin
	// funcionar", "直っていません"); replaced by " broken ".
	negatedPositive *regexp.Regexp
	negative        *regexp.Regexp
	positive        *regexp.Regexp
	// hedge: the person is not sure, has not tried, or it is partly
	// working or slow. Any hedge makes the answer Ambiguous.
	hedge *regexp.Regexp
}

// answerLanguages: English first (its replacements " fine now " and
// " broken " are read by its own patterns), then German, French, Spanish,
// Japanese. Every language's patterns run on every answer: the language
// is not detected, so a pattern must not mean something else in another
// of the five (hence no bare Spanish "si", which is French "if").
var answerLanguages = []answerSignals{
	{ // English
		praise:          regexp.MustCompile(`\bno (more )?(problems?|issues?|errors?|complaints?)\b|\bnot (broken|down)( anymore| any more)?\b|\bno longer (broken|down|failing|seeing (it|the error|errors?|the problem))\b|\bnot (seeing|getting) (it|the error|errors?|the problem|the issue|any errors?) (anymore|any more|now)\b|\bno longer (an )?issue\b`),
		negatedPositive: regexp.MustCompile(`\b(not|isn't|isnt|aren't|arent|doesn't|doesnt|does not|don't|dont|do not|hasn't|hasnt|has not|haven't|havent|have not|won't|wont|can't|cant|cannot|never|nothing)( (yet|really|quite|fully|seem to|seems to|been|be|to be|is|it|be|working))* (fixed|restored|resolved|work|works|working|back|up|good|ok|okay|better|loading|load|connect|connecting)\b`),
		negative:        regexp.MustCompile(`^(no|nope|nah|negative)\b|\bstill (broken|down|failing|fails|not|no|erroring|getting|seeing|see|have|having|get|an issue|a problem|the same|same|timing out|unable|can't|cannot|dead|slow)\b|\bsame (error|problem|issue|thing|message)\b|\b(broken|down|failing|fails|failed|erroring|timing out|times out|outage|unreachable|unavailable)\b|\berror\b|\bno luck\b|\bnot yet\b|\bunable to\b|\bcan't (log|sign|connect|access|reach|get|open|load)\b|\bcannot (log|sign|connect|access|reach|get|open|load)\b|\bbut not\b|\bpersists?\b`),
		positive:        regexp.MustCompile(`^(yes|yep|yeah|yup|yea|y|ok|okay|confirmed|confirm|correct|affirmative|sure|indeed)\b|\b(works|working|restored|fixed|resolved|confirmed|back up|back online|back to normal|all good|looks good|all fine|fine now|ok now|okay now|good now|running again|up again|up and running|loads now|loading now|is back|it's back|its back|seems fine|seems ok|all clear|no problems|perfect|thanks, it works)\b|\bcan (log|sign) (in|on)\b|\bcan (connect|access it|reach it) (again|now)\b`),
		hedge:           regexp.MustCompile(`\b(partially|partly|mostly|sometimes|intermittent(ly)?|some of|slow|slower|sluggish|i think|i guess|maybe|not sure|unsure|don't know|dont know|can't tell|cant tell|no idea|haven't (checked|tried|tested)|havent (checked|tried|tested)|will (check|test|try)|let me (check|test|try)|not sure yet|hard to say|kind of|kinda|sort of|only (in|on|with|from|for|via))\b`),
	},
	{ // German (folded: ä→a, ö→o, ü→u, ß→ss)
		praise:          regexp.MustCompile(`\bkeine? (fehler|fehlermeldung(en)?|probleme?|storung(en)?|ausfalle?|beschwerden?)( mehr)?\b|\b((der|das|die|kein|keine) )?(fehler|problem|storung|fehlermeldung)\b( [^ .,!?;:]+){0,4} nicht mehr( (auf|vor|auftritt|auftreten|aufgetreten|vorkommt|reproduzierbar|zu sehen|sichtbar))?\b|\bnicht mehr (kaputt|down|gestort|defekt|reproduzierbar|auf|aufgetreten|vorhanden|sichtbar)\b`),
		negatedPositive: regexp.MustCompile(`\b(funktioniert|funktionieren|funktioniert's|geht|geht's|gehts|gehen|lauft|laufen|lauft's|klappt|klappen|klappt's|ladt|laden|lasst sich)( (es|das|sie|er|so|bei uns|bei mir|hier|immer|noch|leider|weiterhin|trotzdem|jetzt|aktuell|auch|aber|nach wie vor))* (immer )?(noch )?nicht\b|\b(nicht|nie|noch nicht|immer noch nicht|weiterhin nicht|kein|keine)( (mehr|wirklich|ganz|richtig|vollstandig|wieder))* (behoben|gelost|repariert|wiederhergestellt|funktionsfahig|erreichbar|gut|ok|okay|besser|moglich|anmelden|einloggen|bestellen|bezahlen|zahlen)\b|\bkann (mich )?(immer noch |noch immer |weiterhin |noch )?nicht\b|\bkonnen (immer noch |noch immer |weiterhin |noch )?(keine|nicht)\b`),
		negative:        regexp.MustCompile(`^(nein|nee|leider nein|leider nicht|negativ)\b|\b(immer noch|noch immer|weiterhin|nach wie vor|schon wieder|erneut) (kaputt|down|fehler|defekt|gestort|nicht|kein|keine|dasselbe|das gleiche|der gleiche|die gleiche|dieselbe|derselbe|offline)\b|\b(fehler|fehlern|fehlermeldung|kaputt|down|defekt|gestort|storung|ausfall|fehlgeschlagen|fehlerhaft|abgesturzt|timeout|nicht erreichbar|nicht moglich)\b|\b(schlagt|schlagen)( \S+){0,4} fehl\b|\b(gleiche|gleichen|selbe|selben) (fehler|problem|fehlermeldung)\b|\bdasselbe problem\b|\bnoch nicht\b|\bleider (nein|nicht)\b|\bimmer noch\b|\b(besteht|bestehen)( \S+)? (weiterhin|noch|immer noch|nach wie vor)\b|\bweiterhin (vorhanden|da|aktiv)\b|\bnicht( mehr)?([.,;!]|$)|\baber nicht (bei|fur|auf|in|im|mit|unter)\b|\b(geht|funktioniert|lauft|klappt)( \S+){0,4} (gar |uberhaupt )?nichts\b|\bgar nichts\b|\bnichts (geht|funktioniert|lauft|klappt)\b`),
		positive:        regexp.MustCompile(`^(ja|jawohl|jo|jep|jup|passt|bestatigt|bestatige)\b|\b(behoben|gelost|repariert|wiederhergestellt|erledigt|funktioniert|funktionieren)\b|\b(funktioniert's|lauft|laufen|lauft's|klappt|klappen|klappt's|geht|geht's|gehts|gehen)( (es|das|alles|bei uns|bei mir|hier|jetzt|nun))* (wieder|jetzt|nun|einwandfrei|problemlos|fehlerfrei|tadellos)\b|\b(kann|konnen)( ich| wir| man)? (jetzt |nun )?wieder\b|\b(bei uns|bei mir|hier) (funktioniert|lauft|klappt|geht)\b|\b(wieder|jetzt) (online|erreichbar|verfugbar|ok|okay|gut|in ordnung|normal)\b|\balles (wieder )?(gut|ok|okay|in ordnung|bestens|fein|normal)\b|\bsieht( \S+){0,3} gut aus\b|\b(kann|konnen) (ich |wir )?(das )?bestatigen\b|\bkommen( \S+)? (wieder )?durch\b|\bfine now\b`),
		hedge:           regexp.MustCompile(`\b(teilweise|zum teil|manchmal|ab und zu|sporadisch|meistens|langsam|langsamer|ich glaube|ich denke|glaube schon|vielleicht|wahrscheinlich|nicht sicher|keine ahnung|weiss nicht|weiss ich nicht|noch nicht (getestet|gepruft|probiert|ausprobiert|testen|prufen|nachgesehen)|(konnte|konnten) (es |das )?(noch )?nicht (testen|prufen|nachsehen)|melde mich|schaue? (ich )?(mal|nach)|manche|einige|nur (im|in|mit|bei|auf|unter|am|uber|per))\b`),
	},
	{ // French (folded: é→e, è→e, ç→c, ...)
		praise:          regexp.MustCompile(`\b(plus|pas|aucune?) (d'|de |d )?(erreurs?|problemes?|soucis?|bugs?|plaintes?)( depuis)?\b|\b((l'|le |la |les )(erreurs?|problemes?|soucis?|bugs?|panne))( [^ .,!?;:]+){0,3} (ne|n')\s?(se )?(produit|reproduit|apparait|manifeste|survient|est|a)? ?plus\b|\bn'(est|y a) plus (de )?(casse|en panne|probleme|erreur|bloque)\b`),
		negatedPositive: regexp.MustCompile(`\b(ne|n')\s?(me |nous |se |le |la |l')?(marche|marchent|fonctionne|fonctionnent|passe|passent|charge|chargent|est|sont|arrive|arrivons|arrivent|peux|pouvons|peut|peuvent|va|vont|repond)( (toujours|encore|plus|vraiment))? (pas|plus)( (encore|toujours|vraiment|completement))?( (repare|reparee|regle|reglee|resolu|resolue|corrige|corrigee|retabli|retablie|bon|ok|fonctionnel|operationnel))?\b|\b(toujours|encore) pas\b|\bpas (encore |toujours |vraiment |completement )?(repare|reparee|regle|reglee|resolu|resolue|corrige|corrigee|retabli|retablie|bon|ok|fonctionnel|operationnel)\b`),
		negative:        regexp.MustCompile(`^(non|nan|negatif|helas|malheureusement|pas encore)\b|\b(toujours|encore|de nouveau|a nouveau) (casse|cassee|en panne|en erreur|des erreurs|la meme|le meme|bloque|down|hs|indisponible|inaccessible|plante|ko)\b|\b(erreur|erreurs|en panne|casse|cassee|plante|echoue|echouent|echec|echecs|bloque|bloquee|hs|indisponible|inaccessible|revenue?|revient|reproduit|ko)\b|\bmeme (erreur|probleme|souci|bug)\b|\b(malheureusement|helas) (non|pas)\b|\bpas encore\b|\btoujours (le|la|les) (meme|memes)\b|\bmais pas (en|pour|sur|chez|dans|avec|depuis)\b|\bpersistent?\b|\btoujours (present|presente|la)\b`),
		positive:        regexp.MustCompile(`^(oui|ouais|ok|okay|d'accord|parfait|c'est bon|confirme|je confirme)\b|\b(repare|reparee|regle|reglee|resolu|resolue|corrige|corrigee|retabli|retablie|fonctionnel|operationnel)\b|\b(ca|cela|tout) (re)?(marche|fonctionne)\b|\b(fonctionne|fonctionnent|marche|marchent)( \S+){0,2} (de nouveau|a nouveau|maintenant|normalement|correctement|bien)\b|\b(refonctionne|refonctionnent|remarche|remarchent)\b|\bc'est bon\b|\btout est (ok|bon|en ordre)\b|\brentre dans l'ordre\b|\bde nouveau (en ligne|disponible|accessible|operationnel)\b|\b(je|nous) (vous )?(confirme|confirmons)\b|\bles (commandes|paiements) passent\b|\b(c'est|tout est|c'est de nouveau) (ok|okay)\b|\bok maintenant\b|\b(nickel|impeccable|parfait)\b|\b(on|je|nous|ils) (peut|peux|pouvons|peuvent) (de nouveau|a nouveau|maintenant|enfin)\b`),
		hedge:           regexp.MustCompile(`\b(partiellement|en partie|parfois|de temps en temps|par moments|intermittent|intermittente|lent|lente|lents|ralenti|je pense|je crois|peut-etre|pas sur|pas certain|pas certaine|aucune idee|je ne sais pas|pas encore (pu )?(teste|tester|verifie|verifier|essaye|essayer)|je (vous )?redis|je regarde|certaines|certains|d'autres non|(seulement|uniquement) (sur|avec|dans|en|pour|depuis|via))\b`),
	},
	{ // Spanish (folded: á→a, é→e, í→i, ó→o, ú→u, ñ→n)
		praise:          regexp.MustCompile(`\bno (hay|tenemos|vemos|tengo|veo) (mas |ningun |ninguna |)(error(es)?|problemas?|fallos?|incidencias?|quejas?)( mas)?\b|\bsin (errores|problemas|fallos|incidencias)\b|\bningun (error|problema|fallo)\b|\b(el |los |la |las )(error(es)?|problemas?|fallos?|incidencias?)( [^ .,!?;:]+){0,3} ya no (se )?(produce|producen|reproduce|aparece|aparecen|sale|salen|ocurre|ocurren|da|dan)\b|\bya no (hay|da|dan|sale|salen) (error(es)?|problemas?|fallos?)\b`),
		negatedPositive: regexp.MustCompile(`\b(no|nada|todavia no|aun no|sin)( (me|nos|le|les|se|lo|la|esta|estan|ha|han|hemos|he|puedo|podemos|puede|pueden|poder|ya|todavia|aun|del todo|completamente|bien))* (funciona|funcionan|funcionar|va|van|carga|cargan|cargar|arreglado|arreglada|resuelto|resuelta|solucionado|solucionada|restablecido|restablecida|entrar|acceder|pagar|conectar|hacer)\b`),
		negative:        regexp.MustCompile(`^(no|nop|negativo|pues no|lamentablemente|por desgracia|todavia no|aun no)\b|\b(sigue|siguen|seguimos|sigo) (sin|fallando|caido|caida|dando|igual|mal|roto|rota|con)\b|\b(error|errores|caido|caida|roto|rota|falla|fallan|fallando|fallido|fallidos|fallida|fallidas|colgado|inaccesible|no disponible)\b|\b(mismo|misma) (error|problema|fallo)\b|\b(vuelve|vuelven|ha vuelto|han vuelto|se ha vuelto|se han vuelto) a (fallar|pasar|dar|salir|caer|aparecer|ocurrir)\b|\bde nuevo (caido|caida|roto|rota|con errores)\b|\b(lamentablemente|por desgracia) no\b|\btodavia no\b|\baun no\b|\bpero no (en|para|desde|con|a)\b|\bpersisten?\b`),
		positive:        regexp.MustCompile(`^(si|vale|correcto|confirmado|confirmo|perfecto|afirmativo)([,.!]|$| ya\b| todo\b| funciona)|\b(funciona|funcionan|arreglado|arreglada|resuelto|resuelta|solucionado|solucionada|restablecido|restablecida|operativo|operativa)\b|\bya (funciona|va|esta|carga|anda|entra|entran|podemos|puedo)\b|\b(vuelve|vuelven) a (funcionar|ir|estar operativo|cargar)\b|\b(normalidad|todo bien|todo correcto|todo ok|va bien|funciona bien)\b|\b(confirmo|confirmamos|os confirmo|le confirmo|les confirmamos)\b|\btodo (en orden|normal|perfecto)\b|\b(podemos|puedo|pueden|puede) (volver a|de nuevo|otra vez)\b`),
		hedge:           regexp.MustCompile(`\b(parcialmente|en parte|a veces|de vez en cuando|intermitente|lento|lenta|creo que|supongo|quizas|quiza|tal vez|no estoy seguro|no estoy segura|ni idea|no se( si| que|[,.!?]|$)|(todavia|aun) no (he|hemos) (podido )?(probar|probado|comprobar|comprobado|mirar|mirado|verificar)|os digo|te digo|le digo|algunos|algunas|otros no|\b(solo|solamente|unicamente)( [^ .,!?;:]+)? (en|con|desde|para|por)\b)`),
	},
	{ // Japanese: no spaces and no \b; "、" "。" "？" "！" are normalised to ", " ". " "?" "!".
		praise:          regexp.MustCompile(`(エラー|問題|不具合|症状|障害)(が|は|も)?(発生|出|起き|再現)(しなくなり|しなくなっ|なくなり|なくなっ|ていません|ていない|ません|しません|していません|しておりません)|(問題|不具合|エラー)(は|も)?(ありません|ございません|ない|なく|無く|なし)|(再現|発生)(しなくなり|しなくなっ|しておりません|していません)`),
		negatedPositive: regexp.MustCompile(`(直|治)(っていません|っていない|ってない|っておりません|らない|りません)|(解決|解消|復旧|改善)(していません|していない|してない|しません|されていません|されていない|されてない|されません|しておりません)|(動|うご)(きません|かない|いていません|いてない|いていない)|(使え|でき|つなが|繋が|表示され|開け|読み込め|ログインでき|アクセスでき|接続でき)(ません|ない)|正常(ではありません|ではない|じゃない|に(動|動作)(しません|していません))`),
		negative:        regexp.MustCompile(`^(いいえ|いや,|だめ|ダメ)|まだ|未だ|相変わらず|依然|再び|再発|またエラー|また同じ|また落ち|残念ながら|同じ(エラー|問題|現象|症状)|エラー|失敗|落ちて|ダメ|駄目|不具合|障害|できない|できません`),
		positive:        regexp.MustCompile(`^(はい|ええ|ok|大丈夫)|直りました|直った|直っています|治りました|解決しました|解決済|解決しています|解消しました|解消されました|解消されています|解消しています|復旧しました|復旧しています|復旧を確認|正常に(動|戻|な|使|表示|機能)|問題なく|大丈夫|動きました|動いています|動きます|動くようになり|使えるようになり|できるようになり|動作(を)?確認|正常(です|でした|を確認|に戻)|fine now`),
		hedge:           regexp.MustCompile(`まだ(確認|試|テスト|検証|見て)|確認(中|します|いたします|してみます)|わかりません|分かりません|不明|たぶん|多分|おそらく|かもしれ|と思います|と思う|一部|ときどき|時々|たまに|遅い|重い|(とき|時|場合|こと)(が|も)あ|だけ|のみ`),
	},
}

// greetingRE: a salutation at the start ("Hallo Team,", "Bonjour,",
// "Hola:", "お世話になっております。"), taken off so that the answer
// that follows it counts as the start ("Hallo, nein, leider nicht.").
var greetingRE = regexp.MustCompile(`^((hi|hello|hey|dear|hallo|guten tag|guten morgen|moin|servus|liebe|lieber|sehr geehrte|sehr geehrter|bonjour|salut|madame|monsieur|hola|buenas|buenos dias|estimado|estimada|estimados|estimadas)( [^ ,.:;!?]{1,30}){0,4} ?[,.:;!]|(お世話になっております|お疲れ様です|ご担当者様|各位)[,.:! ]?) ?`)

// ClassifyConfirmation reads a short answer to "is the service restored
// for you?", in English, German, French, Spanish or Japanese. It decides
// only when the answer is clear; a mix of signals, a hedge or a question
// is Ambiguous, so that a person reads it. "Yes, it is still broken" is
// StillBroken: the negative detail outweighs the polite "yes", and a
// wrong Confirmed would close an incident early.
func ClassifyConfirmation(newText string) Confirmation {
	s := normaliseAnswer(newText)
	for range 2 { // "Madame, Monsieur,"
		// "Hey it works now," is an answer, not a salutation: the span
		// goes only if it holds no signal.
		if g := greetingRE.FindString(s); g != "" && !anySignal(g) {
			s = strings.TrimSpace(s[len(g):])
		}
	}
	if s == "" {
		return Ambiguous
	}
	for _, l := range answerLanguages {
		if l.hedge.MatchString(s) {
			return Ambiguous
		}
	}

	praise := false
	for _, l := range answerLanguages {
		praise = praise || l.praise.MatchString(s)
		s = l.praise.ReplaceAllString(s, " fine now ")
	}
	negated := false
	for _, l := range answerLanguages {
		negated = negated || l.negatedPositive.MatchString(s)
		s = l.negatedPositive.ReplaceAllString(s, " broken ")
	}
	neg := negated || anyMatch(s, func(l answerSignals) *regexp.Regexp { return l.negative })
	pos := praise || anyMatch(s, func(l answerSignals) *regexp.Regexp { return l.positive })

	// A question back ("is it supposed to work now?") is not an answer,
	// and a failure named inside a question ("who refunds the failed
	// payments?") is not a report: it counts only outside the questions.
	if strings.Contains(s, "?") {
		stated := withoutQuestions(s)
		neg = anyMatch(stated, func(l answerSignals) *regexp.Regexp { return l.negatedPositive }) ||
			strings.Contains(stated, " broken ") ||
			anyMatch(stated, func(l answerSignals) *regexp.Regexp { return l.negative })
		if !neg {
			return Ambiguous
		}
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

func anySignal(s string) bool {
	for _, l := range answerLanguages {
		for _, re := range []*regexp.Regexp{l.praise, l.negatedPositive, l.negative, l.positive, l.hedge} {
			if re.MatchString(s) {
				return true
			}
		}
	}
	return false
}

func anyMatch(s string, re func(answerSignals) *regexp.Regexp) bool {
	for _, l := range answerLanguages {
		if re(l).MatchString(s) {
			return true
		}
	}
	return false
}

// withoutQuestions drops the sentences that end in "?" (one pass, so
// linear in s).
func withoutQuestions(s string) string {
	var b strings.Builder
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '.', '!', '?':
			if s[i] != '?' {
				b.WriteString(s[start : i+1])
			}
			start = i + 1
		}
	}
	b.WriteString(s[start:])
	return b.String()
}

// bareAgreementRE: the only positive signal is a leading "yes"-like word,
// as in "yes it's still broken", "ja, immer noch Fehler", "oui, toujours
// en panne", "はい、まだエラーが出ます". Then the rest of the sentence
// carries the meaning.
var bareAgreementRE = regexp.MustCompile(`^((yes|yep|yeah|yup|yea|y|ok|okay|sure|ja|jep|jup|oui|ouais|si|vale)\b|はい|ええ)`)

func bareAgreement(s string) bool {
	if !bareAgreementRE.MatchString(s) {
		return false
	}
	rest := strings.TrimLeft(bareAgreementRE.ReplaceAllString(s, ""), " ,.!-")
	return !anyMatch(rest, func(l answerSignals) *regexp.Regexp { return l.positive })
}

// answerFolder lower-cases nothing itself; it folds what the patterns do
// not spell: typographic apostrophes, the accents of German, French and
// Spanish (people type "repare" and "funciono" on phones, and Go's \b
// is ASCII), and Japanese full-width punctuation and spaces.
var answerFolder = strings.NewReplacer(
	"\u2019", "'", "\u2018", "'", "`", "'",
	"ä", "a", "ö", "o", "ü", "u", "ß", "ss",
	"à", "a", "â", "a", "á", "a", "æ", "ae", "ç", "c", "é", "e", "è", "e", "ê", "e", "ë", "e",
	"î", "i", "ï", "i", "í", "i", "ô", "o", "ó", "o", "œ", "oe", "ù", "u", "û", "u", "ú", "u", "ÿ", "y", "ñ", "n",
	"¿", " ", "¡", " ",
	"、", ", ", "。", ". ", "？", "?", "！", "!", "：", ":", "\u3000", " ", "\u00a0", " ", "\u202f", " ",
	"ｏｋ", "ok",
)

// normaliseAnswer lower-cases, folds (answerFolder), unifies white space,
// and keeps the first 500 bytes (cut on a character boundary): the answer
// is at the top, a sign-off or a long story below it should not outvote
// it.
func normaliseAnswer(s string) string {
	if len(s) > 4000 {
		s = s[:4000] // only the top is read; bound the work before folding
	}
	s = answerFolder.Replace(strings.ToLower(s))
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 500 {
		cut := 500
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return strings.TrimSpace(s)
}
