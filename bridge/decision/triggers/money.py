"""Money triggers: billing_dispute, refund and cancellation.

The rule that tells the real thing from a routine question: each fires on a request or demand
("I want", "please", "give me", "can you", "quiero", "je veux") or on a first-person statement
of the event ("I was charged twice", "my refund hasn't arrived", "you charged me"), and stays
quiet on a general how, what, when or where question about the policy ("what is your refund
policy", "how long do refunds take", "is there a cancellation fee", "can I cancel any time?").
A demand aimed straight at the thing ("I want a refund") wins over policy words in the same
message ("...as your guarantee says"). Asking how to get one's own refund or cancel one's own
subscription counts as wanting it: only the team can act on it, and it wants the chance to.

- billing_dispute: charged twice or more, a charge the customer does not recognise or did not
  expect, overcharged or charged after cancelling, a chargeback or bank dispute, or a payment
  that failed or errored.
- refund: asks for, demands, or is waiting for their money back (refund, reimbursement,
  money back, compensation), in any of the five languages.
- cancellation: wants to cancel, end or terminate a subscription, plan, membership, account,
  order or contract, not a search, an upload, an invite or a newsletter.
"""

from __future__ import annotations

import re

from bridge.decision.triggers.base import (
    MONEY_AMOUNT,
    POLICY_WORDS,
    Fired,
    Speller,
    TriggerContext,
    compile_rules,
    search,
    trigger,
    words,
)
from bridge.policy import TriggerSettings

_SPELLER = Speller(
    vocabulary=(
        *"refund refunds refunded reimbursement reimbursements reimburse reimbursed money"
        " compensation restitution rebate policy cancel cancelled canceled cancelling"
        " canceling cancellation subscription purchase order account membership charged"
        " billed payment payments twice request requesting demand demanding problem problems"
        " issue issues error errors troubles newsletter".split(),
    ),
    protected=(
        *"cancer fund funds funded refine refined mommy monkey orders border ordered older"
        " accounts counted charge charges changed charter barged billet bullet paymen"
        " policies police polite polish".split(),
    ),
)

# Words people use when they ask about the rules, not when they want their money.
_MONEY_POLICY = re.compile(rf"\b(?:{POLICY_WORDS}|money ?back guarantee)\b")
# Cancellation's own: the fee, the notice period, the terms, cancelling "any time".
_CANCEL_POLICY = re.compile(
    r"\b(?:fees?|penalt(?:y|ies)|charges?|costs?|how much|polic(?:y|ies)|terms|conditions"
    r"|any ?time|whenever|jederzeit|a tout moment|en cualquier momento|a qualquer momento"
    r"|notice period|what happens (?:if|when)|if (?:i|we) (?:cancel|end"
    r"|terminate)|can (?:i|we|you) cancel (?:at )?any|early (?:exit|termination)|break (?:the|my"
    r"|a) contract|gebuhr\w*|kundigungsfrist|frais|penalite|tarifa|penalizacion|cargo por"
    r"|taxa|multa)\b"
)
# Statements about the customer's own refund that are status, not policy, questions.
_STATUS = re.compile(
    r"\b(?:my|our) (?:refund|reimbursement|money|compensation)\b|\b(?:i|we) (?:am|are|'m"
    r"|'re|have been|'ve been) (?:still )?waiting\b|\bwas it processed\b|\bhasn't (?:arrived"
    r"|come|been)\b|\bstill (?:no|not|haven't|have not)\b"
)

# --- refund ------------------------------------------------------------------------------

