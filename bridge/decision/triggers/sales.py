"""high_value: a sales conversation worth a person.

Fires on a request for a quote or custom pricing, an enterprise, volume or bulk purchase
(a number of seats or licences, or of users or agents with a buying word), a contract, MSA,
order form or DPA to sign or negotiate, a partnership, reseller or white-label enquiry, a
procurement step (vendor forms, security questionnaires, RFPs, SOC 2 reports) or paying by
purchase order or invoice. Ordinary plan and price questions ("what does Pro cost", "how do I
add a seat", "order several items") and the cost of leaving a contract do not fire.
"""

from __future__ import annotations

import re

from bridge.decision.triggers.base import Fired, TriggerContext, compile_rules, trigger, words
from bridge.policy import TriggerSettings

# From this many seats a purchase is a sales conversation rather than a self-serve checkout.
MIN_SEATS = 20

_SEAT_UNITS = r"(?:seats?|licen[cs]es?|lizenzen|licencias|licencas|postes|assentos)"
_PEOPLE_UNITS = (
    r"(?:users?|agents?|employees?|people|staff|members|accounts|nutzer|benutzer|mitarbeiter"
    r"|utilisateurs|salaries|usuarios|empleados|agentes|funcionarios)"
)
_BUYING = re.compile(
    r"\b(?:buy|buying|purchase|purchasing|order|pricing|price|prices|quote|cost|costs|discount"
    r"|licen[cs]\w*|upgrade|onboard|onboarding|roll ?out|deploy|interested|looking for|plan"
    r"|plans|subscription|contract|annual|yearly|trial|evaluate|evaluating|budget|move|moving"
    r"|switch|switching|migrate|migrating|kaufen|preis"
    r"|angebot|acheter|prix|tarif|comprar|precio|precos|preco|comprar|assinar)\b"
)
_NUMBER = r"(\d{1,3}(?:[,.]\d{3})+|\d+)"

