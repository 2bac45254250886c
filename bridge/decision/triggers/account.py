"""Account triggers: security, legal_privacy and account_action.

Like the money triggers, each fires on a request or a first-person statement of the event and
stays quiet on a general question about how the product or the policy works ("how do you
protect against fraud", "are you GDPR compliant", "how do I export my notes").

- security: the account was hacked or taken over, someone else logged in or used it, a card or
  credentials were stolen, fraud, phishing or impersonation, or a vulnerability report.
- legal_privacy: lawyers, legal action, courts and regulators; a data-protection request under
  GDPR/CCPA/LGPD (access, erasure, "all the data you hold on me"); a data breach, leak or
  privacy violation that concerns the customer.
- account_action: something only the team can do to the account: delete or close it (even when
  asked as "how do I delete my account", since it cannot be undone), change or transfer its
  owner, restore a deleted, locked or suspended account, or hand over a copy of all their data
  (as a request; "how do I export my data" is a how-to the docs answer).
"""

from __future__ import annotations

import re

from bridge.decision.triggers.base import (
    HOW_TO,
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
        *"account accounts profile delete deletion remove removal close closing closure"
        " deactivate hacked hacker stolen fraud fraudulent phishing lawyer attorney lawsuit"
        " gdpr ownership owner export".split(),
    ),
    protected=(
        *"accounting counts closet closer closed closes clothing removed remote lawyers"
        " layer layers hacker hackers hacks deleted deletes frau frauen fraude"
        " frauds owned owners owner's expert exports export's expo stole stolen clone"
        " profit profiles delta deleted delegate".split(),
    ),
)

# "How do you prevent fraud?", "what happens if my account is hacked?": questions about how
# the product or the policy works.
_GENERAL = re.compile(
    r"\b(?:how (?:do|does|can|would) (?:you|your|the app|the product|it) (?:\w+ )?(?:protect"
    r"|prevent|detect|handle|deal with|secure|notify|respond|keep|store|guard)|what happens"
    r" (?:if|when|to)|what (?:do|would|will) you do (?:if|when)|(?:fraud|phishing|breach)"
    r" (?:prevention|protection|detection|policy|polic(?:y|ies)|procedure|notification|response"
    r" plan)|is (?:it|my data|the data|your (?:app|product|service)) (?:safe|secure|encrypted)"
    r"|are you (?:\w+ )?(?:compliant|certified)|compliance|compliant|do you (?:have|offer|sign"
    r"|support|provide)|can (?:my account|i|someone|accounts) (?:get|be) (?:hacked"
    r"|compromised)|in case of|policy|policies)\b"
)