_REFUND_EN = (
    r"(?:refunds?|refunded|refunding|reimburs(?:e|ed|ing|ement|ements)|money back"
    r"|(?:my|our) money(?!'s| worth)|rebat(?:e|es|ing)(?: of money)?|restitutions?|compensations?"
    r"|compensated)"
)
_REFUND_ANY = (
    rf"(?:{_REFUND_EN}|(?:ruck)?erstattung|erstatten|geld zuruck|mein geld|unser geld"
    r"|ruckzahlung|rembourse\w*|mon argent|reembols\w*|devolucion del dinero|devolver(?:me)?"
    r" (?:el|mi) dinero|mi dinero|reintegro|estorno|devolucao do dinheiro|dinheiro de volta"
    r"|meu dinheiro|devolvam)"
)
_NOT_POLICY_NOUN = (
    r"(?! (?:policy|policies|terms|rules|process|guarantee|period|window|conditions|options"
    r"|page|section|article|request form)\b)"
)
_STRONG_WANT = (
    r"(?:want|wanted|wanna|need|demand|demanding|expect|expecting|deserve|owed?|would like"
    r"|'d like|id like|wish|waiting (?:for|on)"
    r"|still waiting (?:for|on)|wait for|where (?:is|are)|where's|insist on|entitled to)"
)
_WEAK_WANT = (
    r"(?:get|getting|got|obtain|obtaining|receive|receiving|request|requesting|requested"
    r"|ask for|asking for|asked for|claim|claiming|issue|process|processing|give|give me"
    r"|send|send me|return|have)"
)
_FILLER = (
    r"(?: (?:a|an|my|the|our|me|us|full|partial|complete|prompt|immediate|some|your|back|of"
    r"|for|this|that|to|get|receive|have|be|it|all|entire|whole|total|the full|quick|fast"
    r"|\$?\d[\d,.]*|dollars?|euros?|damn|goddamn|bloody|fucking|freaking|frigging"
    r"|effing))*"
)
_REFUND_STRONG = compile_rules(
    (
        ("demand", rf"\b{_STRONG_WANT}{_FILLER} {_REFUND_EN}\b{_NOT_POLICY_NOUN}"),
        (
            "imperative",
            r"(?:^|\b(?:please|pls|kindly|just|can you|could you|would you|will you"
            r"|you must|you need to|you should|i need you to|i want you to) )refund\b(?! policy)"
            r"|\brefund (?:me|us|my|our|it|this|that|them|everything|all|the (?:money|payment"
            r"|charge|amount|order|purchase|difference|subscription|fee))\b",
        ),
        (
            "de.demand",
            rf"\b(?:ich (?:will|mochte|verlange|fordere|erwarte|brauche|hatte gern)"
            rf"|wir (?:wollen|mochten|verlangen|fordern|erwarten)|bitte)(?: \w+){{0,3}}"
            rf" (?:{_REFUND_ANY})\b(?!\w*(?:richtlinie|bedingung))|\berstatten sie\b"
            r"|\b(?:geld|betrag) (?:bitte )?zuruck(?:erstatten|uberweisen|zahlen|geben)\b"
            r"|\bwo bleibt (?:meine|unsere) (?:ruck)?erstattung\b",
        ),
        (
            "fr.demand",
            rf"\b(?:je (?:veux|voudrais|souhaite|demande|exige|reclame|attends)"
            rf"|j'exige|j'attends|nous (?:voulons|exigeons|demandons)|merci de|svp|s'il vous plait)"
            rf"(?: \w+){{0,2}} (?:{_REFUND_ANY})\b(?! (?:de|du) (?:politique|conditions))"
            r"|\bremboursez[- ]moi\b|\bmon remboursement\b",
        ),
        (
            "es.demand",
            rf"\b(?:quiero|quisiera|necesito|exijo|solicito|pido|espero|me gustaria"
            rf"|queremos|exigimos|por favor)(?: \w+){{0,2}} (?:{_REFUND_ANY})\b"
            r"|\b(?:devuelvanme|devuelvan|devolvedme|reembolsenme) (?:mi |el )?(?:dinero|importe"
            r"|pago)\b|\bmi reembolso\b",
        ),
        (
            "pt.demand",
            rf"\b(?:quero|queria|gostaria de|preciso|exijo|solicito|peco|aguardo"
            rf"|queremos|exigimos|por favor)(?: \w+){{0,2}} (?:{_REFUND_ANY})\b"
            r"|\bdevolvam (?:o )?(?:meu )?dinheiro\b|\bmeu (?:reembolso|estorno)\b",
        ),
    )
)
_REFUND_WEAK = compile_rules(
    (
        ("request", rf"\b{_WEAK_WANT}{_FILLER} {_REFUND_EN}\b{_NOT_POLICY_NOUN}"),
        (
            "first_person",
            r"\b(?:i|we) (?:was|were|have been|'ve been|am|are|got) (?:promised"
            r"|told|owed|supposed to (?:get|receive)|due|offered) (?:a |my |the |our )?"
            r"(?:refund|reimbursement|compensation)\b|\b(?:my|our) (?:refund|reimbursement"
            r"|compensation|restitution)\b|\brefund (?:hasn't|has not|never|didn't|did not|is"
            r" still|still)\b",
        ),
        (
            "status",
            r"\b(?:status|news|update|updates|progress|track|tracking|trace|eta)\b"
            r"(?: \w+){0,4} (?:refund|reimbursement|rebate|compensation|restitution|money back)s?\b"
            r"|\b(?:refund|reimbursement|rebate|compensation|restitution)s? (?:status|progress"
            r"|tracking)\b",
        ),
        (
            "amount",
            rf"\b(?:{_REFUND_ANY})\b(?: \w+){{0,3}} (?:{MONEY_AMOUNT.pattern})"
            rf"|(?:{MONEY_AMOUNT.pattern})(?: \w+){{0,2}} (?:{_REFUND_ANY})\b",
        ),
    )
)

