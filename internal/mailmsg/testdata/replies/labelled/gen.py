#!/usr/bin/env python3
"""Writes <lang>.yaml: the labelled replies of TestReplyLabelledSet.

Each reply is written by hand below as the new text a person (or a
responder) wrote; this script puts under it the quoted original exactly as
the named client quotes in that language (attribution line or header
block, ">" marks or none), so that the set also tests ExtractReply. The
YAML holds the full reply text, so the script is needed only to change
the set. Every fifth item of a language (index % 5 == 4) is held back:
it was written with the rest, before the classifier was changed, and is
not looked at while tuning.

    python3 gen.py   # rewrites en.yaml de.yaml fr.yaml es.yaml ja.yaml
"""
import yaml

ADDR = "Sitrep <status+Ab3xK9@example.com>"

ORIG = {
    "en": "Incident INC-42: Checkout errors\n\nWe believe this is fixed. Is the service restored for you?\nJust reply yes or no.\n\nSitrep",
    "de": "Störung INC-42: Fehler im Bestellvorgang\n\nWir glauben, das Problem ist behoben. Funktioniert der Dienst bei Ihnen wieder?\nAntworten Sie einfach mit Ja oder Nein.\n\nSitrep",
    "fr": "Incident INC-42 : erreurs lors du paiement\n\nNous pensons que le problème est résolu. Le service fonctionne-t-il à nouveau pour vous ?\nRépondez simplement oui ou non.\n\nSitrep",
    "es": "Incidencia INC-42: errores en el pago\n\nCreemos que el problema está resuelto. ¿Le funciona de nuevo el servicio?\nResponda simplemente sí o no.\n\nSitrep",
    "ja": "インシデント INC-42: 決済エラー\n\n問題は解決したと考えています。サービスは復旧しましたか？\n「はい」または「いいえ」でご返信ください。\n\nSitrep",
}
TITLE = {
    "en": "[INC-42] Checkout errors: is it fixed for you?",
    "de": "[INC-42] Fehler im Bestellvorgang: Funktioniert es wieder?",
    "fr": "[INC-42] Erreurs lors du paiement : est-ce réparé ?",
    "es": "[INC-42] Errores en el pago: ¿está resuelto?",
    "ja": "[INC-42] 決済エラー: 復旧しましたか？",
}


def q(text):
    return "\n".join(("> " + l) if l else ">" for l in text.split("\n"))


