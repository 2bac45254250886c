"""human_request: the customer asks for a person.

Fires on any request to talk, chat or be put through to a person (human, agent, operator,
representative, someone, a manager, customer service...), on a bare or repeated demand
("agent", "HUMAN HUMAN", "representative please"), on "no more bot", on asking to be called
back, and on the same in German, French, Spanish and Portuguese. Misspelt key words are read
as meant ("humna", "agnet", "reprsentative", "somone"). It never depends on an LLM and errs
towards firing: a person who asks for a person must always get one. It stays quiet when the
person is the customer's own ("talk to my team", "agent seats", "human resources").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bridge.decision.triggers.base import (
    Fired,
    Speller,
    TriggerContext,
    TriggerHit,
    compile_rules,
    config_phrase,
    normalise,
    trigger,
    words,
)
from bridge.policy import TriggerSettings

# The words this trigger looks for, so typos of them can be read as meant.
_SPELLER = Speller(
    vocabulary=(
        *"human humans person people agent agents representative representatives operator"
        " operators someone somebody anyone anybody assistant supervisor manager staff"
        " employee advisor adviser consultant customer service support please with".split(),
        *"talk talking speak speaking chat chatting contact contacting connect transfer"
        " direct".split(),
        *"mensch menschen mitarbeiter mitarbeiterin berater beraterin sprechen reden"
        " jemandem jemanden kundenservice kundendienst".split(),
        *"humain humains personne conseiller conseillere parler parle operateur".split(),
        *"humano persona agente representante asesor asesora operador hablar alguien".split(),
        *"pessoa atendente falar alguem".split(),
    ),
    # Real words one edit away from those above: never "corrected".
    protected=(
        *"task tall tale talc that what chap char chart cheat coat contract contracts"
        " contracting taking walking stalking tanking charting sneak spear speck steak"
        " argent agency manage managed manages stuff stiff wish wit width witch assistance"
        " resistant representation sprachen regen parle perle please pleas humor".split(),
    ),
)

# Up to two words before the person ("a real live person", "a fucking agent"), none of
# which makes the person the customer's own colleague or a machine.
_NOT_THEIRS = (
    r"(?!(?:my|our|other|another|each|fellow|their|his|her|its|ai|virtual|digital|bot|chat"
    r"|automated|smart|google) )"
)
_MODS = rf"(?:{_NOT_THEIRS}[\w']+ ){{0,2}}"
_PERSON_WORD = (
    r"(?:human beings?|humans?|persons?|people|agents?|representatives?|reps?|operators?"
    r"|someone|somebody|anyone|anybody|staff|supervisors?|managers?|employees?|advisors?"
    r"|advisers?|consultants?|customer (?:service|support|care|success)|support (?:agents?"
    r"|person|people|team|staff|reps?)|service (?:agents?|reps?|representatives?)|support"
    r"|sales|billing|your team|the team|tech support|technician)"
)
# Words after the person that make it a product feature, not a person ("agent seats").
_NOT_FEATURE = (
    r"(?! (?:seats?|licen[cs]es?|accounts?|roles?|plans?|views?|permissions?|access|logins?"
    r"|groups?|apps?|resources|collision|status|dashboard|workspace|fields?|mode|articles?"
    r"|page|portal|docs|documentation|widget|tickets?|emails?|macros?|settings)\b)"
    r"(?! (?:on|in|from|at) (?:my|our) )"
)
_PERSON = rf"(?:{_PERSON_WORD}|(?:a|an|some|one|human|real|live|personal)(?: \w+)? assistant)"
_TALK = (
    r"(?:talk|talks|talking|talked|speak|speaking|spoke|chat|chatting|chatted|connect"
    r"|connecting|connected|transfer|transferring|transferred|put|putting|pass|passing|forward"
    r"|forwarding|hand|handing|escalate|escalating|direct|directing|route|routing|send"
    r"|get through|get in touch|be in touch)"
)
_REACH = (
    r"(?:contact|contacting|reach|reaching|get|getting|give|gimme|find|need|want|wanna|request"
    r"|requesting|prefer|demand|require|call|calling|ring|phone|page|summon)"
)
_SOLO = (
    r"(?:human|humans|person|agent|agents|representative|rep|operator|someone|somebody"
    r"|supervisor|manager|customer service|customer support|support|mensch|mitarbeiter"
    r"|humain|conseiller|humano|agente|atendente|persona|pessoa|operador|operateur"
    r"|representante|asesor)"
)
_PLEASE = r"(?:please|pls|plz|now|asap|immediately|bitte|svp|s'il vous plait|por favor|ja|agora)"
# A machine, not followed by what it does ("no bot reply" describes a feature).
_BOT = (
    r"(?:bots?|robots?|machines?|ai|chat ?bots?|automated (?:system|responses?|answers?"
    r"|replies)|automat\w*|ki|roboter|maschine|robo|maquina)\b"
    r"(?! (?:from|reply|replies|answer|answers|message|messages|response|responses)\b)"
)

# A bare or repeated demand, read one sentence at a time: "bot is useless. agent."
_SOLO_DEMAND = re.compile(
    rf"^(?:(?:an?|the|real|live|human|actual|talk to|speak to|get me|i want|i need|give me)?"
    rf" ?{_SOLO}(?: {_PLEASE})* ?)+$"
)

_RULES = compile_rules(
    (
        # English
        (
            "en.talk_to",
            rf"\b{_TALK}(?: me| us| this| it| my (?:ticket|case|issue|request))?"
            rf"(?: through| over| back| across| on| up)? (?:to|with|towards) {_MODS}{_PERSON}"
            rf"\b{_NOT_FEATURE}",
        ),
        (
            "en.want_human",
            rf"\b{_REACH}(?: me| us)?(?: to)? (?:(?:a|an|the|some|your|one of your"
            rf"|real|actual|live|human|proper|competent) )+{_PERSON}\b{_NOT_FEATURE}",
        ),
        (
            "en.contact",
            rf"\b(?:contact|contacting|reach|reaching|reach out to|get hold of)"
            rf" {_MODS}{_PERSON}\b{_NOT_FEATURE}",
        ),
        (
            "en.want_someone",
            rf"\b{_REACH}(?: me| us)? (?:someone|somebody|anyone|anybody)\b"
            r"(?! (?:on|in|from|at) (?:my|our) )(?! else on my)",
        ),
        (
            "en.need_human",
            r"\b(?:need|want|wanna|get|give me|request|prefer|only|just)"
            r" (?:an? |some )?(?:humans?|human beings?)\b(?! (?:resources|readable|error|review"
            r"|verification|touch|input|language))|\bhumans? only\b",
        ),
        (
            "en.help_from",
            r"\b(?:help|assistance|support|answer|reply) from (?:a |an |some )?"
            r"(?:real |actual |live )?(?:humans?|persons?|agents?|people|someone|somebody)\b",
        ),
        (
            "en.real_person",
            r"\b(?:real|actual|live|proper) (?:humans?|persons?|agents?|people"
            r"|human beings?|support)\b",
        ),
        (
            "en.human_agent",
            r"\bhuman (?:agents?|beings?|support|help|please|assistance|rep"
            r"|representative|operator)\b",
        ),
        (
            "en.agent_please",
            rf"\b(?:agent|human|representative|operator|person|someone)"
            rf" {_PLEASE}\b",
        ),
        (
            "en.no_more_bot",
            rf"\b(?:no more|stop|enough(?: with)?|done with|tired of|sick of"
            rf"|don't want|do not want|dont want|no|not another) (?:talking to |chatting with"
            rf" |speaking to |to talk to |to chat with )?(?:the |this |your |a |an |stupid |dumb"
            rf" |useless )*{_BOT}",
        ),
        (
            "en.is_anyone_there",
            r"\b(?:is|are) (?:there )?(?:anyone|anybody|someone|somebody"
            r"|a human|a person|a real person|an agent|any humans?|a live agent)(?: \w+){0,3}"
            r" (?:there|real|i can (?:talk|speak|chat)|i could (?:talk|speak|chat)|who can help)",
        ),
        (
            "en.callback",
            r"\b(?:call|phone|ring) me(?: back)?\b|\bcall ?back\b|\b(?:someone"
            r"|somebody|an agent|a person|a human|a rep|a representative|your team) (?:to |can"
            r" |could |should |will |please |must )?(?:call|phone|ring|contact|reach out to"
            r"|get back to) (?:me|us)\b",
        ),
        (
            "en.escalate",
            r"\b(?:please |pls |can you |could you |i want you to |)escalate"
            r" (?:this|it|me|my (?:ticket|case|issue|request|complaint)|the (?:ticket|case|issue))"
            r"\b|\bescalate (?:to|this to) (?:a |an |the |your )?(?:human|person|manager"
            r"|supervisor|team|someone|tier|agent)",
        ),
        # German
        (
            "de.mensch",
            r"\b(?:mit )?(?:einem |einer |jemandem|jemand)?(?:echten |richtigen"
            r" |menschlichen )?(?:menschen|mitarbeiter(?:in)?|person|berater(?:in)?|jemandem"
            r"|ansprechpartner(?:in)?|kundenservice|kundendienst)\b.*\b(?:sprechen|reden"
            r"|telefonieren|chatten|verbunden|verbinden)\b",
        ),
        (
            "de.verbinden",
            r"\b(?:verbinden sie mich|verbinde mich|stellen sie mich|leiten sie"
            r" mich)\b",
        ),
        (
            "de.will_mensch",
            r"\b(?:ich (?:will|mochte|brauche|hatte gern|hatte gerne|verlange)"
            r"|bitte)(?: \w+){0,2} (?:einen |eine |einem )?(?:echten |richtigen |menschlichen )?"
            r"(?:menschen|mensch|mitarbeiter\w*|berater\w*|ansprechpartner\w*)\b",
        ),
        (
            "de.echt",
            r"\b(?:echten|echter|echte|richtigen|richtiger) (?:menschen|mensch|person"
            r"|mitarbeiter\w*)\b",
        ),
        ("de.mensch_bitte", r"\b(?:mensch|mitarbeiter|kundenservice|berater) bitte\b"),
        ("de.ruckruf", r"\b(?:ruckruf|rufen sie mich (?:bitte )?(?:zuruck|an))\b"),
        ("de.kein_bot", rf"\bkein(?:en|e)? {_BOT}\b"),
        # French
        (
            "fr.parler",
            r"\b(?:parler|discuter|echanger|joindre|contacter|mettre en relation"
            r"|passer|passez[- ]moi)\b(?: (?:a|avec|moi))?(?: \w+)? (?:quelqu ?'?un|quelquun"
            r"|(?:un |une )(?:vrai |vraie )?(?:humain|personne|conseiller|conseillere|agent"
            r"|operateur|operatrice|responsable|employe|technicien)|le service client)\b",
        ),
        (
            "fr.humain",
            r"\b(?:(?:je (?:veux|voudrais|souhaite|demande|exige)|svp|s'il vous plait)"
            r"(?: \w+){0,3} (?:un humain|une vraie personne|un vrai humain|un conseiller|une"
            r" conseillere|un agent|un operateur)|un vrai humain|une vraie personne|une personne"
            r" reelle|un conseiller svp|un humain svp)\b",
        ),
        ("fr.relation", r"\b(?:mis|mise|mettre|mettez[- ]moi) en (?:relation|contact) avec\b"),
        ("fr.rappel", r"\brappelez[- ]moi\b|\b(?:etre|me faire) rappele"),
        (
            "fr.pas_de_robot",
            rf"\b(?:pas (?:de |un |une )?|arretez (?:le |ce )?|stop (?:le |ce )?)"
            rf"{_BOT}\b",
        ),
        # Spanish
        (
            "es.hablar",
            r"\b(?:hablar|hablarle|comunicarme|contactar|chatear|conversar)(?: con"
            r"| a)? (?:\w+ )?(?:alguien|(?:un |una |el |la )?(?:humano|persona|agente|representante"
            r"|asesor|asesora|operador|operadora|ejecutivo|ejecutiva)|atencion al cliente|servicio"
            r" al cliente)\b(?! de pagos)",
        ),
        (
            "es.persona_real",
            r"\b(?:(?:quiero|quisiera|necesito|exijo|pasame|paseme|pasame con"
            r"|comuniqueme con)(?: \w+){0,2} (?:un humano|una persona|un agente|un asesor|una"
            r" asesora|un representante|un operador)|persona real|humano real|un humano por favor"
            r"|agente por favor)\b",
        ),
        ("es.llamen", r"\b(?:que me llamen|llamenme|llamadme)\b"),
        ("es.no_robot", rf"\bno (?:quiero )?(?:hablar con )?(?:un |una |el |la )?{_BOT}\b"),
        # Portuguese
        (
            "pt.falar",
            r"\b(?:falar|conversar|contatar|contactar|chamar)(?: com| a)? (?:\w+ )?"
            r"(?:alguem|(?:um |uma |o |a )?(?:humano|pessoa|atendente|agente|representante"
            r"|operador|consultor))\b",
        ),
        (
            "pt.pessoa_real",
            r"\b(?:(?:quero|queria|preciso|gostaria de)(?: \w+){0,2} (?:um"
            r" humano|uma pessoa|um atendente|uma atendente|um agente|um representante"
            r"|atendimento humano)|pessoa real|atendente humano|atendimento humano|um humano por"
            r" favor)\b",
        ),
        ("pt.liguem", r"\b(?:me liguem|me ligue|liguem para mim|retornem a ligacao)\b"),
        ("pt.nao_robo", rf"\bnao (?:quero )?(?:falar com )?(?:um |o )?{_BOT}\b"),
    )
)


# "can my customers chat with an agent": the product's users talking to the team's agents is
# a how-to about the product, not this customer asking for a person.
_THIRD_PARTY = re.compile(
    r"\b(?:customers?|users?|clients?|visitors?|members?|colleagues?|employees?|agents?|team"
    r"|staff|contacts?|people)(?: (?:can|could|will|would|should|to|be able to|are able to"
    r"|who want to|that want to|directly))* $"
)


# A sentence about setting the product up to hand customers over ("how do I route chats to a
# human agent", "what does 'escalate to agent' do in the workflow editor"), unless the
# customer also asks to talk to someone themselves. Only that sentence is skipped: "How do I
# configure the widget? Put me through to an agent." still fires.
_CONFIGURING = re.compile(
    r"\b(?:how (?:do|can|could|should) (?:i|we)|is there a way|can (?:i|we)|what does|where"
    r" (?:do|can) (?:i|we))\b.*\b(?:route|routing|workflow|widget|macro|trigger|automation"
    r"|rules?|set ?up|configure|settings?|editor|integration|dashboard|(?:let|allow|enable)"
    r" (?:my |our |the )?(?:customers|users|visitors|clients))\b"
)
_ASKS_FOR_ITSELF = re.compile(
    r"\b(?:i|me|we|us)\b(?: \w+){0,3} (?:talk|speak|chat|get|need|want|have|reach|contact"
    r"|call)\b"
)


def human_request(text: str, extra_phrases: Iterable[str] = ()) -> TriggerHit | None:
    """Fires when the customer asks for a person, however they put it."""
    phrase = config_phrase(text, extra_phrases)
    if phrase is not None:
        return TriggerHit("human_request", "human_request.config_phrase", (phrase,))
    fired = _rule(text)
    if fired is None:
        return None
    rule, evidence = fired
    return TriggerHit("human_request", f"human_request.{rule}", evidence)


def _sentences(text: str) -> list[str]:
    """The message's sentences as ``words()`` text, empty ones dropped."""
    parts = re.split(r"[.!?;]+(?:\s|$)|\n", normalise(text))
    return [plain for plain in (words(part) for part in parts) if plain]


def _rule(text: str) -> Fired | None:
    sentences = _sentences(text)
    for sentence in sentences:
        solo = _SPELLER.correct(sentence)
        if _SOLO_DEMAND.match(solo):
            return "solo_demand", (solo,)
    for sentence in sentences:
        if _CONFIGURING.search(sentence) and not _ASKS_FOR_ITSELF.search(sentence):
            continue
        for candidate in (sentence, _SPELLER.correct(sentence)):
            for rule, pattern in _RULES:
                for match in pattern.finditer(candidate):
                    before = candidate[: match.start()]
                    if rule.startswith("en.") and _THIRD_PARTY.search(before):
                        continue
                    return rule, (match.group(0).strip(),)
    return None


@trigger("human_request")
def human_request_trigger(ctx: TriggerContext, settings: TriggerSettings) -> Fired | None:
    return _rule(ctx.message.text)
