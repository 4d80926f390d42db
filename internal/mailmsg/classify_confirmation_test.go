package mailmsg

import "testing"

func TestClassifyConfirmation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Confirmation
	}{
		// Confirmed
		{"yes", Confirmed},
		{"Yes!", Confirmed},
		{"Yes, restored.", Confirmed},
		{"yep", Confirmed},
		{"Works now, thanks!", Confirmed},
		{"All good here.", Confirmed},
		{"Confirmed", Confirmed},
		{"It's back up, thank you", Confirmed},
		{"Looks good from our side.", Confirmed},
		{"Fixed for us. Thanks for the quick work.", Confirmed},
		{"No problems anymore, thanks", Confirmed},
		{"No more errors since 15:10.", Confirmed},
		{"We can log in again.", Confirmed},
		{"Checkout is working again", Confirmed},
		{"Not seeing the error anymore", Confirmed},
		{"Yes it\u2019s working", Confirmed},
		// StillBroken
		{"no", StillBroken},
		{"No.", StillBroken},
		{"Nope, same error.", StillBroken},
		{"Still broken", StillBroken},
		{"still down for us", StillBroken},
		{"Not working", StillBroken},
		{"It doesn't work", StillBroken},
		{"Not fixed yet", StillBroken},
		{"the app still shows the same error", StillBroken},
		{"Still getting 502s on checkout", StillBroken},
		{"Isn't restored for us", StillBroken},
		{"we cannot log in", StillBroken},
		{"Login fails with error 500", StillBroken},
		{"Nothing works", StillBroken},
		// "yes" followed by a failure: never Confirmed
		{"yes it's still broken", StillBroken},
		{"Yes, still down", StillBroken},
		// Ambiguous
		{"", Ambiguous},
		{"Thanks for the update", Ambiguous},
		{"Mostly working, some pages are slow", Ambiguous},
		{"I think so", Ambiguous},
		{"Not sure, will check tomorrow", Ambiguous},
		{"Is it supposed to be fixed?", Ambiguous},
		{"Works on desktop but mobile still fails", Ambiguous},
		{"No, it works now", Ambiguous},
		{"Who should I ask about the invoice?", Ambiguous},
	}
	for _, tt := range tests {
		if got := ClassifyConfirmation(tt.in); got != tt.want {
			t.Errorf("ClassifyConfirmation(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestClassifyConfirmationLanguages: the answers of issue 18 and the
// traps of each language (negation, "still", "again", mixed signals,
// questions). The labelled set (TestReplyLabelledSet) measures; this
// table pins the rules.
func TestClassifyConfirmationLanguages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Confirmation
	}{
		// German
		{"Nein, es geht immer noch nicht. Die Bestellseite zeigt weiterhin Fehler 500.", StillBroken},
		{"Ja, funktioniert wieder", Confirmed},
		{"Ja", Confirmed},
		{"Geht wieder, danke!", Confirmed},
		{"Läuft wieder.", Confirmed},
		{"Keine Fehler mehr seit 15:10.", Confirmed},
		{"Der Fehler tritt bei uns nicht mehr auf.", Confirmed},
		{"Funktioniert nicht.", StillBroken},
		{"Ist nicht behoben.", StillBroken},
		{"Noch nicht.", StillBroken},
		{"Leider nein.", StillBroken},
		{"Hallo, nein, leider nicht.", StillBroken},
		{"Ja, immer noch Fehler 500", StillBroken},
		{"Ja, aber es ist immer noch langsam", Ambiguous},
		{"Nein, jetzt geht es wieder", Ambiguous},
		// "Nothing works any more" after a moment it worked: never fixed;
		// mixed, it goes to the leads with the words
		// (the one reply of the fresh held-back set that came out fixed
		// when it was still broken).
		{"Hat nach Ihrer Mail kurz funktioniert, jetzt geht wieder gar nichts mehr.", Ambiguous},
		{"Nichts geht mehr.", StillBroken},
		{"Bei uns funktioniert es, bei den Kollegen in Wien nicht.", Ambiguous},
		{"Weiß ich nicht, ich frage mal nach.", Ambiguous},
		{"Ist es jetzt behoben?", Ambiguous},
		{"Wer erstattet die fehlgeschlagenen Zahlungen?", Ambiguous},
		{"Geht immer noch nicht. Wann kommt der Fix?", StillBroken},
		// French
		{"Non, c'est toujours cassé", StillBroken},
		{"Oui, c'est réparé", Confirmed},
		{"oui c'est repare", Confirmed},
		{"Ça marche à nouveau, merci.", Confirmed},
		{"Plus d'erreur depuis 15h10.", Confirmed},
		{"Ça ne marche pas.", StillBroken},
		{"Ce n'est pas encore réglé.", StillBroken},
		{"Toujours pas.", StillBroken},
		{"Oui, toujours en panne", StillBroken},
		{"Non, ça fonctionne maintenant", Ambiguous},
		{"Oui, mais c'est lent", Ambiguous},
		{"Je ne sais pas encore.", Ambiguous},
		{"C'est réparé ?", Ambiguous},
		// Spanish
		{"Sí, ya funciona", Confirmed},
		{"Sí", Confirmed},
		{"Si, ya va", Confirmed},
		{"Ya no hay errores.", Confirmed},
		{"No funciona.", StillBroken},
		{"Sigue sin funcionar", StillBroken},
		{"Todavía no.", StillBroken},
		{"Sí, pero sigue fallando en el móvil", StillBroken},
		{"Sí, pero a veces va lento", Ambiguous},
		{"No sé.", Ambiguous},
		{"¿Ya está arreglado?", Ambiguous},
		{"Si el problema vuelve, os aviso.", Ambiguous},
		// Japanese
		{"はい、直りました", Confirmed},
		{"解決しました", Confirmed},
		{"問題ありません。", Confirmed},
		{"エラーが出なくなりました。", Confirmed},
		{"いいえ、まだ直っていません", StillBroken},
		{"まだエラーが出ます", StillBroken},
		{"直っていないようです。", StillBroken},
		{"はい、でもまだ遅いです。", Ambiguous},
		{"一部の画面でまだエラーが出ます。", Ambiguous},
		{"まだ確認していません。", Ambiguous},
		{"直りましたか？", Ambiguous},
		{"PCでは動きますが、スマホでは動きません。", Ambiguous},
		{"Jetzt geht's wieder.", Confirmed},
		{"Wir können wieder bestellen, danke!", Confirmed},
		{"Nicht mehr reproduzierbar.", Confirmed},
		{"Das Problem besteht weiterhin.", StillBroken},
		{"Funktioniert nur im Firefox", Ambiguous},
		{"Le problème persiste.", StillBroken},
		{"On peut de nouveau passer commande.", Confirmed},
		{"Ça marche seulement sur Chrome", Ambiguous},
		{"El problema persiste.", StillBroken},
		{"Sólo funciona en Chrome", Ambiguous},
		{"Ya no funciona", StillBroken},
		{"正常です。", Confirmed},
		{"再現しなくなりました。", Confirmed},
		{"Chromeだけ動きます", Ambiguous},
		{"直りましたが、また落ちました", Ambiguous},
		// Salutations are skipped, unless they hold the answer.
		{"Hallo zusammen, läuft wieder.", Confirmed},
		{"Hey it works now, thanks", Confirmed},
		// English additions
		{"Works only in Firefox", Ambiguous},
		{"Works for me, but not for my colleague in Vienna.", Ambiguous},
		{"Who should I contact about the failed payments?", Ambiguous},
		{"Hi, no, still down.", StillBroken},
	}
	for _, tt := range tests {
		if got := ClassifyConfirmation(tt.in); got != tt.want {
			t.Errorf("ClassifyConfirmation(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
