package mailmsg

import (
	"reflect"
	"testing"
	"time"
)

func TestParseCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want Command
	}{
		{"empty", "", Command{Kind: CommandNone}},
		{"blank lines", "\n  \n\t\n", Command{Kind: CommandNone}},
		{"hold", "hold", Command{Kind: CommandHold}},
		{"hold 30m", "hold 30m", Command{Kind: CommandHold, Next: 30 * time.Minute}},
		{"hold for 30 minutes", "Hold for 30 minutes", Command{Kind: CommandHold, Next: 30 * time.Minute}},
		{"hold upper case, spaces", "  HOLD   45 MIN  \n", Command{Kind: CommandHold, Next: 45 * time.Minute}},
		{"hold 1h30m", "hold 1h30m", Command{Kind: CommandHold, Next: 90 * time.Minute}},
		{"hold 1 hour and 15 minutes", "hold 1 hour and 15 minutes", Command{Kind: CommandHold, Next: 75 * time.Minute}},
		{"hold 1.5h", "hold 1.5h", Command{Kind: CommandHold, Next: 90 * time.Minute}},
		{"hold with reason", "hold 20m: waiting for the vendor", Command{Kind: CommandHold, Next: 20 * time.Minute, Text: "waiting for the vendor"}},
		{"hold with lines below", "hold 20m\nVendor is on it.", Command{Kind: CommandHold, Next: 20 * time.Minute, Text: "Vendor is on it."}},
		{"hold after blank lines", "\n\nhold 10m", Command{Kind: CommandHold, Next: 10 * time.Minute}},
		{"hold on is not a command", "Hold on, we are checking the load balancer.", Command{Kind: CommandUpdate, Text: "Hold on, we are checking the load balancer."}},
		{"resolve", "resolve", Command{Kind: CommandResolve}},
		{"resolved.", "Resolved.", Command{Kind: CommandResolve}},
		{"resolve with cause", "resolve: expired TLS certificate on the payment gateway", Command{Kind: CommandResolve, Text: "expired TLS certificate on the payment gateway"}},
		{"resolve with lines below", "RESOLVE\nRoot cause: bad deploy.\nRolled back at 14:55.", Command{Kind: CommandResolve, Text: "Root cause: bad deploy.\nRolled back at 14:55."}},
		{"resolved in a sentence is an update", "Resolved the DNS issue, still monitoring.", Command{Kind: CommandUpdate, Text: "Resolved the DNS issue, still monitoring."}},
		{"resolve not on first line", "Deploy rolled back.\nresolve", Command{Kind: CommandUpdate, Text: "Deploy rolled back.\nresolve"}},
		{"update", "Rollback in progress, 50% of nodes done.", Command{Kind: CommandUpdate, Text: "Rollback in progress, 50% of nodes done."}},
		{
			"update with next",
			"Rollback in progress.\nnext: 45m\n",
			Command{Kind: CommandUpdate, Text: "Rollback in progress.", Next: 45 * time.Minute},
		},
		{
			"update with next update in",
			"Rollback in progress.\n\nNext update in 45 minutes.",
			Command{Kind: CommandUpdate, Text: "Rollback in progress.", Next: 45 * time.Minute},
		},
		{
			"update with next at clock",
			"Rollback in progress.\nnext update at 15:30",
			Command{Kind: CommandUpdate, Text: "Rollback in progress.", NextAt: "15:30"},
		},
		{
			"next clock zero padded",
			"Fix deployed.\nNEXT: 9:05",
			Command{Kind: CommandUpdate, Text: "Fix deployed.", NextAt: "09:05"},
		},
		{
			"next first then text",
			"next: 1h\nWe found the cause.",
			Command{Kind: CommandUpdate, Text: "We found the cause.", Next: time.Hour},
		},
		{
			"invalid clock is text",
			"Fix deployed.\nnext: 25:99",
			Command{Kind: CommandUpdate, Text: "Fix deployed.\nnext: 25:99"},
		},
		{
			"next alone holds",
			"next: 30m",
			Command{Kind: CommandHold, Next: 30 * time.Minute},
		},
		{
			"hold duration wins over next",
			"hold 30m\nnext: 2h",
			Command{Kind: CommandHold, Next: 30 * time.Minute},
		},
		{
			"next inside a sentence is text",
			"The next update will come when we know more.",
			Command{Kind: CommandUpdate, Text: "The next update will come when we know more."},
		},
		{"crlf", "hold 5m\r\n", Command{Kind: CommandHold, Next: 5 * time.Minute}},

		// The aliases in German, French, Spanish and Japanese.
		{"de next", "Rollback läuft.\nnächstes Update in 45 Minuten", Command{Kind: CommandUpdate, Text: "Rollback läuft.", Next: 45 * time.Minute}},
		{"de next colon", "Rollback läuft.\nNächstes: 1 Stunde und 30 Minuten", Command{Kind: CommandUpdate, Text: "Rollback läuft.", Next: 90 * time.Minute}},
		{"de next um", "Rollback läuft.\nNächstes Update um 15:30", Command{Kind: CommandUpdate, Text: "Rollback läuft.", NextAt: "15:30"}},
		{"de next alone", "nächste: 2 Std", Command{Kind: CommandHold, Next: 2 * time.Hour}},
		{"de sentence is text", "Nächste Woche migrieren wir.", Command{Kind: CommandUpdate, Text: "Nächste Woche migrieren wir."}},
		{"fr next", "Correctif déployé.\nprochain : 30 min", Command{Kind: CommandUpdate, Text: "Correctif déployé.", Next: 30 * time.Minute}},
		{"fr next no-break space", "Correctif déployé.\nprochain\u00a0: 1 heure", Command{Kind: CommandUpdate, Text: "Correctif déployé.", Next: time.Hour}},
		{"fr next dans", "Correctif déployé.\nProchaine mise à jour dans 45 minutes.", Command{Kind: CommandUpdate, Text: "Correctif déployé.", Next: 45 * time.Minute}},
		{"fr next à", "Correctif déployé.\nprochaine mise à jour à 15h30", Command{Kind: CommandUpdate, Text: "Correctif déployé.", NextAt: "15:30"}},
		{"fr sentence is text", "Prochaine étape : redémarrer le cluster.", Command{Kind: CommandUpdate, Text: "Prochaine étape : redémarrer le cluster."}},
		{"es next", "Reversión en curso.\npróxima: 45 min", Command{Kind: CommandUpdate, Text: "Reversión en curso.", Next: 45 * time.Minute}},
		{"es next en", "Reversión en curso.\nPróxima actualización en 1 hora y 15 minutos", Command{Kind: CommandUpdate, Text: "Reversión en curso.", Next: 75 * time.Minute}},
		{"es next a las", "Reversión en curso.\nproxima actualizacion a las 9:05", Command{Kind: CommandUpdate, Text: "Reversión en curso.", NextAt: "09:05"}},
		{"es sentence is text", "Próxima semana migramos.", Command{Kind: CommandUpdate, Text: "Próxima semana migramos."}},
		{"ja next", "ロールバック中です。\n次回: 30分", Command{Kind: CommandUpdate, Text: "ロールバック中です。", Next: 30 * time.Minute}},
		{"ja next full-width colon", "ロールバック中です。\n次回更新：1時間30分後", Command{Kind: CommandUpdate, Text: "ロールバック中です。", Next: 90 * time.Minute}},
		{"ja next clock", "ロールバック中です。\n次の更新: 15:30", Command{Kind: CommandUpdate, Text: "ロールバック中です。", NextAt: "15:30"}},
		{"ja sentence is text", "次回の更新は原因が分かり次第お送りします。", Command{Kind: CommandUpdate, Text: "次回の更新は原因が分かり次第お送りします。"}},
		{"de hold", "Warten 30 Minuten: Dienstleister prüft", Command{Kind: CommandHold, Next: 30 * time.Minute, Text: "Dienstleister prüft"}},
		{"de warten sentence", "Warten wir ab, was der Dienstleister sagt.", Command{Kind: CommandUpdate, Text: "Warten wir ab, was der Dienstleister sagt."}},
		{"fr hold", "en attente 20 min", Command{Kind: CommandHold, Next: 20 * time.Minute}},
		{"fr en attente sentence", "En attente du fournisseur.", Command{Kind: CommandUpdate, Text: "En attente du fournisseur."}},
		{"es hold", "En espera: esperando al proveedor", Command{Kind: CommandHold, Text: "esperando al proveedor"}},
		{"ja hold", "保留 30分", Command{Kind: CommandHold, Next: 30 * time.Minute}},
		{"ja hold sentence", "保留中の注文を確認しています。", Command{Kind: CommandUpdate, Text: "保留中の注文を確認しています。"}},
		{"de resolve", "Gelöst: abgelaufenes Zertifikat", Command{Kind: CommandResolve, Text: "abgelaufenes Zertifikat"}},
		{"de resolve alone", "gelöst.", Command{Kind: CommandResolve}},
		{"de gelöst sentence", "Gelöst ist nur der Login-Fehler.", Command{Kind: CommandUpdate, Text: "Gelöst ist nur der Login-Fehler."}},
		{"de behoben is not resolve", "Behoben.", Command{Kind: CommandUpdate, Text: "Behoben."}},
		{"fr resolve", "Résolu : certificat expiré", Command{Kind: CommandResolve, Text: "certificat expiré"}},
		{"fr resolve feminine", "résolue", Command{Kind: CommandResolve}},
		{"es resolve", "resuelto: certificado caducado\nReiniciado a las 14:55.", Command{Kind: CommandResolve, Text: "certificado caducado\nReiniciado a las 14:55."}},
		{"es resuelto sentence", "Resuelto el problema de DNS, seguimos vigilando.", Command{Kind: CommandUpdate, Text: "Resuelto el problema de DNS, seguimos vigilando."}},
		{"ja resolve", "解決: 証明書の期限切れ", Command{Kind: CommandResolve, Text: "証明書の期限切れ"}},
		{"ja resolve done", "解決済み。", Command{Kind: CommandResolve}},
		{"ja sentence", "解決に向けて対応中です。", Command{Kind: CommandUpdate, Text: "解決に向けて対応中です。"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseCommand(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseCommand(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}

// Issue 20: a lead's reply words an update for single groups with
// sections "for <group>:" (and the public page's with "public:"), in the
// languages the commands speak. Only the update's groups open a section,
// so a sentence that starts "For now:" stays in the update; a section runs
// to the next one or the end.
func TestParseCommandAudiences(t *testing.T) {
	t.Parallel()
	groups := []string{"exec", "customer-service"}
	tests := []struct {
		name, in string
		want     Command
	}{
		{"sections", "Rolling back release 2026.12.1.\nnext: 30m\n\nfor customer-service: Tell customers: retrying works.\nNobody was charged twice.\nFor EXEC: About 4% of sales.\npublic: Some payments fail.",
			Command{Kind: CommandUpdate, Text: "Rolling back release 2026.12.1.", Next: 30 * time.Minute,
				Audiences: map[string]string{"customer-service": "Tell customers: retrying works.\nNobody was charged twice.", "exec": "About 4% of sales."},
				Public:    "Some payments fail."}},
		{"for now stays", "For now: we wait for the provider.\nfor legal: nothing yet", Command{Kind: CommandUpdate, Text: "For now: we wait for the provider.\nfor legal: nothing yet"}},
		{"german", "Wir nehmen das Release zurück.\nfür exec: Umsatz betroffen.\nöffentlich: Einige Zahlungen schlagen fehl.",
			Command{Kind: CommandUpdate, Text: "Wir nehmen das Release zurück.", Audiences: map[string]string{"exec": "Umsatz betroffen."}, Public: "Einige Zahlungen schlagen fehl."}},
		{"section on its own line", "Rolling back.\nfor exec:\nRevenue impact small.", Command{Kind: CommandUpdate, Text: "Rolling back.", Audiences: map[string]string{"exec": "Revenue impact small."}}},
		{"empty section dropped", "Rolling back.\nfor exec:", Command{Kind: CommandUpdate, Text: "Rolling back."}},
		// A resolve carries what customers read of the end; groups'
		// sections are no part of a resolve (its email is one for all).
		{"resolve with public", "resolve: a full disk on pg-eu-3\npublic: Orders work again.\nNobody was charged twice.",
			Command{Kind: CommandResolve, Text: "a full disk on pg-eu-3", Public: "Orders work again.\nNobody was charged twice."}},
		{"resolve in japanese", "解決済み: ディスク容量不足\n公開: 注文は再び可能です。",
			Command{Kind: CommandResolve, Text: "ディスク容量不足", Public: "注文は再び可能です。"}},
		{"resolve without public", "resolved\nthe disk filled up", Command{Kind: CommandResolve, Text: "the disk filled up"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseCommand(tt.in, groups...); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseCommand(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestAddressToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr, local string
		token       string
		ok          bool
	}{
		{"status+Ab3xK9@example.com", "status", "Ab3xK9", true},
		{"STATUS+Ab3xK9@example.com", "status", "Ab3xK9", true},
		{"Status+Ab3xK9@Example.COM", "Status", "Ab3xK9", true},
		{"Sitrep <status+Ab3xK9@example.com>", "status", "Ab3xK9", true},
		{"<status+Ab3xK9@example.com>", "status", "Ab3xK9", true},
		{"status+a+b@example.com", "status", "a+b", true},
		{"status@example.com", "status", "", false},
		{"status+@example.com", "status", "", false},
		{"other+Ab3xK9@example.com", "status", "", false},
		{"statusx+Ab3xK9@example.com", "status", "", false},
		{"status+Ab3xK9", "status", "", false},
		{"", "status", "", false},
	}
	for _, tt := range tests {
		token, ok := AddressToken(tt.addr, tt.local)
		if token != tt.token || ok != tt.ok {
			t.Errorf("AddressToken(%q, %q) = %q, %v; want %q, %v", tt.addr, tt.local, token, ok, tt.token, tt.ok)
		}
	}
}