_RULES = compile_rules(
    (
        (
            "quote",
            r"\b(?:(?:a|formal|price|pricing|custom|written|official|an?) quotes?"
            r"|quotation|quote (?:for|on)|(?:get|send|need|want|request|requesting|prepare"
            r"|provide|give) (?:me |us )?(?:a )?quote|custom (?:pricing|price|plan|deal|contract)"
            r"|pricing proposal|volume (?:discounts?|pricing|licen[cs]\w*|deals?)"
            r"|bulk (?:discounts?"
            r"|pricing|purchase|order|buy|licen[cs]\w*|seats?)|enterprise (?:plan|pricing"
            r"|licen[cs]\w*|agreement|deal|contract|tier|edition|offer|quote|account|version|sales"
            r"|customers?)|talk to (?:your )?sales|contact (?:your )?sales|sales (?:team|rep"
            r"|representative|department)|demo for (?:our|my) (?:team|company)|(?:book|schedule"
            r"|request) a demo|site[- ]wide licen[cs]e)\b",
        ),
        (
            "contract",
            r"\b(?:sign|signing|negotiate|negotiating|review|reviewing|redline"
            r"|redlining|send|need|draft|countersign|renew|renewing|annual|multi[- ]year|custom"
            r"|our|your|master) (?:the |a |an |our |your )?(?:contract|msa|master (?:service"
            r"|services|subscription) agreement|order form|sla|service level agreement|dpa|data"
            r" processing (?:agreement|addendum)|nda|mutual nda|enterprise agreement)\b",
        ),
        (
            "partnership",
            r"\b(?:partnership|partner program|partner with you|partnering|become a"
            r" (?:partner|reseller|distributor)|resellers?|resell|reselling|white[- ]?label\w*"
            r"|affiliate program|referral partner|integration partner|technology partner|oem"
            r" (?:deal|agreement|licen[cs]e)|distribut(?:or|ion) (?:agreement|partner)"
            r"|co-?marketing)\b",
        ),
        (
            "procurement",
            r"\b(?:procurement|purchasing department|vendor (?:onboarding"
            r"|registration|forms?|assessment|questionnaire|setup|application|portal|due diligence)"
            r"|supplier (?:forms?|registration|onboarding|portal)|security (?:questionnaire|review"
            r"|assessment|audit)|questionnaire|rfp|rfq|rfi|request for (?:proposal|quotation|quote"
            r"|information)|tender|soc ?2(?: type (?:i|ii|1|2))?|iso ?27001|pen(?:etration)? ?test"
            r" reports?|w-?9|w-?8ben|due diligence|hecvat|caiq|vsaq)\b",
        ),
        (
            "purchase_order",
            r"\b(?:purchase orders?|po numbers?|p o (?:number|#)|pay(?:ing)?"
            r" (?:by|via|with|through) (?:a )?(?:po|invoice|bank transfer|wire(?: transfer)?|check"
            r"|cheque|ach)|invoice (?:us|me) (?:annually|yearly|instead|quarterly|for)|net ?(?:30"
            r"|45"
            r"|60|90)(?: terms)?|annual invoic(?:e|ing)|invoic(?:ed|ing) (?:annually|yearly"
            r"|quarterly)|(?:by|via|with a|against a) po)\b",
        ),
        (
            "de",
            r"\b(?:kostenvoranschlag|(?:ein |ein individuelles )?angebot (?:fur|uber)"
            r"|rahmenvertrag|bestellnummer|einkaufsabteilung|partnerschaft|wiederverkaufer"
            r"|mengenrabatt|ausschreibung|lieferantenfragebogen|sicherheitsfragebogen"
            r"|auftragsverarbeitungsvertrag|avv|zahlung auf rechnung|kauf auf rechnung)\b",
        ),
        (
            "fr",
            r"\b(?:devis|bon de commande|partenariat|revendeur|appel d'offres|remise sur"
            r" volume|tarif entreprise|offre entreprise|questionnaire de securite|service achats"
            r"|paiement par virement|marque blanche)\b",
        ),
        (
            "es",
            r"\b(?:cotizacion|orden de compra|alianza comercial|asociacion comercial"
            r"|revendedor|distribuidor|licitacion|descuento por volumen|cuestionario de seguridad"
            r"|plan empresarial|precio empresarial|marca blanca)\b",
        ),
        (
            "pt",
            r"\b(?:cotacao|orcamento|ordem de compra|pedido de compra|parceria|revendedor"
            r"|licitacao|desconto por volume|questionario de seguranca|plano empresarial|marca"
            r" branca)\b",
        ),
    )
)
_SEATS = re.compile(
    rf"\b{_NUMBER} (?:(?:more|extra|additional|new|paid|full|agent|user) )?"
    rf"{_SEAT_UNITS}\b"
)
_HEADCOUNT = re.compile(
    rf"\b{_NUMBER} (?:(?:more|extra|additional|new|support|paid|full"
    rf"|internal) )?{_PEOPLE_UNITS}\b"
)
# Leaving a contract is the cancellation trigger's business, not a sale.
_LEAVING = re.compile(
    r"\b(?:break|breaking|terminate|terminating|cancel|cancelling|canceling|end|ending|exit"
    r"|get out of|early termination)\b(?: \w+){0,3} contract"
)


def _count(raw: str) -> int:
    return int(re.sub(r"[,.]", "", raw))


@trigger("high_value")
def high_value(ctx: TriggerContext, settings: TriggerSettings) -> Fired | None:
    text = words(ctx.message.text)
    for pattern, needs_buying in ((_SEATS, False), (_HEADCOUNT, True)):
        for match in pattern.finditer(text):
            if _count(match.group(1)) >= MIN_SEATS and (not needs_buying or _BUYING.search(text)):
                return "volume", (match.group(0),)
    for rule, pattern in _RULES:
        match = pattern.search(text)
        if match and not (rule == "contract" and _LEAVING.search(text)):
            return rule, (match.group(0).strip(),)
    return None