# Quoting per language and client: (reply prefix, attribution/header, quoted original).
def quote(lang, client):
    o = ORIG[lang]
    t = TITLE[lang]
    if lang == "en":
        return {
            "gmail": f"On Tue, 3 Mar 2026 at 15:30, {ADDR} wrote:\n\n{q(o)}",
            "outlook": f"________________________________\nFrom: {ADDR}\nSent: Tuesday, March 3, 2026 3:30 PM\nTo: Alex Morgan <alex@example.org>\nSubject: {t}\n\n{o}",
            "outlook_original": f"-----Original Message-----\nFrom: {ADDR}\nSent: Tuesday, March 3, 2026 3:30 PM\nTo: Alex Morgan <alex@example.org>\nSubject: {t}\n\n{o}",
            "apple": f"> On 3 Mar 2026, at 15:30, {ADDR} wrote:\n>\n{q(o)}",
            "iphone": f"Sent from my iPhone\n\n> On 3 Mar 2026, at 15:30, {ADDR} wrote:\n>\n{q(o)}",
            "thunderbird": f"On 03/03/2026 15:30, Sitrep wrote:\n{q(o)}",
            "none": "",
        }[client]
    if lang == "de":
        return {
            "gmail": f"Am Di., 3. März 2026 um 15:30 Uhr schrieb {ADDR}:\n\n{q(o)}",
            "outlook": f"Von: {ADDR}\nGesendet: Dienstag, 3. März 2026 15:30\nAn: Klaus Becker <klaus@example.de>\nBetreff: {t}\n\n{o}",
            "outlook_original": f"-----Ursprüngliche Nachricht-----\nVon: {ADDR}\nGesendet: Dienstag, 3. März 2026 15:30\nAn: Klaus Becker <klaus@example.de>\nBetreff: {t}\n\n{o}",
            "apple": f"> Am 03.03.2026 um 15:30 schrieb {ADDR}:\n>\n{q(o)}",
            "iphone": f"Von meinem iPhone gesendet\n\n> Am 03.03.2026 um 15:30 schrieb {ADDR}:\n>\n{q(o)}",
            "thunderbird": f"Am 03.03.26 um 15:30 schrieb Sitrep:\n{q(o)}",
            "none": "",
        }[client]
    if lang == "fr":
        return {
            "gmail": f"Le mar. 3 mars 2026 à 15:30, {ADDR} a écrit :\n\n{q(o)}",
            "outlook": f"De : {ADDR}\nEnvoyé : mardi 3 mars 2026 15:30\nÀ : Claire Martin <claire@example.fr>\nObjet : {t}\n\n{o}",
            "outlook_original": f"-----Message d'origine-----\nDe : {ADDR}\nEnvoyé : mardi 3 mars 2026 15:30\nÀ : Claire Martin <claire@example.fr>\nObjet : {t}\n\n{o}",
            "apple": f"> Le 3 mars 2026 à 15:30, {ADDR} a écrit :\n>\n{q(o)}",
            "iphone": f"Envoyé de mon iPhone\n\n> Le 3 mars 2026 à 15:30, {ADDR} a écrit :\n>\n{q(o)}",
            "thunderbird": f"Le 03/03/2026 à 15:30, Sitrep a écrit :\n{q(o)}",
            "none": "",
        }[client]
    if lang == "es":
        return {
            "gmail": f"El mar, 3 mar 2026 a las 15:30, Sitrep (<status+Ab3xK9@example.com>) escribió:\n\n{q(o)}",
            "outlook": f"De: {ADDR}\nEnviado el: martes, 3 de marzo de 2026 15:30\nPara: Lucía García <lucia@example.es>\nAsunto: {t}\n\n{o}",
            "outlook_original": f"-----Mensaje original-----\nDe: {ADDR}\nEnviado el: martes, 3 de marzo de 2026 15:30\nPara: Lucía García <lucia@example.es>\nAsunto: {t}\n\n{o}",
            "apple": f"> El 3 mar 2026, a las 15:30, {ADDR} escribió:\n>\n{q(o)}",
            "iphone": f"Enviado desde mi iPhone\n\n> El 3 mar 2026, a las 15:30, {ADDR} escribió:\n>\n{q(o)}",
            "thunderbird": f"El 3/3/26 a las 15:30, Sitrep escribió:\n{q(o)}",
            "none": "",
        }[client]
    if lang == "ja":
        return {
            "gmail": f"2026年3月3日(火) 15:30 {ADDR}:\n\n{q(o)}",
            "outlook": f"差出人: {ADDR}\n送信日時: 2026年3月3日 15:30\n宛先: 田中 太郎 <tanaka@example.jp>\n件名: {t}\n\n{o}",
            "outlook_original": f"-----Original Message-----\n差出人: {ADDR}\n送信日時: 2026年3月3日 15:30\n宛先: 田中 太郎 <tanaka@example.jp>\n件名: {t}\n\n{o}",
            "apple": f"> 2026/03/03 15:30、{ADDR}のメール:\n>\n{q(o)}",
            "iphone": f"iPhoneから送信\n\n> 2026/03/03 15:30、{ADDR}のメール:\n>\n{q(o)}",
            "thunderbird": f"2026/03/03 15:30 に Sitrep さんは書きました:\n{q(o)}",
            "none": "",
        }[client]
    raise KeyError(lang)


RE = {"en": "Re: ", "de": "Re: ", "fr": "Re: ", "es": "Re: ", "ja": "Re: "}
OUTLOOK_RE = {"en": "RE: ", "de": "AW: ", "fr": "RE : ", "es": "RE: ", "ja": "RE: "}

# Items: (label, client, new text[, subject, headers]). label is one of
# fixed, still_broken, ambiguous, question, auto_reply. An auto-reply's
# subject is given in full; its client "none" means no quote below.
AUTO = {"Auto-Submitted": "auto-replied"}
EXCH = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}

from items import ITEMS  # noqa: E402


def main():
    for lang, items in ITEMS.items():
        out = []
        for i, it in enumerate(items):
            label, client, text = it[0], it[1], it[2]
            subject = it[3] if len(it) > 3 and it[3] else ((OUTLOOK_RE if client.startswith("outlook") else RE)[lang] + TITLE[lang])
            headers = it[4] if len(it) > 4 else {}
            qt = quote(lang, client)
            body = text.strip("\n")
            if qt:
                # The iPhone's signature sits between the text and the quote.
                body = body + "\n\n" + qt
            d = {
                "id": f"{lang}-{i + 1:03d}",
                "lang": lang,
                "label": label,
                "client": client,
                "heldout": i % 5 == 4,
                "subject": subject,
            }
            if headers:
                d["headers"] = headers
            d["text"] = body + "\n"
            out.append(d)
        with open(f"{lang}.yaml", "w", encoding="utf-8") as f:
            f.write(f"# Labelled replies in {lang}: see gen.py and labelled_test.go. Generated by gen.py; edit items.py.\n")
            yaml.dump(out, f, allow_unicode=True, sort_keys=False, width=1000, default_style=None, Dumper=BlockDumper)


class BlockDumper(yaml.SafeDumper):
    pass


def _str(dumper, s):
    if "\n" in s:
        return dumper.represent_scalar("tag:yaml.org,2002:str", s, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", s)


BlockDumper.add_representer(str, _str)

if __name__ == "__main__":
    main()