_SECURITY = compile_rules(
    (
        (
            "hacked",
            r"\b(?:hacked|hackers?|hacking into|hack into|got hacked|been hacked"
            r"|compromised|breached|taken over|takeover|account takeover|gehackt|geknackt"
            r"|piratee?s?|hackead[oa]s?|hackearon|hackearam|invadid[oa]|pirate(?:ado|ada)?)\b",
        ),
        (
            "unauthorized_access",
            r"\b(?:someone|somebody|a stranger|an unknown person|some ?one"
            r" else|another person|a hacker|people|they)(?: else)? (?:has |have |had |is |are )?"
            r"(?:logged|logging|signed|signing|got|gotten|getting|broke|broken|is using|using|used"
            r"|accessed|accessing|changed|changing|took|taken|stole|stealing|made|making)\b"
            r"(?: \w+){0,3} (?:my|our) (?:account|email|password|profile|card|data|login|workspace"
            r"|credentials)|\bunauthori[sz]ed (?:access|logins?|log ?ins?|sign[- ]?ins?|activity"
            r"|use"
            r"|users?|transactions?|purchases?|charges?|changes?|payments?)\b|\bsuspicious"
            r" (?:logins?|log ?ins?|sign[- ]?ins?|activity|access|emails?|links?|messages?|texts?"
            r"|calls?|transactions?)\b|\b(?:logins?|log ?ins?|sign[- ]?ins?) (?:from|in) (?:a "
            r"|an )?"
            r"(?:unknown|strange|unfamiliar|another|different|foreign) (?:device|location|country"
            r"|ip|city|place)|\b(?:i|we) (?:didn't|did not|never) (?:make|authori[sz]e|do|approve"
            r"|place|request)(?: \w+){0,2} (?:this|that|these|those|the) (?:logins?|purchases?"
            r"|payments?|transactions?|changes?|orders?|password reset)\b|\b(?:password|email"
            r"|2fa|phone number|email address) (?:was|has been|got) changed (?:without|but (?:i"
            r"|we) (?:didn't|did not))|\bnot me who\b|\b(?:logins?|log ?ins?|sign[- ]?ins?|access"
            r"|activity|purchases?"
            r"|orders?|charges?|payments?)\b.*\b(?:wasn't|was not|weren't|were not|isn't|is not"
            r"|not) (?:me|us|mine|ours)\b",
        ),
        (
            "fraud",
            r"\bfraud(?:ulent|ster|sters)?\b|\bidentity theft\b|\bphishing\b|\bscam"
            r" (?:emails?|calls?|messages?|texts?|sms|links?|sites?|websites?|pages?)\b"
            r"|\bpretending"
            r" to be (?:you|from you|your (?:company|support|team))|\bimpersonat\w+"
            r"|\bfake (?:emails?"
            r"|websites?|sites?|support|accounts?|pages?|invoices?|calls?) (?:from|pretending"
            r"|claiming|using|in your)|\b(?:betrug\w*|betruger\w*|fraude|hameconnage|usurpation"
            r" d'identite|suplantacion de identidad|estafa|estafad[oa]|golpe|golpista"
            r"|fraudulent[oa])"
            r"\b",
        ),
        (
            "stolen",
            r"\b(?:stolen|stole|steal|stealing|skimmed|cloned)\b(?: \w+){0,3}"
            r" (?:card|credit card|debit card|password|identity|account|phone|laptop|device"
            r"|credentials|data|login|money|details)|\b(?:card|credit card|password|identity"
            r"|account"
            r"|phone|laptop|credentials|details) (?:was|were|has been|have been|got|is) (?:stolen"
            r"|cloned|skimmed)\b|\b(?:gestohlen\w*|vole|volee|voles|volees|robad[oa]s?|roubad[oa]s?"
            r"|clonad[oa]s?)\b",
        ),
        (
            "vulnerability",
            r"\b(?:vulnerabilit(?:y|ies)|security (?:hole|flaw|bug|incident|exploit"
            r"|vulnerability)|exploit(?:able)?|xss|sql injection|csrf|leaked (?:passwords?"
            r"|credentials?|tokens?|api keys?|keys?|secrets?))\b|\b(?:sicherheitslucke|faille de"
            r" securite|vulnerabilidad|vulnerabilidade)\b",
        ),
        (
            "access_other",
            r"\b(?:alguien (?:ha )?(?:entrado|accedido|accedio|entro|usado|uso)"
            r" (?:a |en )?mi cuenta|alguem (?:entrou|acessou|usou|invadiu) (?:na |a )?minha conta"
            r"|quelqu'un (?:s'est connecte|a accede|accede|utilise) (?:a )?mon compte|jemand hat"
            r" (?:sich )?(?:in |auf |bei )?mein(?:em|en)? (?:konto|account)"
            r"|acces non autorise|acceso no autorizado|acesso nao autorizado"
            r"|unbefugter zugriff|unbefugte anmeldung|verdachtige anmeldung|connexion suspecte"
            r"|inicio de sesion sospechoso|login suspeito)\b",
        ),
    )
)