# --- billing dispute -----------------------------------------------------------------------

_CHARGED = r"(?:charged|billed|debited|charging|billing|taken|deducted|withdrawn)"
_BILLING = compile_rules(
    (
        (
            "double_charge",
            rf"\b{_CHARGED} (?:me |us |my (?:card|account) )?(?:twice|two times"
            r"|double|2 times|three times|3 times|multiple times|more than once|again|for the same"
            r"|two separate)\b|\bdouble[- ]?(?:charged|billed|charges?|billing|payments?)\b"
            r"|\bduplicated? (?:charges?|payments?|transactions?|billing|debits?|invoices?)\b"
            r"|\b(?:charged|billed) (?:me |us )?(?:for )?both\b|\b(?:two|2|three|3|multiple"
            r"|several) (?:identical |separate |duplicate |different )?(?:charges|debits"
            r"|transactions)\b",
        ),
        (
            "unknown_charge",
            r"\b(?:unknown|unrecogni[sz]ed|unexpected|unauthori[sz]ed|strange"
            r"|weird|mysterious|random|unexplained|suspicious|extra|surprise|incorrect|wrong"
            r"|bogus|unfair|hidden) (?:charges?|payments?|transactions?|debits?|amounts? (?:charged"
            r"|billed|debited)|fees?|billing|invoices?|bills?)\b(?! (?:policy|policies))"
            r"|\b(?:charges?|payments?|transactions?|debits?)\b(?: [\w']+){0,4} (?:i|we) (?:don't"
            r"|do not"
            r"|didn't|did not|can't|cannot|never) (?:recogni[sz]e|know|understand|authori[sz]e"
            r"|remember|make|agree)|\bwhat (?:is|was|are|were) (?:this|that|these|those) (?:\w+ )?"
            r"(?:charges?|payments?|debits?|transactions?)\b|\bwhy (?:was|were|am|are|have|did)"
            r" (?:i|we|you) (?:been |being )?(?:charged|billed|charge|bill|debit)",
        ),
        (
            "overcharged",
            r"\bover ?charg(?:ed|ing|e)\b|\b(?:amount|price|total|sum)"
            r" (?:charged|billed|debited|on (?:my|the) (?:invoice|bill|statement))? ?(?:is|was"
            r"|seems|looks) (?:wrong|incorrect|too high|off|not right)\b|\b(?:charged"
            r"|billed) (?:me |us )?(?:too"
            r" much|more than|the wrong|for (?:a|an|the) (?:wrong|plan|subscription|seats?"
            r"|service|month|year) (?:i|we) (?:didn't|did not|never|don't|do not)|after (?:i|we)"
            r" (?:cancel|cancelled|canceled|downgraded|closed)|even though|although|despite|for"
            r" something)|\bstill (?:being )?(?:charged|billed|charging|billing)\b"
            r"|\b(?:but|and|yet|then|still) (?:i )?(?:got|was|were|been) (?:charged|billed"
            r"|debited)\b|\b(?:you|u|they|you guys|your company) (?:charged|billed|debited"
            r"|took money from"
            r"|took)(?: me| us| my)\b|\b(?:i|we) (?:was|were|got|have been|'ve been|am being|are"
            r" being) (?:charged|billed|debited)\b(?! (?:for|by) (?:the|my) (?:\w+ )?(?:plan"
            r"|subscription) (?:on|every))",
        ),
        (
            "chargeback",
            r"\bcharge ?backs?\b|\bdisput(?:e|ing) (?:the |this |a |my |that )?"
            r"(?:charge|payment|transaction|bill|invoice)|\b(?:file|open|initiate|start|raise)"
            r" (?:a )?dispute\b|\b(?:contact|call|tell|ask) (?:my )?(?:bank|card issuer|credit card"
            r" company) to (?:reverse|block|dispute|stop)|\breverse (?:the |this )?(?:charge"
            r"|payment)\b",
        ),
        (
            "payment_problem",
            r"\bpayments? (?:issues?|problems?|errors?|failed|failure|failing"
            r"|declined|rejected|refused|bounced|not going through|did not go through|didn't go"
            r" through|isn't going through|won't go through|doesn't work|not working|went wrong)\b"
            r"|\b(?:issues?|problems?|errors?|troubles?|difficult(?:y|ies)) (?:with|in|on|making"
            r"|processing|when paying|paying)(?: (?:my|the|an?|online|card|last|recent))*"
            r" (?:payments?|checkout|billing|transactions?)\b|\bcard (?:was |got |is |keeps"
            r" (?:getting|being) )?(?:declined|rejected|refused)\b|\b(?:can't|cannot|can not|unable"
            r" to|couldn't) (?:make|complete|process|submit) (?:a |the |my |any )?payments?\b",
        ),
        (
            "de",
            r"\b(?:doppelt|zweimal|mehrfach) (?:abgebucht|belastet|berechnet|bezahlt"
            r"|abgerechnet)\b|\b(?:unbekannte|unberechtigte|falsche|fehlerhafte) (?:abbuchung"
            r"|belastung|rechnung|zahlung)\b|\bzu viel (?:berechnet|abgebucht|bezahlt)\b"
            r"|\bruckbuchung\b|\blastschrift zuruck\w*|\bzahlung (?:ist )?(?:fehlgeschlagen"
            r"|abgelehnt)\b|\bnicht autorisierte abbuchung\b",
        ),
        (
            "fr",
            r"\b(?:debite|preleve|facture)e?s? (?:deux fois|2 fois|en double|a tort"
            r"|plusieurs fois)\b|\bdouble (?:prelevement|debit|facturation|paiement)\b"
            r"|\b(?:prelevement|debit|paiement) (?:inconnu|non autorise|injustifie|en double)\b"
            r"|\bretrofacturation\b|\bpaiement (?:a ete )?(?:refuse|echoue|rejete)\b|\btrop"
            r" (?:paye|facture|preleve)\b|\bcontester (?:le |ce |un )?(?:prelevement|paiement"
            r"|debit)\b",
        ),
        (
            "es",
            r"\b(?:cobrado|cobrada|cobraron|cobro|cobrasteis|cargaron|cargado|cargo)(?: \w+)?"
            r" (?:dos veces|doble|2 veces|por duplicado|de mas)\b|\bdoble (?:cobro|cargo)\b"
            r"|\b(?:cobro|cargo) (?:duplicado|desconocido|no autorizado|indebido|no reconocido)\b"
            r"|\bcontracargo\b|\bpago (?:rechazado|fallido)\b|\bdisputar (?:el |un )?cargo\b",
        ),
        (
            "pt",
            r"\bcobrad[oa]s? (?:duas vezes|em dobro|2 vezes|a mais)\b|\bcobranca (?:duplicada"
            r"|em dobro|indevida|desconhecida|nao autorizada|errada)\b|\bcobraram (?:duas vezes"
            r"|em dobro|a mais)\b|\b(?:debito|compra|cobranca) (?:desconhecid[oa]|nao"
            r" reconhecid[oa])\b|\bcontestar (?:a )?(?:cobranca|compra)\b|\bpagamento (?:foi )?"
            r"(?:recusado|falhou|rejeitado)\b",
        ),
    )
)
# A question about what would happen, not a report of what did: "will I be charged twice if
# I upgrade?", "do you charge for extra seats?"
_BILLING_HYPOTHETICAL = re.compile(
    r"\b(?:will|would|could|can|does|do|might) (?:i|we|you|it|they|there) (?:\w+ )?(?:be )?"
    r"(?:charged|billed|charge|bill)\b|\bif (?:i|we)\b|\bwhen (?:will|do|does|are|is)\b"
    r"|\bpayment methods?\b|\bwhat (?:payment|cards?)\b|\bnot (?:be )?(?:charged|billed)\b"
    r"|\bavoid (?:being )?(?:charged|billed)\b"
)