_LEGAL = compile_rules(
    (
        (
            "legal_action",
            r"\b(?:(?:my|our|a|an|the) (?:lawyers?|attorneys?|solicitors?|legal"
            r" (?:team|department|counsel|representative))|lawyers?|attorneys?|solicitors?|legal"
            r" (?:action|actions|steps|proceedings|recourse|dispute|claim)|lawsuits?|law"
            r" suits?|(?:sue|suing) (?:you|your|u|ur|them|the company|this company|for)|sued|small"
            r" claims"
            r"|class action|litigation|cease and desist|subpoena|(?:take|taking|see) (?:you|this"
            r"|it|them|your company) to court|in court|court (?:case|order|action))\b",
        ),
        (
            "regulator",
            r"\b(?:report|reporting|complain|complaint|file a complaint|escalate"
            r" this|go) (?:you |this |it )?(?:to|with) (?:the )?(?:ico|cnil|ftc|bbb|better business"
            r" bureau|consumer protection|ombudsman|regulator|data protection (?:authority"
            r"|commissioner|officer)|attorney general|procon|verbraucherzentrale|datenschutzbehorde"
            r"|aepd|anpd|trading standards)\b|\bconsumer protection (?:agency|authority|office"
            r"|bureau)\b",
        ),
        (
            "data_request",
            r"\b(?:(?:data )?subject access request|dsar|access request|right to"
            r" (?:be forgotten|erasure|access|deletion|data portability|rectification|object)"
            r"|(?:all|any|every|what)(?: of)? (?:the )?(?:personal )?(?:data|information|info"
            r"|details) (?:you|your company|you guys) (?:hold|have|store|keep|collect|collected"
            r"|process|processed)(?: \w+)? (?:on|about|from|of) (?:me|us)|(?:article|art) ?(?:15|17"
            r"|20)(?: of the)? (?:gdpr|dsgvo|rgpd)|(?:under|per|according to|pursuant to|in line"
            r" with) (?:the )?(?:gdpr|ccpa|cpra|dsgvo|rgpd|lgpd|data protection act)|(?:gdpr|ccpa"
            r"|cpra|dsgvo|rgpd|lgpd) (?:request|deletion|erasure|access|data request|rights?"
            r"|complaint)|(?:delete|erase|remove|export|send me|give me) (?:all )?(?:of )?my"
            r" personal (?:data|information))\b",
        ),
        (
            "breach",
            r"\b(?:data (?:breach|leak|leaked|breaches|leaks)|(?:breach|leak) of (?:my"
            r" |our )?(?:personal )?(?:data|information)|leaked (?:my|our) (?:data|information"
            r"|email|details|address|personal)|(?:my|our) (?:personal )?(?:data|information"
            r"|details|email|address) (?:was|were|has been|have been|got|is being) (?:leaked"
            r"|exposed|sold|shared|breached|published)|privacy (?:violation|breach)|violat\w*"
            r"(?: of)? (?:my|our) privacy|sold my (?:data|information|details|email))\b",
        ),
        (
            "de",
            r"\b(?:anwalt|anwaltin|anwalte|rechtsanwalt\w*|klage|verklagen|verklage"
            r"|gericht|rechtliche schritte|rechtlichen schritte|juristische schritte|abmahnung"
            r"|verbraucherzentrale|datenleck|datenpanne|datenschutzverletzung|auskunftsersuchen"
            r"|recht auf (?:vergessenwerden|loschung|auskunft)|auskunft (?:nach|gemass|gem)"
            r" (?:art|dsgvo))\b",
        ),
        (
            "fr",
            r"\b(?:avocats?|avocate|poursuites? judiciaires?|poursuivre en justice|action en"
            r" justice|tribunal|porter plainte|deposer (?:une )?plainte|mise en demeure|procedure"
            r" judiciaire|fuite de donnees|violation de donnees|droit (?:a l'oubli|d'acces|a"
            r" l'effacement|de suppression)|demande d'acces|cnil)\b",
        ),
        (
            "es",
            r"\b(?:abogad[oa]s?|demandar\w*|una demanda (?:contra|judicial)|acciones?"
            r" legal(?:es)?|accion judicial|medidas legales|tribunales|juicio|denunciar\w*"
            r"|filtracion"
            r" de datos|brecha de datos|fuga de datos|derecho (?:al olvido|de acceso|de supresion"
            r"|de cancelacion)|ejercer mi derecho)\b",
        ),
        (
            "pt",
            r"\b(?:advogad[oa]s?|vou processar|processar (?:voces|vcs|a empresa|voce)"
            r"|processo judicial|acao judicial|entrar na justica|medidas legais|procon|reclame aqui"
            r"|vazamento de dados|violacao de dados|direito (?:ao esquecimento|de acesso|a"
            r" exclusao)|titular dos dados)\b",
        ),
    )
)

_ACCOUNT_OBJECT = (
    r"(?:accounts?|profiles?|workspaces?|organi[sz]ations?|org|tenant|instance|subdomain"
    r"|helpdesk|membership)"
)
# Words that make it someone else's account the admin manages in the product, a how-to.
_NOT_OWN = (
    r"(?!(?:user|users|agent|agents|member|members|customer|customers|contact|contacts|guest"
    r"|guests|team|child|sub|test|demo|sandbox|duplicate|email|twitter|facebook|slack|social"
    r"|integration|connected|linked|end-user|employee|employees|their|his|her)\b)"
)
_ACCOUNT = compile_rules(
    (
        (
            "close_account",
            rf"\b(?:delete|deleting|deletion of|remove|removing|removal of|close"
            rf"|closing|closure of|deactivate|deactivating|deactivation of|terminate|terminating"
            rf"|termination of|erase|erasing|wipe|wiping|shut down|shutting down|get rid of|nuke"
            rf"|destroy)(?: (?:my|our|the|this|that|a|an|your|entire|whole|old|current))?"
            rf"(?: {_NOT_OWN}[\w']+){{0,2}} {_ACCOUNT_OBJECT}\b"
            r"(?! (?:settings|page|menu|button|password|pin|key|picture|photo|name|field))"
            rf"|\b(?:account|profile|workspace) (?:deletion|removal|closure|closing|deactivation"
            r"|termination)s?\b",
        ),
        (
            "want_deleted",
            r"\b(?:want|need|like|get|have) (?:my|our) (?:account|profile"
            r"|workspace|data) (?:deleted|removed|closed|erased|deactivated|gone)\b",
        ),
        (
            "ownership",
            r"\b(?:change|changing|transfer|transferring|move|moving|switch|hand"
            r" over|handover|reassign|update)(?: (?:the|my|our|this|its))? (?:account|workspace"
            r"|organi[sz]ation|org|subscription|billing|company) (?:owner|ownership|holder|admin"
            r"|administrator)s?\b|\b(?:transfer|change|move|hand over)(?: the)? ownership (?:of"
            r" (?:my|our|the|this) (?:account|workspace|organi[sz]ation|subscription|team|company)"
            r"|to)\b|\bmake (?:\w+ ){1,3}(?:the )?(?:new )?(?:account|workspace) (?:owner|admin)\b"
            r"|\b(?:owner|admin|administrator) (?:left|has left|is gone|no longer works|is no"
            r" longer|passed away|died|quit)\b",
        ),
        (
            "restore",
            r"\b(?:unlock|reactivate|restore|reopen|recover|undelete|unsuspend|unban"
            r"|reinstate) (?:my|our|the) (?:deleted |closed |suspended |disabled |locked |banned"
            r" |deactivated |old )?(?:account|workspace|profile)\b(?! (?:password|pin|key|access"
            r"|pwd|code|login|settings|picture|photo|name|email|details|info))|\b(?:my"
            r"|our) (?:account"
            r"|workspace|profile) (?:was|has been|got|is|is being) (?:suspended|disabled|banned"
            r"|locked|deactivated|closed|deleted|frozen|blocked)\b|\blocked out(?: of)? (?:my|our"
            r"|the) (?:account|workspace)\b|\bmerge (?:my|our|two|both|the) (?:\w+ )?accounts\b",
        ),
        (
            "export_data",
            r"\b(?:export|download|send|give|get|copy|extract|hand over|provide)"
            r"(?: (?:me|us))?(?: (?:all|of|the|entire|whole|complete|full|a copy of|copy of|an?"
            r" export of|every bit of))* (?:my|our) (?:\w+ )?(?:data|information|records)\b"
            r"|\b(?:all|everything|every bit of) (?:the )?(?:data|information) (?:you|you guys)"
            r" (?:have|hold|store|keep)\b",
        ),
        (
            "unwanted_account",
            r"\b(?:i|we) (?:don'?t|do not|dont|no longer|never) ?(?:want"
            r"|need|use|make use of|wnt)(?: \w+){0,3} (?:account|profile|workspace)\b"
            r"(?! (?:settings|page|menu|button|type|plan|features?|for))",
        ),
        # German, French, Spanish, Portuguese
        (
            "de.close_account",
            r"\b(?:konto|account|profil|benutzerkonto|kundenkonto|zugang)\b(?: \w+){0,2}"
            r" (?:loschen|schliessen|deaktivieren|auflosen)\b"
            r"|\b(?:loschen|schliessen|deaktivieren)(?: sie)?(?: bitte)?"
            r" (?:mein|meinen|unser|unseren|das) (?:konto|account|profil|zugang)\b"
            r"|\b(?:loschung|schliessung|auflosung) (?:meines|unseres|des)"
            r" (?:kontos|accounts|profils|zugangs)\b|\bkontoloschung\b",
        ),
        ("de.ownership", r"\b(?:kontoinhaber|inhaber) (?:andern|wechseln|ubertragen)\b"),
        ("de.export_data", r"\bmeine daten (?:exportieren|herunterladen|zusenden)\b"),
        (
            "fr.close_account",
            r"\b(?:supprimer|fermer|cloturer|desactiver|effacer|supprimez|fermez)"
            r" (?:mon|ma|notre|le|la) (?:compte|profil|espace)\b"
            r"|\b(?:suppression|fermeture|cloture) de (?:mon|ma|notre) (?:compte|profil)\b",
        ),
        ("fr.ownership", r"\bchanger (?:le )?proprietaire\b"),
        (
            "fr.export_data",
            r"\b(?:exporter|recevoir|envoyer(?:-moi)?) (?:toutes )?mes donnees\b",
        ),
        (
            "es.close_account",
            r"\b(?:eliminar|borrar|cerrar|desactivar|eliminen|borren|cierren)"
            r" (?:mi|la|nuestra) (?:cuenta|perfil)\b|\beliminacion de (?:mi )?cuenta\b",
        ),
        ("es.ownership", r"\bcambiar (?:el )?(?:propietario|titular)\b"),
        ("es.export_data", r"\b(?:exportar|descargar|enviarme) (?:todos )?mis datos\b"),
        (
            "pt.close_account",
            r"\b(?:excluir|apagar|encerrar|fechar|deletar|desativar|excluam|apaguem)"
            r" (?:a |minha |nossa )?(?:conta|perfil)\b|\bexclusao (?:da|de) (?:minha )?conta\b",
        ),
        ("pt.ownership", r"\bmudar (?:o )?(?:proprietario|titular)\b"),
        ("pt.export_data", r"\b(?:exportar|baixar|enviar) (?:todos )?(?:os )?meus dados\b"),
    )
)
# "If I delete my account, can I get it back?": a question about the consequences.
_ACCOUNT_CONSEQUENCE = re.compile(
    r"\b(?:what happens (?:if|when|to)|if (?:i|we) (?:delete|close|remove)|once (?:i|we)"
    r" (?:delete|close)|after (?:i|we) (?:delete|close)|will (?:my|our) data)\b"
)