# --- cancellation --------------------------------------------------------------------------

_CANCEL_VERB = (
    r"(?:cancel|cancels|cancell?ing|cancell?ed|terminate|terminating|end|ending|stop|stopping"
    r"|discontinue|discontinuing|quit|quitting|revoke|withdraw from|get out of|opt out of"
    r"|turn off|switch off|disable)"
)
_CANCEL_OBJECT = (
    r"(?:subscriptions?|subs?|plans?|memberships?|accounts?|orders?|purchases?|contracts?"
    r"|renewals?|auto[- ]?renew(?:al)?|recurring (?:payments?|billing)|trial|licen[cs]es?"
    r"|bookings?|reservations?|everything|my service|the service|your service|service"
    r" with you|premium|billing)"
)
_NOT_PREPOSITION = r"(?!(?:to|from|on|in|for|of|with|at|by|about|into)\b)"
_CANCELLATION = compile_rules(
    (
        (
            "cancel",
            rf"\b{_CANCEL_VERB}(?: (?:my|our|the|this|that|a|an|your|me|us))?"
            rf"(?: {_NOT_PREPOSITION}[\w']+){{0,2}} {_CANCEL_OBJECT}\b",
        ),
        (
            "cancel_it",
            r"\bcancel (?:it|this|that|them|these)\b(?=.*\b(?:order|purchase"
            r"|subscription|plan|membership|booking|contract|account)s?\b)|\b(?:order|purchase"
            r"|subscription|plan|membership|booking|contract|account)s?\b.*\bcancel(?:ling"
            r"|ing)? (?:it|this|that|them)\b",
        ),
        (
            "cancellation_of",
            rf"\b(?:cancellation|cancelation|termination) (?:of|for) (?:my|our"
            rf"|the|a|an|this)(?: [\w']+)? {_CANCEL_OBJECT}\b|\b{_CANCEL_OBJECT} (?:cancellation"
            r"|cancelation|termination)\b",
        ),
        (
            "cant_pay",
            r"\b(?:i|we) (?:can no longer|can't|cannot|can not|no longer can|won't"
            r" be able to) (?:pay for|afford|pay) (?:my |the |this |our |that )?(?:order|purchase"
            r"|subscription|plan|membership)s?\b",
        ),
        (
            "dont_want",
            r"\b(?:i|we) (?:don'?t|do not|no longer|dont) ?(?:want|need)(?: (?:my"
            r"|the|this|that|our|it|a))?(?: [\w']+)? (?:order|purchase|subscription|plan"
            r"|membership|service)s?\b(?! (?:yet|now|until))",
        ),
        (
            "de",
            r"\b(?:kundigen|kundige|kundigt|kundigung|gekundigt|kundigungsbestatigung|stornieren"
            r"|storniere|stornierung|storno)\b|\b(?:abo|abonnement|vertrag|mitgliedschaft"
            r"|bestellung|auftrag|buchung|konto)\b(?: \w+){0,3} (?:beenden|aufheben|canceln)\b"
            r"|\b(?:beenden|beende) (?:sie )?(?:mein|meine|meinen|unser|unsere|das|die|den)"
            r" (?:abo|abonnement|vertrag|mitgliedschaft)\b",
        ),
        (
            "fr",
            r"\b(?:resilier|resilie|resiliez|resiliation)\b|\b(?:annuler|annulez|annule"
            r"|arreter|mettre fin a|stopper) (?:mon|ma|mes|notre|nos|l'|le|la|cet|cette)"
            r" ?(?:abonnement|commande|compte|contrat|souscription|adhesion|forfait|renouvellement)"
            r"|\bannulation (?:de|du) (?:mon |ma |l')?(?:abonnement|commande|compte|contrat)\b",
        ),
        (
            "es",
            r"\b(?:cancelar|cancelen|cancele|cancelo|anular|anulen|anulo|terminar|dar de baja"
            r"|darme de baja|darnos de baja) (?:mi|la|el|mis|nuestra|nuestro|los|las|este|esta)?"
            r" ?(?:suscripcion|subscripcion|pedido|cuenta|plan|membresia|contrato|orden|compra"
            r"|abono|servicio)\b|\b(?:darme|darnos) de baja\b(?! (?:del|de la) (?:boletin"
            r"|newsletter|lista))",
        ),
        (
            "pt",
            r"\b(?:cancelar|cancelem|cancele|cancelo|encerrar|rescindir|desistir d[aoe])"
            r" (?:a |o )?(?:minha |meu |nossa |nosso |essa |este |esta |esse )?(?:assinatura|pedido"
            r"|conta|plano|contrato|compra|inscricao|servico)\b|\bcancelamento (?:da|do|de)"
            r" (?:minha |meu )?(?:assinatura|conta|plano|pedido|contrato)\b",
        ),
    )
)
# A subscription to news is not a subscription to the product: unsubscribing is self-serve.
_NEWSLETTER = re.compile(
    r"newsletter|\b(?:mailing lists?|e-?mails?|notifications?|marketing|alerts?|digest"
    r"|updates|boletin|infolettre)\b"
)
# Things customers cancel inside the product, which the docs explain.
_IN_PRODUCT = re.compile(
    r"\bcancel (?:the |this |a |an |my )?(?:search|upload|download|export|import|invite"
    r"|invitation|meeting|call|sync|edit|operation|job|process|request|draft|reply|message"
    r"|macro|automation|filter|selection|changes?|print)\b"
)


# "Can I issue refunds to my customers?", "how do I cancel a customer's subscription in the
# Stripe integration?": a merchant asking how to do it for their own customers.
_FOR_THEIR_CUSTOMERS = re.compile(
    r"\b(?:how (?:do|can|could|should) (?:i|we)|can (?:i|we)|is (?:there|it possible)|where"
    r" (?:do|can) (?:i|we))\b.*(?:\b(?:to|for|from) (?:my|our|a|the) (?:customers?|clients?"
    r"|buyers?|subscribers?|shoppers?)\b|\b(?:customer|client|user|buyer|subscriber)'s\b"
    r"|\b(?:my|our) (?:customers|clients|buyers|shoppers)'? (?:subscriptions?|orders?|refunds?"
    r"|accounts?|payments?)\b)"
)


def _text(ctx: TriggerContext) -> tuple[str, ...]:
    if _FOR_THEIR_CUSTOMERS.search(words(ctx.message.text)):
        return ()
    plain = words(ctx.message.text)
    return plain, _SPELLER.correct(plain)


@trigger("billing_dispute")
def billing_dispute(ctx: TriggerContext, settings: TriggerSettings) -> Fired | None:
    for text in _text(ctx):
        found = search(_BILLING, text)
        if found and not (found[0] != "chargeback" and _BILLING_HYPOTHETICAL.search(text)):
            return found[0], (found[1],)
    return None