def _texts(ctx: TriggerContext) -> tuple[str, str]:
    plain = words(ctx.message.text)
    return plain, _SPELLER.correct(plain)


@trigger("security")
def security(ctx: TriggerContext, settings: TriggerSettings) -> Fired | None:
    for text in _texts(ctx):
        found = search(_SECURITY, text)
        if found and not _GENERAL.search(text):
            return found[0], (found[1],)
    return None


@trigger("legal_privacy")
def legal_privacy(ctx: TriggerContext, settings: TriggerSettings) -> Fired | None:
    for text in _texts(ctx):
        found = search(_LEGAL, text)
        if found is None:
            continue
        # Questions about compliance or how breaches are handled are for the docs or sales,
        # but a threat of legal action always fires.
        if found[0] in ("breach", "data_request") and _GENERAL.search(text):
            continue
        return found[0], (found[1],)
    return None


@trigger("account_action")
def account_action(ctx: TriggerContext, settings: TriggerSettings) -> Fired | None:
    for text in _texts(ctx):
        found = search(_ACCOUNT, text)
        if found is None or _ACCOUNT_CONSEQUENCE.search(text):
            continue
        # Exporting is self-serve, so only a request fires it; closing, restoring and changing
        # the owner fire even when asked as a how-to (see the docstring).
        if found[0].endswith("export_data") and HOW_TO.search(text):
            continue
        return found[0], (found[1],)
    return None