@trigger("refund")
def refund(ctx: TriggerContext, settings: TriggerSettings) -> Fired | None:
    for text in _text(ctx):
        found = search(_REFUND_STRONG, text)
        if found:
            return found[0], (found[1],)
        found = search(_REFUND_WEAK, text)
        if found and (not _MONEY_POLICY.search(text) or _status_question(text)):
            return found[0], (found[1],)
    return None


def _status_question(text: str) -> bool:
    """'How long until I get my refund?' asks about their refund, not about the policy."""
    return bool(_STATUS.search(text)) and not re.search(
        r"\b(?:in (?:what|which)|under what|policy|guarantee|when can|if (?:i|we))\b", text
    )


@trigger("cancellation")
def cancellation(ctx: TriggerContext, settings: TriggerSettings) -> Fired | None:
    for text in _text(ctx):
        if _CANCEL_POLICY.search(text) and not re.search(
            r"\b(?:i|we) (?:want|need|demand|would like|'d like|wish) to cancel\b", text
        ):
            continue
        clean = _IN_PRODUCT.sub(" ", text)
        found = search(_CANCELLATION, clean)
        if found is None:
            continue
        newsletter = _NEWSLETTER.search(clean) or _NEWSLETTER.search(_SPELLER.correct(clean))
        if newsletter and re.search(r"subscri|baja|desabonn|abmeld", found[1]):
            continue
        return found[0], (found[1],)
    return None
